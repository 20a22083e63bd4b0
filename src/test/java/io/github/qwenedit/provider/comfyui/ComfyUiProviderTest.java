package io.github.qwenedit.provider.comfyui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.emulator.ComfyUiEmulator;
import io.github.qwenedit.emulator.RecordedRequest;
import io.github.qwenedit.fixtures.ContractInputs;
import io.github.qwenedit.fixtures.ProviderOnEmulator;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.staging.Staging;

/**
 * ComfyUI's protocol, driven on the provider alone against its emulator (docs/providers.md §8): the
 * inputs uploaded to the server, the prompt queued under its id, its history and the queue read until
 * it has run, a cancel as a delete from the queue or an interrupt; and what the provider does with a
 * job of another server and with the auth header's shape.
 */
class ComfyUiProviderTest {

	/** The whole header a proxy in front of the server asks for (COMFYUI_AUTH_HEADER). */
	private static final String AUTH = "Authorization: Bearer lab-contract-2f6a";
	private static final String TOKEN = "lab-contract-2f6a";

	/** The provider the registry makes for {@code comfy}, with one edit of two images staged and queued. */
	private static final class Queued {
		final ProviderOnEmulator on;
		final List<String> inputs;
		final JobState state;

		Queued(ProviderOnEmulator on, List<String> inputs, JobState state) {
			this.on = on;
			this.inputs = inputs;
			this.state = state;
		}

		JobHandle job() {
			return state.handle();
		}

		JobState poll() throws EditException {
			return on.provider().poll(job(), on.http());
		}
	}

	private static Queued queue(ComfyUiEmulator comfy, EditOptions options) throws EditException {
		ProviderOnEmulator on = ProviderOnEmulator.create("comfyui", AUTH, comfy);
		Staging staging = on.provider().uploadStaging().orElseThrow();
		List<String> inputs = new ArrayList<>();
		for (InputImage image : ContractInputs.images()) {
			inputs.add(staging.stage(image, on.http()));
		}
		return new Queued(on, inputs, on.provider().submit(ContractInputs.request(options), inputs, on.http()));
	}

	private static Queued queue(ComfyUiEmulator comfy) throws EditException {
		return queue(comfy, EditOptions.builder("qwen-image-edit-2511").build());
	}

	private static JsonNode node(JsonNode graph, String classType) {
		for (JsonNode n : graph) {
			if (classType.equals(n.path("class_type").asText())) return n;
		}
		throw new AssertionError("no " + classType + " in " + graph);
	}

	/** Waits at most 10 s for {@code condition}, as the emulator's queue runs on a thread of its own. */
	private static void await(BooleanSupplier condition, String what) throws InterruptedException {
		long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
		while (!condition.getAsBoolean()) {
			if (System.nanoTime() > until) throw new AssertionError("timed out waiting until " + what);
			Thread.sleep(10);
		}
	}

	@Test
	void submitUploadsTheInputsAndQueuesTheGraphWithTheAuthHeaderUnderItsOwnId() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH).pause()) {
			Queued queued = queue(comfy, EditOptions.builder("qwen-image-edit-2511").outputs(2).seed(42L)
				.size(new ImageSize(512, 384)).negativePrompt("blurry").build());

			assertEquals(2, comfy.requestCount("/upload/image"));
			for (RecordedRequest upload : comfy.requests("/upload/image")) {
				assertEquals("Bearer " + TOKEN, upload.header("Authorization"));
			}
			assertEquals(Set.copyOf(queued.inputs), comfy.inputFiles());
			RecordedRequest sent = comfy.requests("/prompt").get(0);
			assertEquals("POST", sent.method());
			assertEquals("Bearer " + TOKEN, sent.header("Authorization"));
			assertFalse(sent.mentionsOutside(TOKEN, "Authorization"), "the token went elsewhere than its header");
			ComfyUiEmulator.Prompt prompt = comfy.lastPrompt();
			assertEquals(sent.json().path("prompt_id").asText(), prompt.id, "the server did not take the client's id");
			assertFalse(prompt.clientId.isEmpty(), "no client_id sent");
			JsonNode graph = prompt.graph;
			assertEquals("qwen_image_edit_2511_fp8mixed.safetensors", node(graph, "UNETLoader").path("inputs")
				.path("unet_name").asText());
			List<String> prompts = new ArrayList<>();
			List<String> loaded = new ArrayList<>();
			for (JsonNode n : graph) {
				if ("TextEncodeQwenImageEditPlus".equals(n.path("class_type").asText())) {
					prompts.add(n.path("inputs").path("prompt").asText());
				}
				if ("LoadImage".equals(n.path("class_type").asText())) loaded.add(n.path("inputs").path("image").asText());
			}
			assertTrue(prompts.contains("remove the scale bar") && prompts.contains("blurry"), prompts.toString());
			assertEquals(Set.copyOf(queued.inputs), Set.copyOf(loaded));
			assertEquals(42, node(graph, "KSampler").path("inputs").path("seed").asLong());
			JsonNode latent = node(graph, "EmptySD3LatentImage").path("inputs");
			assertEquals(512, latent.path("width").asInt());
			assertEquals(384, latent.path("height").asInt());
			assertEquals(2, latent.path("batch_size").asInt());

			assertEquals(JobState.Status.QUEUED, queued.state.status());
			assertEquals(prompt.id, queued.job().id());
			assertEquals(comfy.baseUrl() + "/history/" + prompt.id, queued.job().pollUrl().orElseThrow());
		}
	}

	@Test
	void aPromptWaitingInTheQueueIsQueuedWithThoseAheadOfIt() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH).pause()) {
			JobState state = queue(comfy).poll();
			assertEquals(JobState.Status.QUEUED, state.status());
			assertEquals(0, state.queuePosition().orElseThrow());
		}
	}

	@Test
	void aPromptTheServerRunsIsRunning() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH).processingDelay(Duration.ofSeconds(30))) {
			Queued queued = queue(comfy);
			await(() -> comfy.isRunning(queued.job().id()), "the prompt runs");
			assertEquals(JobState.Status.RUNNING, queued.poll().status());
		}
	}

	@Test
	void aPromptThatRanHasItsSavedImagesAsLinksThatDownloadTheServersFiles() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH)) {
			Queued queued = queue(comfy, EditOptions.builder("qwen-image-edit-2511").outputs(2).build());
			await(() -> comfy.inHistory(queued.job().id()), "the prompt has run");
			JobState state = queued.poll();
			assertEquals(JobState.Status.SUCCEEDED, state.status(), String.valueOf(state.error()));
			assertEquals(comfy.baseUrl() + "/", state.facts().get("ComfyUIServer"));
			assertEquals(2, state.outputUrls().size());
			for (String link : state.outputUrls()) {
				assertTrue(link.startsWith(comfy.baseUrl() + "/view?filename="), link);
			}
			JsonNode latent = node(comfy.lastPrompt().graph, "EmptySD3LatentImage").path("inputs");
			queued.on.assertLinksDownloadTheEdit(state.outputUrls(), latent.path("width").asInt(), latent.path("height").asInt());
			// The proxy's header goes with the download from the user's own server, as with every other call.
			for (RecordedRequest view : comfy.requests("/view")) {
				assertEquals("Bearer " + TOKEN, view.header("Authorization"));
			}
		}
	}

	@Test
	void aPromptThatFailedIsFailedWithTheNodeAndComfyUisWords() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH).failNextExecution("CUDA out of memory")) {
			Queued queued = queue(comfy);
			await(() -> comfy.inHistory(queued.job().id()), "the prompt has run");
			JobState state = queued.poll();
			assertEquals(JobState.Status.FAILED, state.status());
			EditException error = state.error().orElseThrow();
			assertEquals(ErrorKind.PROVIDER_FAILURE, error.kind());
			assertEquals("ComfyUI failed in its KSampler node: CUDA out of memory.", error.getMessage());
		}
	}

	@Test
	void aPromptTheServerNoLongerKnowsIsFailed() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH).pause()) {
			Queued queued = queue(comfy);
			comfy.restart();
			JobState state = queued.poll();
			assertEquals(JobState.Status.FAILED, state.status());
			assertTrue(state.error().orElseThrow().getMessage().contains("does not know the edit " + queued.job().id()),
				state.error().orElseThrow().getMessage());
		}
	}

	@Test
	void cancelDeletesAWaitingPromptFromTheQueueAndIsAccepted() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH).pause()) {
			Queued queued = queue(comfy);
			assertTrue(queued.on.provider().cancel(queued.job(), queued.on.http()), "the cancel was not confirmed");
			RecordedRequest delete = comfy.requests("/queue").stream().filter(r -> r.method().equals("POST")).findFirst()
				.orElseThrow();
			assertEquals(queued.job().id(), delete.json().path("delete").path(0).asText());
			assertEquals("Bearer " + TOKEN, delete.header("Authorization"));
			assertFalse(comfy.isPending(queued.job().id()));
			assertEquals(0, comfy.requestCount("/interrupt"), "a waiting prompt was interrupted instead of deleted");
		}
	}

	@Test
	void cancelInterruptsARunningPromptByItsIdAndIsAccepted() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH).processingDelay(Duration.ofSeconds(30))) {
			Queued queued = queue(comfy);
			await(() -> comfy.isRunning(queued.job().id()), "the prompt runs");
			assertTrue(queued.on.provider().cancel(queued.job(), queued.on.http()), "the cancel was not confirmed");
			assertEquals(queued.job().id(), comfy.requests("/interrupt").get(0).json().path("prompt_id").asText());
			await(() -> comfy.inHistory(queued.job().id()), "the interrupted prompt is in the history");
			JobState state = queued.poll();
			assertEquals(JobState.Status.FAILED, state.status());
			assertEquals(ErrorKind.CANCELLED, state.error().orElseThrow().kind());
		}
	}

	@Test
	void aCancelOfAPromptThatHasRunIsNotAcceptedAndStopsNothing() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH)) {
			Queued queued = queue(comfy);
			await(() -> comfy.inHistory(queued.job().id()), "the prompt has run");
			assertFalse(queued.on.provider().cancel(queued.job(), queued.on.http()));
			assertEquals(0, comfy.requestCount("/interrupt"));
			assertTrue(comfy.requests("/queue").stream().noneMatch(r -> r.method().equals("POST")), "a delete was sent");
		}
	}

	@Test
	void aWrongAuthHeaderIsUnauthorisedAndTheMessageNamesTheSettingNotTheToken() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("comfyui", "Authorization: Bearer wrong-token-0c4d", comfy);
			String id = "3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b";
			EditException e = on.pollRefused(new JobHandle(id, comfy.baseUrl() + "/history/" + id, null, null));
			ProviderOnEmulator.assertRefusedWithoutNamingTheKey(e, ComfyUiProvider.AUTH_HEADER_VARIABLE, "wrong-token-0c4d");
		}
	}

	@Test
	void a429OnThePromptIsRateLimitedWithTheWaitItAsksFor() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH)) {
			comfy.failNextWith(429, "{}", Map.of("Retry-After", "5"));
			EditException e = assertThrows(EditException.class, () -> queue(comfy));
			ProviderOnEmulator.assertRateLimitedFor(e, Duration.ofSeconds(5));
			assertEquals(List.of(), comfy.prompts());
		}
	}

	@Test
	void a500OnThePromptIsAProviderFailure() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH)) {
			comfy.failNextWith(500, "{\"error\": \"Internal Server Error\"}", Map.of());
			EditException e = assertThrows(EditException.class, () -> queue(comfy));
			assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
			assertEquals(List.of(), comfy.prompts());
		}
	}

	/** ComfyUI's 400 names the node and what is wrong with it (execution.py, validate_prompt). */
	@Test
	void aGraphTheServerRefusesIsInvalidInputNamingTheNode() throws Exception {
		try (ComfyUiEmulator comfy = new ComfyUiEmulator(AUTH)) {
			comfy.failNextWith(400, "{\"error\": {\"type\": \"prompt_outputs_failed_validation\", \"message\": " +
				"\"Prompt outputs failed validation\"}, \"node_errors\": {\"5\": {\"errors\": [{\"message\": " +
				"\"Value not in list\", \"details\": \"unet_name: 'x.safetensors' not in []\"}], " +
				"\"class_type\": \"UNETLoader\"}}}", Map.of());
			EditException e = assertThrows(EditException.class, () -> queue(comfy));
			assertEquals(ErrorKind.INVALID_INPUT, e.kind());
			assertTrue(e.getMessage().contains("UNETLoader 5: Value not in list"), e.getMessage());
		}
	}

	@Test
	void aJobQueuedOnAnotherServerIsNotAskedOfThisOneAndNamesWhereItIs() throws Exception {
		try (ComfyUiEmulator now = new ComfyUiEmulator(); ComfyUiEmulator before = new ComfyUiEmulator()) {
			ComfyUiProvider provider = new ComfyUiProvider(now.baseUrl(), null);
			JobHandle job = new JobHandle("0b7f5a9e-1c2d-4e3f-8a9b-0c1d2e3f4a5b", before.baseUrl() + "/history/" +
				"0b7f5a9e-1c2d-4e3f-8a9b-0c1d2e3f4a5b", null, null);
			Http http = new Http(RetryPolicy.DEFAULT, new Cancellation(), Deadline.after(Duration.ofSeconds(10)),
				Set.of("127.0.0.1:" + java.net.URI.create(now.baseUrl()).getPort()));
			EditException e = assertThrows(EditException.class, () -> provider.poll(job, http));
			assertEquals(ErrorKind.INVALID_INPUT, e.kind());
			assertTrue(e.getMessage().contains("set COMFYUI_BASE_URL to " + before.baseUrl() + "/"), e.getMessage());
			assertEquals(0, now.requests().size(), "the other server was asked about the job");
		}
	}

	/**
	 * An answer to /history that is not a history (a proxy's JSON page, an array) was taken for "the
	 * server does not hold the prompt": a prompt that had run was reported lost, dropped from the
	 * journal and queued again by the next run. It is a reply that cannot be read, which the poller
	 * asks again and a journal keeps; only ComfyUI's own {} means the prompt is not there.
	 */
	@Test
	void aHistoryAnswerThatIsNoHistoryIsUnreadableNotAPromptLost() throws Exception {
		String id = "5d0c6f1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f";
		java.util.concurrent.atomic.AtomicReference<String> history = new java.util.concurrent.atomic.AtomicReference<>();
		com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
			new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
		server.createContext("/", exchange -> {
			String path = exchange.getRequestURI().getPath();
			byte[] body = (path.startsWith("/history/") ? history.get()
				: "{\"queue_running\": [], \"queue_pending\": []}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
			exchange.getResponseHeaders().add("Content-Type", "application/json");
			exchange.sendResponseHeaders(200, body.length);
			exchange.getResponseBody().write(body);
			exchange.close();
		});
		server.start();
		try {
			String base = "http://127.0.0.1:" + server.getAddress().getPort();
			ComfyUiProvider provider = new ComfyUiProvider(base, null);
			JobHandle job = new JobHandle(id, base + "/history/" + id, null, null);
			Http http = new Http(new RetryPolicy(1, Duration.ZERO, Duration.ZERO), new Cancellation(),
				Deadline.after(Duration.ofSeconds(10)), Set.of("127.0.0.1:" + server.getAddress().getPort()));
			for (String odd : new String[] { "[1, 2, 3]", "{\"error\": \"log in first\"}", "{\"" + id + "\": 7}" }) {
				history.set(odd);
				EditException e = assertThrows(EditException.class, () -> provider.poll(job, http), odd);
				assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind(), odd);
			}
			history.set("{}");
			assertEquals(io.github.qwenedit.core.JobState.Status.FAILED, provider.poll(job, http).status(),
				"ComfyUI's own answer for a prompt it does not hold");
		}
		finally {
			server.stop(0);
		}
	}

	@Test
	void anAuthHeaderWithoutANameIsRefusedWithoutShowingIt() {
		EditException e = assertThrows(EditException.class, () -> new ComfyUiProvider("http://127.0.0.1:8188",
			"Bearer only-a-token-4c1a"));
		assertEquals(ErrorKind.UNAUTHORIZED, e.kind());
		assertTrue(e.getMessage().contains("COMFYUI_AUTH_HEADER") && !e.getMessage().contains("only-a-token-4c1a"),
			e.getMessage());
	}
}
