package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.EditedResults.assertEditedPixels;
import static io.github.qwenedit.fixtures.SecretLeaks.assertKeyNowhere;
import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.scijava.Context;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.module.Module;
import org.scijava.module.ModuleService;
import org.scijava.module.MutableModuleItem;

import com.fasterxml.jackson.databind.JsonNode;

import ij.ImagePlus;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.ComfyUiEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.emulator.RecordedRequest;

/**
 * ComfyUI end to end through the Edit Images command: inputs uploaded to the server, the graph
 * validated as ComfyUI validates it, the queue followed through the history, results fetched from
 * {@code /view}; what the server lacks, refuses or fails with reaches the user as one sentence.
 */
class ComfyUiEditTest {

	private static final String SECRET = "comfy-proxy-token-8f3e1d";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	private final ComfyUiEmulator comfy = bed.serve(new ComfyUiEmulator().processingDelay(Duration.ofMillis(200)));
	private final ImagePlus cells = pattern("cells.tif", 480, 400);

	private Map<String, String> env(ComfyUiEmulator server) {
		Map<String, String> env = new HashMap<>();
		env.put("COMFYUI_BASE_URL", server.baseUrl());
		return env;
	}

	private Map<String, Object> inputs(String model, String instruction) {
		return EditCommandRunner.inputs(cells, "comfyui", model, instruction);
	}

	private static JsonNode node(JsonNode graph, String classType) {
		for (JsonNode n : graph) {
			if (classType.equals(n.path("class_type").asText())) return n;
		}
		return null;
	}

	private BufferedImage uploaded(String name) throws Exception {
		assertNotNull(comfy.uploadedBytes(name), name);
		return ImageIO.read(new ByteArrayInputStream(comfy.uploadedBytes(name)));
	}

	@Test
	void editsOnTheServerWithTheBuiltGraphAndRecordsHowToRepeatIt() throws Exception {
		Map<String, Object> in = inputs("qwen-image-edit-2511", "remove the scale bar");
		in.put("seed", "7");
		in.put("outputs", 2);
		in.put("negativePrompt", "blurry");
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			assertEquals(1, comfy.prompts().size());
			JsonNode graph = comfy.lastPrompt().graph;
			assertEquals("qwen_image_edit_2511_fp8mixed.safetensors", node(graph, "UNETLoader").path("inputs")
				.path("unet_name").asText());
			assertEquals("qwen_image", node(graph, "CLIPLoader").path("inputs").path("type").asText());
			assertEquals("qwen_image_vae.safetensors", node(graph, "VAELoader").path("inputs").path("vae_name").asText());
			JsonNode sampler = node(graph, "KSampler").path("inputs");
			assertEquals(7, sampler.path("seed").asLong());
			assertEquals(20, sampler.path("steps").asInt(), "the server's default steps were not taken");
			JsonNode latent = node(graph, "EmptySD3LatentImage").path("inputs");
			assertEquals(2, latent.path("batch_size").asInt());
			assertEquals(480, latent.path("width").asInt());
			assertEquals(400, latent.path("height").asInt());
			int encoders = 0;
			for (JsonNode n : graph) {
				if ("TextEncodeQwenImageEditPlus".equals(n.path("class_type").asText())) encoders++;
			}
			assertEquals(2, encoders, "the instruction and the negative prompt each need their encoder");
			assertFalse(comfy.lastPrompt().clientId.isEmpty(), "no client_id sent");

			assertEquals(1, comfy.inputFiles().size());
			String name = comfy.inputFiles().iterator().next();
			assertTrue(name.startsWith("qwen-image-edit/"), name);
			assertEquals(name, node(graph, "LoadImage").path("inputs").path("image").asText());

			assertEquals(2, run.results().size());
			for (int i = 0; i < 2; i++) {
				ImagePlus result = run.results().get(i);
				assertEditedPixels(result, uploaded(name), i);
				assertEquals("ComfyUI", result.getProp(Provenance.PROVIDER));
				assertEquals("7", result.getProp(Provenance.SEED));
				assertEquals(comfy.baseUrl() + "/", result.getProp(Provenance.PREFIX + "ComfyUIServer"));
				assertEquals("qwen_image_edit_2511_fp8mixed.safetensors",
					result.getProp(Provenance.PREFIX + "ComfyUIDiffusionModel"));
				assertEquals("qwen_2.5_vl_7b_fp8_scaled.safetensors", result.getProp(Provenance.PREFIX + "ComfyUITextEncoder"));
				assertEquals("qwen_image_vae.safetensors", result.getProp(Provenance.PREFIX + "ComfyUIVae"));
				assertTrue(result.getProp(Provenance.PREFIX + "ComfyUIWorkflowSHA256").matches("[0-9a-f]{64}"));
				assertEquals(comfy.lastPrompt().id, result.getProp(Provenance.REQUEST_ID));
				// The dialog's "extend the prompt" (on by default) and watermark mean nothing to the lab's own
				// graph: a result must not claim either was applied.
				assertNull(result.getProp(Provenance.PROMPT_EXTEND));
				assertNull(result.getProp(Provenance.WATERMARK));
			}
			// Where the input stays is recorded and shown, but as no warning: in Fiji a warning on every
			// edit opened the Console each time, for what the README says happens on every edit.
			assertTrue(run.results().get(0).getProp(Provenance.STAGING_NOTE).contains(name),
				run.results().get(0).getProp(Provenance.STAGING_NOTE));
			assertTrue(runner.statusLines().stream().anyMatch(line -> line.contains("input folder") && line.contains(name)),
				"the user was not told the input stays on the server: " + runner.statusLines());
			assertTrue(runner.warnings().isEmpty(), "warned of what is documented for every edit: " + runner.warnings());
		}
	}

	@Test
	void aSizeIsSentInComfyUisStepsOf16AndTheSizeSentIsRecorded() throws Exception {
		Map<String, Object> in = inputs("qwen-image-edit-2509", "sharpen");
		in.put("size", "1000*750");
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			JsonNode latent = node(comfy.lastPrompt().graph, "EmptySD3LatentImage").path("inputs");
			assertEquals(1008, latent.path("width").asInt());
			assertEquals(752, latent.path("height").asInt());
			assertEquals("1008*752", run.results().get(0).getProp(Provenance.PREFIX + "SizeSent"));
			assertEquals(1008, run.results().get(0).getWidth());
		}
	}

	/**
	 * The cloud models' shortest side (384 px) raised a 50 px image to 384 and stretched a 4000*60
	 * strip eightfold before it reached the lab's server, which takes any size: it gets them as they
	 * are (a strip only shrunk to the 3072 px every input is held to), and "as input" is the small
	 * image's size within the model's sides.
	 */
	@Test
	void smallAndElongatedImagesReachTheServerUnstretched() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run small = runner.run(EditCommandRunner.inputs(pattern("tiny", 50, 50), "comfyui",
				"qwen-image-edit-2511", "sharpen"));
			assertFalse(small.failed(), small.failure());
			BufferedImage sent = uploaded(node(comfy.lastPrompt().graph, "LoadImage").path("inputs").path("image").asText());
			assertEquals(50, sent.getWidth());
			assertEquals(50, sent.getHeight());
			assertEquals("256*256", small.results().get(0).getProp(Provenance.PREFIX + "SizeSent"));

			EditCommandRunner.Run strip = runner.run(EditCommandRunner.inputs(pattern("strip", 4000, 60), "comfyui",
				"qwen-image-edit-2511", "sharpen"));
			assertFalse(strip.failed(), strip.failure());
			BufferedImage stripSent = uploaded(node(comfy.lastPrompt().graph, "LoadImage").path("inputs").path("image")
				.asText());
			assertEquals(3072, stripSent.getWidth());
			assertEquals(46, stripSent.getHeight(), "the strip was stretched");
		}
	}

	@Test
	void aLargeImageAsInputIsMadeWithinTheModelsSidesAtItsAspectRatio() throws Exception {
		// Fitted to the 3072 px every provider takes, a 2800*1400 image would ask the lab's GPU for a
		// latent beyond the 2048 px models.json states for the ComfyUI models.
		ImagePlus wide = pattern("wide", 2800, 1400);
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(wide, "comfyui", "qwen-image-edit-2511",
				"sharpen"));
			assertFalse(run.failed(), run.failure());
			JsonNode latent = node(comfy.lastPrompt().graph, "EmptySD3LatentImage").path("inputs");
			assertEquals(2048, latent.path("width").asInt());
			assertEquals(1024, latent.path("height").asInt());
			assertEquals("2048*1024", run.results().get(0).getProp(Provenance.PREFIX + "SizeSent"));
		}
	}

	@Test
	void aServerThatIsNotRunningIsOneSentenceNamingTheAddress() throws Exception {
		String address = comfy.baseUrl();
		comfy.close();
		Map<String, String> env = new HashMap<>();
		env.put("COMFYUI_BASE_URL", address);
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2509", "x"));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("Cannot reach ComfyUI") && run.failure().contains("refused"), run.failure());
		}
	}

	@Test
	void aPasswordInTheServerAddressIsNeverRecordedOrShown() throws Exception {
		Map<String, String> env = new HashMap<>();
		env.put("COMFYUI_BASE_URL", comfy.baseUrl().replace("http://", "http://lab:pw-in-address-9d2e@"));
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2509", "x"));
			assertFalse(run.failed(), run.failure());
			assertEquals(comfy.baseUrl() + "/", run.results().get(0).getProp(Provenance.PREFIX + "ComfyUIServer"));
			assertKeyNowhere(run, runner, "pw-in-address-9d2e");
			comfy.diffusionModels(List.of());
			EditCommandRunner.Run refused = runner.run(inputs("qwen-image-edit-2509", "x"));
			assertTrue(refused.failed());
			assertTrue(refused.failure().contains("The ComfyUI server at " + comfy.baseUrl() + "/ lacks"), refused.failure());
			assertKeyNowhere(refused, runner, "pw-in-address-9d2e");
		}
	}

	@Test
	void theReadmesComfyUiMacroLineRunsOnTheServer() throws Exception {
		String readme = java.nio.file.Files.readString(java.nio.file.Path.of("README.md"));
		java.util.regex.Matcher line = java.util.regex.Pattern
			.compile("run\\(\"Edit Images\\.\\.\\.\", \"([^\"]*provider=comfyui[^\"]*)\"\\);").matcher(readme);
		assertTrue(line.find(), "no Edit Images line with provider=comfyui in the README");
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(MacroRecording.replay(line.group(1), cells));
			assertFalse(run.failed(), run.failure());
			JsonNode graph = comfy.lastPrompt().graph;
			assertEquals(42, node(graph, "KSampler").path("inputs").path("seed").asLong());
			assertEquals("remove the scale bar", node(graph, "TextEncodeQwenImageEditPlus").path("inputs").path("prompt")
				.asText());
		}
	}

	@Test
	void aSeedLeftRandomIsChosenByThePluginAndRecorded() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2509", "sharpen"));
			assertFalse(run.failed(), run.failure());
			String seed = node(comfy.lastPrompt().graph, "KSampler").path("inputs").path("seed").asText();
			assertEquals(seed, run.results().get(0).getProp(Provenance.SEED));
			assertEquals("qwen_image_edit_2509_fp8_e4m3fn.safetensors", node(comfy.lastPrompt().graph, "UNETLoader")
				.path("inputs").path("unet_name").asText());
		}
	}

	@Test
	void aServerWithoutTheModelFileIsRefusedBeforeAnythingIsUploaded() throws Exception {
		comfy.diffusionModels(List.of("qwen_image_edit_2509_fp8_e4m3fn.safetensors"));
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2511", "remove the scale bar"));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("qwen_image_edit_2511_fp8mixed.safetensors") &&
				run.failure().contains("ComfyUI/models/diffusion_models"), run.failure());
			assertEquals(0, comfy.requestCount("/upload/image"), "uploaded although the server cannot run the edit");
			assertEquals(0, comfy.requestCount("/prompt"));
		}
	}

	/**
	 * A lab keeping two precisions of one model chooses between them: the dialog offers the server's
	 * own files after the catalogue's models, and the one chosen is the one the graph loads.
	 */
	@Test
	void theDialogOffersTheServersModelFilesAndTheFileChosenIsTheOneLoaded() throws Exception {
		String bf16 = "qwen_image_edit_2511_bf16.safetensors";
		comfy.diffusionModels(List.of("qwen_image_edit_2511_fp8mixed.safetensors", bf16, "flux1-dev.safetensors"));
		Map<String, String> env = env(comfy);
		env.put(Configuration.DEFAULT_PROVIDER, "comfyui");
		try (Context context = new Context(CommandService.class, QwenEditService.class)) {
			context.service(QwenEditService.class).useEnvironment(env);
			CommandInfo info = context.service(CommandService.class).getCommand(EditImagesCommand.class);
			Module module = context.service(ModuleService.class).createModule(info);
			module.initialize();
			List<String> offered = ((MutableModuleItem<?>) module.getInfo().getInput("model")).getChoices().stream()
				.map(String::valueOf).collect(Collectors.toList());
			assertEquals(List.of("qwen-image-edit-2511", "qwen-image-edit-2509", "qwen_image_edit_2511_fp8mixed.safetensors",
				bf16), offered, "the server's Qwen-Image-Edit files, and only those, after the catalogue's models");
		}
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(inputs(bf16, "remove the scale bar"));
			assertFalse(run.failed(), run.failure());
			assertEquals(bf16, node(comfy.lastPrompt().graph, "UNETLoader").path("inputs").path("unet_name").asText());
			assertEquals(bf16, run.results().get(0).getProp(Provenance.MODEL));
			assertEquals(bf16, run.results().get(0).getProp(Provenance.PREFIX + "ComfyUIDiffusionModel"));
		}
	}

	@Test
	void aModelFileTheServerLacksIsRefusedNamingTheFilesItHas() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(inputs("qwen_image_edit_2511_bf16.safetensors", "remove the scale bar"));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("qwen_image_edit_2511_bf16.safetensors") &&
				run.failure().contains("qwen_image_edit_2511_fp8mixed.safetensors") &&
				!run.failure().contains("flux1-dev"), run.failure());
			assertEquals(0, comfy.requestCount("/upload/image"), "uploaded although the server cannot run the edit");

			EditCommandRunner.Run other = runner.run(inputs("flux1-dev.safetensors", "remove the scale bar"));
			assertTrue(other.failed());
			assertTrue(other.failure().contains("has no model \"flux1-dev.safetensors\""), other.failure());
			assertEquals(0, comfy.requestCount("/upload/image"));
		}
	}

	/**
	 * A 2xx to the prompt whose answer lacks the prompt id (trimmed on the way) was "queued but sent no
	 * prompt id": the journal dropped the job and the next run queued it again. The prompt was queued
	 * under the plugin's own id, which is followed instead.
	 */
	@Test
	void aPromptTakenWithoutItsIdInTheAnswerIsFollowedByTheIdItWasSentWith() throws Exception {
		comfy.answerPromptsWithoutId();
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2511", "remove the scale bar"));
			assertFalse(run.failed(), run.failure());
			assertEquals(1, comfy.prompts().size());
			assertEquals(comfy.lastPrompt().id, run.results().get(0).getProp(Provenance.REQUEST_ID));
		}
	}

	@Test
	void aServerWithoutTheQwenNodesIsToldToUpdate() throws Exception {
		comfy.withoutNodes("TextEncodeQwenImageEditPlus");
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2509", "x"));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("TextEncodeQwenImageEditPlus") && run.failure().contains("update ComfyUI"),
				run.failure());
			assertEquals(0, comfy.requestCount("/upload/image"));
			assertEquals(0, comfy.requestCount("/prompt"));
		}
	}

	@Test
	void aWorkflowTheServerRefusesIsOneSentenceNamingTheNode() throws Exception {
		comfy.forgetUploads();
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2509", "x"));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("ComfyUI refused the workflow: LoadImage 4: Custom validation failed") &&
				run.failure().contains("Invalid image file"), run.failure());
			assertFalse(run.failure().contains("\n"), run.failure());
			assertEquals(0, comfy.prompts().size());
		}
	}

	@Test
	void aFailureWhileRunningIsOneSentenceNamingTheNode() throws Exception {
		comfy.failNextExecution("Allocation on device");
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2509", "x"));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("ComfyUI failed in its KSampler node: Allocation on device."), run.failure());
		}
	}

	@Test
	void theAuthHeaderGoesWithEveryRequestToTheServerAndIsNeverShown() throws Exception {
		ComfyUiEmulator guarded = bed.serve(new ComfyUiEmulator("Authorization: Bearer " + SECRET)
			.processingDelay(Duration.ofMillis(100)));
		Map<String, String> env = env(guarded);
		env.put("COMFYUI_AUTH_HEADER", "Authorization: Bearer " + SECRET);
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2509", "remove the scale bar"));
			assertFalse(run.failed(), run.failure());
			assertTrue(guarded.requestCount("/view") >= 1, "the result was not fetched from the server");
			// The proxy lets the WebSocket through only with the header too (the emulator refuses it otherwise).
			assertEquals(1, guarded.socketClients().size(), "the WebSocket was not opened with the auth header");
			for (RecordedRequest r : guarded.requests()) {
				assertEquals("Bearer " + SECRET, r.header("Authorization"), r.method() + " " + r.path());
				assertFalse(r.mentionsOutside(SECRET, "Authorization"), r.method() + " " + r.path());
			}
			assertKeyNowhere(run, runner, SECRET);
		}
		env.put("COMFYUI_AUTH_HEADER", "Authorization: Bearer wrong-" + SECRET);
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2509", "remove the scale bar"));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("COMFYUI_AUTH_HEADER"), run.failure());
			assertKeyNowhere(run, runner, SECRET);
		}
	}

	@Test
	void aCancelInterruptsThePromptOnlyWhileItRuns() throws Exception {
		comfy.processingDelay(Duration.ofSeconds(30));
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			Future<Module> running = runner.start(inputs("qwen-image-edit-2509", "x"));
			await(() -> !comfy.prompts().isEmpty() && comfy.isRunning(comfy.lastPrompt().id), "the prompt runs");
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failed());
			assertEquals(1, comfy.requestCount("/interrupt"));
			assertEquals(comfy.lastPrompt().id, comfy.requests("/interrupt").get(0).json().path("prompt_id").asText());
			assertTrue(comfy.awaitIdle(Duration.ofSeconds(10)), "the prompt still runs after the interrupt");
		}
	}

	@Test
	void aCancelDeletesAPromptStillWaitingAndInterruptsNothing() throws Exception {
		comfy.pause();
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			Future<Module> running = runner.start(inputs("qwen-image-edit-2509", "x"));
			await(() -> !comfy.prompts().isEmpty() && comfy.isPending(comfy.lastPrompt().id), "the prompt is queued");
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failed());
			assertEquals(0, comfy.requestCount("/interrupt"), "interrupted whatever the server was running");
			assertFalse(comfy.isPending(comfy.lastPrompt().id), "the prompt was left in the queue");
			comfy.resume();
			assertTrue(comfy.awaitIdle(Duration.ofSeconds(10)));
			assertFalse(comfy.inHistory(comfy.lastPrompt().id), "the cancelled prompt ran all the same");
		}
	}

	/** A queued prompt that starts as its delete arrives is interrupted too, not left to run after "stopped". */
	@Test
	void aCancelInterruptsAPromptThatStartedAsItWasDeleted() throws Exception {
		comfy.processingDelay(Duration.ofSeconds(30)).pause().startsWhatIsDeleted();
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			Future<Module> running = runner.start(inputs("qwen-image-edit-2509", "x"));
			await(() -> !comfy.prompts().isEmpty() && comfy.isPending(comfy.lastPrompt().id), "the prompt is queued");
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failed());
			assertEquals(1, comfy.requestCount("/interrupt"), "the prompt that started was left to run");
			assertTrue(comfy.awaitIdle(Duration.ofSeconds(10)), "the prompt still runs after the cancel");
		}
	}

	@Test
	void aPromptLostInARestartOfTheServerFailsWithASentence() throws Exception {
		comfy.processingDelay(Duration.ofSeconds(30));
		try (EditCommandRunner runner = new EditCommandRunner(env(comfy))) {
			Future<Module> running = runner.start(inputs("qwen-image-edit-2509", "x"));
			await(() -> !comfy.prompts().isEmpty() && comfy.isRunning(comfy.lastPrompt().id), "the prompt runs");
			comfy.restart();
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("does not know the edit " + comfy.lastPrompt().id), run.failure());
		}
	}

	@Test
	void inputsGoToTheServerEvenWhenABucketIsConfigured() throws Exception {
		Map<String, String> env = bed.s3().env();
		env.putAll(env(comfy));
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs("qwen-image-edit-2509", "x"));
			assertFalse(run.failed(), run.failure());
			assertEquals(1, comfy.requestCount("/upload/image"));
			assertEquals(0, bed.s3().countObjects(bed.s3().prefix()));
			Map<String, Object> viaBucket = inputs("qwen-image-edit-2509", "x");
			viaBucket.put("staging", "bucket");
			EditCommandRunner.Run refused = runner.run(viaBucket);
			assertTrue(refused.failed());
			assertTrue(refused.failure().contains("reads input images only from its own upload folder"), refused.failure());
			assertEquals(1, comfy.requestCount("/upload/image"));
		}
	}

	private static void await(BooleanSupplier condition, String what) throws InterruptedException {
		long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
		while (!condition.getAsBoolean()) {
			assertTrue(System.nanoTime() < until, "timed out waiting until " + what);
			Thread.sleep(20);
		}
	}
}
