package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.ComfyUiEmulator;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.EmulatorServer;
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.emulator.PixelDojoEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.emulator.RecordedRequest;
import io.github.qwenedit.emulator.ReplicateEmulator;
import io.github.qwenedit.fixtures.SecretLeaks;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.staging.S3TestServer;

/**
 * Every provider against every fault, through the command with bucket staging: the user gets one
 * clear sentence, nothing hangs past the deadline, the bucket is empty afterwards, the key is never
 * shown, and a paid create is sent again only when the provider refused it (429).
 */
class FaultMatrixTest {

	private static final String KEY = "matrix-secret-key-0f9e8d";
	static final List<String> REPORT = new ArrayList<>();

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	private final S3TestServer s3 = bed.s3();

	/**
	 * One provider as the matrix drives it; {@code keySetting} makes the value of {@code keyVariable}
	 * from the key (ComfyUI's is a whole header).
	 */
	record Provider(String id, String model, String keyVariable, String baseVariable,
		Function<String, EmulatorServer<?>> start, String createPath, boolean async,
		java.util.function.UnaryOperator<String> keySetting) {

		Provider(String id, String model, String keyVariable, String baseVariable,
			Function<String, EmulatorServer<?>> start, String createPath, boolean async)
		{
			this(id, model, keyVariable, baseVariable, start, createPath, async, key -> key);
		}

		@Override
		public String toString() {
			return id;
		}
	}

	/** One fault: how to inject it, and what the user must be told (null: the edit must succeed). */
	record Fault(String name, Consumer<EmulatorServer<?>> inject, String expectedStart, String expectedWords,
		int expectedCreates, boolean asyncOnly) {

		@Override
		public String toString() {
			return name;
		}
	}

	static final List<Provider> PROVIDERS = List.of(
		new Provider("dashscope", "qwen-image-2.0", "DASHSCOPE_API_KEY", "DASHSCOPE_BASE_URL", DashScopeEmulator::new,
			DashScopeEmulator.GENERATION_PATH, false),
		new Provider("eachlabs", "alibaba-qwen-image-2-0-image-edit", "EACHLABS_API_KEY", "EACHLABS_BASE_URL",
			k -> new EachLabsEmulator(k).processingDelay(Duration.ofMillis(100)), "/v1/prediction/", true),
		new Provider("pixeldojo", "qwen-image-2.0", "PIXELDOJO_API_KEY", "PIXELDOJO_BASE_URL",
			k -> new PixelDojoEmulator(k).processingDelay(Duration.ofMillis(100)), PixelDojoEmulator.RUN_PATH, true),
		new Provider("fal", "fal-ai/qwen-image-2/edit", "FAL_KEY", "FAL_QUEUE_BASE_URL",
			k -> new FalEmulator(k).failureType("internal_error").processingDelay(Duration.ofMillis(100)),
			"/fal-ai/qwen-image-2/edit", true),
		new Provider("replicate", "qwen-image-edit-plus", "REPLICATE_API_TOKEN", "REPLICATE_BASE_URL",
			k -> new ReplicateEmulator(k).processingDelay(Duration.ofMillis(100)),
			"/v1/models/qwen/qwen-image-edit-plus/predictions", true),
		// Behind a proxy that wants the key as a header; its "failed job" is ComfyUiEditTest's, its queue no AsyncJobEmulator.
		new Provider("comfyui", "qwen-image-edit-2509", "COMFYUI_AUTH_HEADER", "COMFYUI_BASE_URL",
			k -> new ComfyUiEmulator("X-Matrix-Key: " + k).processingDelay(Duration.ofMillis(100)), "/prompt", false,
			key -> "X-Matrix-Key: " + key));

	static final List<Fault> FAULTS = List.of(
		new Fault("400", e -> e.failNextWith(400, "{\"error\":\"bad request\"}", Map.of()), "Invalid input: ", null, 1, false),
		new Fault("401", e -> e.failNextWith(401, "{\"error\":\"bad key\"}", Map.of()), "Not authorised: ", "_", 1, false),
		new Fault("402 out of credit", e -> e.failNextWith(402, "{\"error\":\"no credit\"}", Map.of()),
			"Insufficient credit: ", null, 1, false),
		new Fault("404", e -> e.failNextWith(404, "{\"error\":\"not found\"}", Map.of()), "Not found: ", null, 1, false),
		new Fault("429 with Retry-After", e -> e.failNextWith(429, "{\"error\":\"slow down\"}", Map.of("Retry-After", "1")),
			null, null, 2, false),
		new Fault("429 without Retry-After", e -> e.failNextWith(429, "{\"error\":\"slow down\"}", Map.of()), null, null, 2,
			false),
		new Fault("500", e -> e.failNextWith(500, "{\"error\":\"boom\"}", Map.of()), "Provider failure: ", "internal problem",
			1, false),
		new Fault("503", e -> e.failNextWith(503, "{\"error\":\"unavailable\"}", Map.of()), "Provider failure: ",
			"internal problem", 1, false),
		new Fault("connection reset", EmulatorServer::dropNext, "Network problem: ", "Cannot reach", 1, false),
		new Fault("never answers", EmulatorServer::hangNext, "Timed out: ", "did not finish within 3 seconds", 1, false),
		new Fault("malformed JSON", e -> e.failNextWith(200, "{\"status\": ", Map.of()), "Provider failure: ",
			"not valid JSON", 1, false),
		new Fault("unknown status", e -> ((AsyncJobEmulator<?>) e).jobsEndWith(AsyncJobEmulator.Phase.UNKNOWN, null),
			"Provider failure: ", "does not know", 1, true),
		new Fault("failed job", e -> ((AsyncJobEmulator<?>) e).jobsEndWith(AsyncJobEmulator.Phase.FAILED, "model crashed"),
			"Provider failure: ", "model crashed", 1, true),
		new Fault("output link 404", EmulatorServer::breakOutputLinks, "Provider failure: ", "could not be downloaded", 1,
			false),
		new Fault("output link expired", e -> e.outputLifetime(Duration.ofNanos(1)), "Provider failure: ",
			"link has expired", 1, false),
		new Fault("output not an image", EmulatorServer::nonImageOutputs, "Provider failure: ", "not an image", 1, false),
		new Fault("output over the download cap", e -> e.oversizedOutputs(2 * 1024 * 1024), "Provider failure: ",
			"download limit", 1, false),
		new Fault("100000x100000 image header", EmulatorServer::bombOutputs, "Provider failure: ", "megapixels", 1, false),
		new Fault("429 with Retry-After: Infinity", e -> e.failNextWith(429, "{\"error\":\"slow down\"}",
			Map.of("Retry-After", "Infinity")), "Rate limited: ", "an hour or more", 1, false),
		new Fault("40 MB answer", e -> e.failNextWith(200, "{\"pad\":\"" + "x".repeat(40 << 20) + "\"}", Map.of()),
			"Provider failure: ", "more than 16 MiB", 1, false),
		new Fault("output shorter than its Content-Length", EmulatorServer::outputsShortOfTheirLength,
			"Network problem: ", "broke off after", 1, false));

	static Stream<Arguments> matrix() {
		List<Arguments> cases = new ArrayList<>();
		for (Provider p : PROVIDERS) {
			for (Fault f : FAULTS) {
				if (!f.asyncOnly() || p.async()) cases.add(Arguments.of(p, f));
			}
		}
		return cases.stream();
	}

	@AfterAll
	static void printReport() {
		System.out.println("Fault matrix: " + REPORT.size() + " cases");
		REPORT.forEach(System.out::println);
	}

	@ParameterizedTest(name = "{0}: {1}")
	@MethodSource("matrix")
	void eachFaultIsOneClearSentenceWithNothingLeftBehind(Provider provider, Fault fault) throws Exception {
		try (EmulatorServer<?> emulator = provider.start().apply(KEY)) {
			fault.inject().accept(emulator);
			Map<String, String> env = bed.env(provider.keyVariable(), provider.keySetting().apply(KEY), provider.baseVariable(),
				emulator);
			env.put("QWEN_EDIT_DEADLINE_SECONDS", String.valueOf(deadlineSeconds(fault)));
			env.put("QWEN_EDIT_DOWNLOAD_CAP_MB", "1");
			try (EditCommandRunner runner = new EditCommandRunner(env)) {
				long start = System.nanoTime();
				EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(TestImages.pattern("cells.tif", 400, 400),
					provider.id(), provider.model(), "remove the scale bar"));
				long seconds = (System.nanoTime() - start) / 1_000_000_000L;
				String failure = run.failure();
				if (fault.expectedStart() == null) {
					assertFalse(run.failed(), failure);
				}
				else {
					assertTrue(failure != null && failure.startsWith(fault.expectedStart()), provider + "/" + fault + ": " + failure);
					String words = "_".equals(fault.expectedWords()) ? provider.keyVariable() : fault.expectedWords();
					if (words != null) assertTrue(failure.contains(words), provider + "/" + fault + ": " + failure);
					assertFalse(failure.contains("Exception") || failure.contains("\tat "), "a stack trace was shown: " + failure);
					assertTrue(failure.length() < 700, "more than a sentence or two: " + failure);
				}
				assertTrue(seconds < 30, "took " + seconds + " s: something waited past the deadline");
				long creates = emulator.requests().stream().filter(r -> isCreate(r, provider)).count();
				assertEquals(fault.expectedCreates(), creates, provider + "/" + fault + ": creates sent");
				assertEquals(0, s3.countObjects(s3.prefix()), "staged objects left in the bucket");
				SecretLeaks.assertKeyNowhere(run, runner, KEY, s3.secretAccessKey());
				synchronized (REPORT) {
					REPORT.add(String.format("%-10s %-28s %s", provider, fault, failure == null ? "edited after waiting" : failure));
				}
			}
		}
	}

	/**
	 * A short deadline where the deadline is what is tested (a server that never answers); elsewhere
	 * room for a 429's wait and a slower poll schedule on a loaded machine, since those edits must
	 * succeed or fail on their own account, not by running out of time.
	 */
	private static int deadlineSeconds(Fault fault) {
		return fault.name().equals("never answers") ? 3 : 10;
	}

	private static boolean isCreate(RecordedRequest r, Provider p) {
		return r.method().equals("POST") && r.path().equals(p.createPath());
	}
}
