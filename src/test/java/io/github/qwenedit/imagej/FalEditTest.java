package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.EditedResults.assertEditedPixels;
import static io.github.qwenedit.fixtures.SecretLeaks.assertKeyNowhere;
import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.scijava.module.Module;

import com.fasterxml.jackson.databind.JsonNode;

import ij.ImagePlus;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.emulator.RecordedRequest;
import io.github.qwenedit.staging.S3TestServer;

/** fal.ai end to end: the queue with its verbatim links, failures on the result fetch, the bucket. */
class FalEditTest {

	private static final String KEY = "fal-test-key:4d8e";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	private final S3TestServer s3 = bed.s3();
	private final FalEmulator fal = bed.serve(new FalEmulator(KEY).processingDelay(Duration.ofMillis(300)));
	private final ImagePlus cells = pattern("cells.tif", 480, 400);

	private Map<String, String> env() {
		return bed.env("FAL_KEY", KEY, "FAL_QUEUE_BASE_URL", fal);
	}

	private Map<String, Object> inputs(String model, String instruction) {
		return EditCommandRunner.inputs(cells, "fal", model, instruction);
	}

	@Test
	void editsThroughTheQueueFollowingItsLinksVerbatim() throws Exception {
		Map<String, Object> in = inputs("fal-ai/qwen-image-2/pro/edit", "remove the scale bar");
		in.put("outputs", 2);
		in.put("size", "1024*1024");
		in.put("promptExtend", false);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			AsyncJobEmulator.Job job = fal.lastJob();
			assertEquals("/fal-ai/qwen-image-2/pro/edit", job.request.path());
			JsonNode body = job.request.json();
			assertEquals(2, body.path("num_images").asInt());
			assertEquals(1024, body.path("image_size").path("width").asInt());
			assertFalse(body.path("enable_prompt_expansion").asBoolean(true));
			assertEquals("png", body.path("output_format").asText());
			assertTrue(body.path("image_urls").get(0).asText().contains("X-Amz-Signature="));
			for (RecordedRequest r : fal.requests()) {
				if (r.path().contains("/requests/")) {
					assertTrue(r.path().startsWith("/fal-ai/qwen-image-2/requests/"), "sub-path kept: " + r.path());
				}
			}
			assertEquals(2, run.results().size());
			for (int i = 0; i < 2; i++) {
				assertEditedPixels(run.results().get(i), job.inputs().get(0).image(), i);
				assertEquals("fal.ai", run.results().get(i).getProp(Provenance.PROVIDER));
				assertEquals("1234567", run.results().get(i).getProp(Provenance.PREFIX + "SeedUsed"));
			}
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertKeyNowhere(run, runner, KEY, s3.secretAccessKey());
		}
	}

	/**
	 * qwen-image-edit-plus answers a 1024×1024 square when no image_size is sent, where the qwen-image-2
	 * endpoints follow the input: "as input" must give the input's shape on both, within each model's sides.
	 */
	@ParameterizedTest
	@CsvSource({ "fal-ai/qwen-image-edit-plus, 614, 512, true", "fal-ai/qwen-image-2/edit, 480, 400, false" })
	void asInputGivesTheInputsShapeOnEveryModel(String model, int width, int height, boolean sizeSent) throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs(model, "remove the scale bar"));
			assertFalse(run.failed(), run.failure());
			JsonNode body = fal.lastJob().request.json();
			assertEquals(sizeSent, body.has("image_size"), body.toString());
			ImagePlus result = run.results().get(0);
			assertEquals(width, result.getWidth());
			assertEquals(height, result.getHeight());
			assertEquals("as input", result.getProp(Provenance.SIZE));
			assertEquals(sizeSent ? width + "*" + height : null, result.getProp(Provenance.PREFIX + "SizeSent"));
		}
	}

	/**
	 * fal's safety checker blanks a flagged output and says so in has_nsfw_concepts: the flagged one is
	 * withheld with a sentence that counts it, the others are shown; all flagged is a content refusal.
	 */
	@Test
	void outputsTheSafetyCheckerFlaggedAreWithheldAndCounted() throws Exception {
		Map<String, Object> in = inputs("fal-ai/qwen-image-edit-plus", "render this as a watercolour");
		in.put("outputs", 3);
		fal.flagOutputs(1);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			AsyncJobEmulator.Job job = fal.lastJob();
			assertEquals(2, run.results().size());
			assertEditedPixels(run.results().get(0), job.inputs().get(0).image(), 0);
			assertEditedPixels(run.results().get(1), job.inputs().get(0).image(), 2);
			assertEquals("1 of 3", run.results().get(0).getProp(Provenance.PREFIX + "OutputsWithheld"));
			assertTrue(runner.log().stream().anyMatch(line -> line.contains("1 of 3 results was withheld: fal.ai's " +
				"safety checker flagged it")), runner.log().toString());

			fal.flagOutputs(0, 1, 2);
			String refused = runner.run(in).failure();
			assertTrue(refused.startsWith("Content rejected: fal.ai's safety checker flagged all 3 results"), refused);
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void aWatermarkIsRefusedBeforeAnyCall() throws Exception {
		Map<String, Object> in = inputs("fal-ai/qwen-image-2/edit", "x");
		in.put("watermark", true);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			String failure = runner.run(in).failure();
			assertTrue(failure.startsWith("Invalid input: ") && failure.contains("watermark"), failure);
			assertEquals(0, fal.requests().size());
		}
	}

	@Test
	void jobsBeyondTheConcurrencyWaitInTheQueueAndStillFinish() throws Exception {
		fal.limitRunning(0);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Future<Module> first = runner.start(inputs("fal-ai/qwen-image-2/edit", "one"));
			Future<Module> second = runner.start(inputs("fal-ai/qwen-image-2/edit", "two"));
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
			while (fal.jobs().size() < 2 && System.nanoTime() < until) {
				Thread.sleep(20);
			}
			assertEquals(2, fal.jobs().size());
			fal.limitRunning(1);
			assertFalse(new EditCommandRunner.Run(first.get(60, TimeUnit.SECONDS)).failed());
			assertFalse(new EditCommandRunner.Run(second.get(60, TimeUnit.SECONDS)).failed());
			assertEquals(1, fal.maxRunningObserved(), "the queue let more jobs run than the account may");
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void failuresShowOnTheResultFetchAndAreExplained() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			fal.jobsEndWith(AsyncJobEmulator.Phase.FAILED, "Unsafe content detected");
			String policy = runner.run(inputs("fal-ai/qwen-image-2/edit", "x")).failure();
			assertTrue(policy.startsWith("Content rejected: ") && policy.contains("Unsafe content detected"), policy);

			fal.failureType("image_too_large");
			String large = runner.run(inputs("fal-ai/qwen-image-2/edit", "x")).failure();
			assertTrue(large.startsWith("Invalid input: ") && large.contains("Unsafe content detected"), large);

			fal.jobsEndWith(AsyncJobEmulator.Phase.SUCCEEDED, null);
			fal.failNextWith(422, "{\"detail\":[{\"loc\":[\"body\",\"prompt\"],\"msg\":\"String too long\",\"type\":\"string_too_long\"}]}",
				Map.of());
			String invalid = runner.run(inputs("fal-ai/qwen-image-2/edit", "x")).failure();
			assertTrue(invalid.contains("prompt: String too long"), invalid);

			fal.failNextWith(503, "{\"detail\":\"No runner available\",\"error_type\":\"runner_scheduling_failure\"}",
				Map.of("X-Fal-Retryable", "true"));
			String busy = runner.run(inputs("fal-ai/qwen-image-2/edit", "x")).failure();
			assertTrue(busy.contains("No runner available") && busy.contains("worth retrying"), busy);
		}
		assertEquals(0, s3.countObjects(s3.prefix()));
	}

	@Test
	void aWrongKeyNamesTheVariable() throws Exception {
		Map<String, String> env = env();
		env.put("FAL_KEY", "fal-wrong:0000");
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			String failure = runner.run(inputs("fal-ai/qwen-image-2/edit", "x")).failure();
			assertTrue(failure.startsWith("Not authorised: ") && failure.contains("FAL_KEY"), failure);
			assertFalse(failure.contains("fal-wrong:0000"));
		}
	}

	@Test
	void cancellingAQueuedJobCancelsItAtFal() throws Exception {
		fal.limitRunning(0);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Future<Module> running = runner.start(inputs("fal-ai/qwen-image-2/edit", "x"));
			// Cancel once the plugin polls: a job the emulator holds may still be on its way back to the plugin.
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
			while (fal.requests().stream().noneMatch(r -> r.path().contains("/status")) && System.nanoTime() < until) {
				Thread.sleep(20);
			}
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failure().contains("confirmed that the job was stopped"), run.failure());
			assertTrue(fal.lastJob().cancelRequested());
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}
}
