package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.EditedResults.assertEditedPixels;
import static io.github.qwenedit.fixtures.SecretLeaks.assertKeyNowhere;
import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.scijava.module.Module;

import com.fasterxml.jackson.databind.JsonNode;

import ij.ImagePlus;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.emulator.ReplicateEmulator;
import io.github.qwenedit.fixtures.BatchTestData;
import io.github.qwenedit.staging.S3TestServer;

/** Replicate end to end: a blocking create, polling when it returns early, inline small images when chosen, the bucket. */
class ReplicateEditTest {

	private static final String TOKEN = "r8_test_token_7c1d";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	private final S3TestServer s3 = bed.s3();

	@org.junit.jupiter.api.io.TempDir
	java.nio.file.Path work;
	private final ReplicateEmulator replicate = bed.serve(
		new ReplicateEmulator(TOKEN).processingDelay(Duration.ofMillis(300)));
	private ImagePlus cells = pattern("cells.tif", 480, 400);

	private Map<String, String> env() {
		return bed.env("REPLICATE_API_TOKEN", TOKEN, "REPLICATE_BASE_URL", replicate);
	}

	private Map<String, Object> inputs(String model, String instruction) {
		return EditCommandRunner.inputs(cells, "replicate", model, instruction);
	}

	@Test
	void theCreateReturnsThePredictionsIdAtOnceAndThePredictionIsPolledToItsResult() throws Exception {
		Map<String, Object> in = inputs("qwen-image-edit-plus", "remove the scale bar");
		in.put("seed", "3");
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			AsyncJobEmulator.Job job = replicate.lastJob();
			// A waiting create keeps the id from the journal while it waits (issue 15 F5).
			assertEquals(null, job.request.header("Prefer"), "the create waited for the result");
			JsonNode input = job.request.json().path("input");
			assertTrue(input.path("image").isArray());
			assertEquals("match_input_image", input.path("aspect_ratio").asText());
			assertEquals("png", input.path("output_format").asText());
			assertEquals(3, input.path("seed").asInt());
			assertTrue(replicate.requestCount("/v1/predictions/" + job.id) >= 1, "the prediction was never polled");
			assertEditedPixels(run.results().get(0), job.inputs().get(0).image(), 0);
			assertEquals("Replicate", run.results().get(0).getProp(Provenance.PROVIDER));
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertKeyNowhere(run, runner, TOKEN, s3.secretAccessKey());
		}
	}

	@Test
	void aCreateThatReturnsEarlyIsPolledToTheEnd() throws Exception {
		replicate.longestWait(Duration.ofMillis(50)).processingDelay(Duration.ofMillis(800));
		Map<String, Object> in = inputs("qwen-image-edit", "sharpen");
		in.put("size", "1024*768");
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			AsyncJobEmulator.Job job = replicate.lastJob();
			assertTrue(job.request.json().path("input").path("image").isTextual(), "qwen-image-edit takes one image string");
			assertEquals("4:3", job.request.json().path("input").path("aspect_ratio").asText());
			assertTrue(replicate.requestCount("/v1/predictions/" + job.id) >= 1);
			assertEquals("4:3", run.results().get(0).getProp(Provenance.PREFIX + "AspectRatio"));
			assertEquals(1024, run.results().get(0).getWidth());
		}
	}

	@Test
	void chosenInlineSmallImagesTravelInsideTheRequest() throws Exception {
		Map<String, String> env = new HashMap<>();
		env.put("REPLICATE_API_TOKEN", TOKEN);
		env.put("REPLICATE_BASE_URL", replicate.baseUrl());
		// Noise: a regular pattern compresses to a PNG small enough to travel inline.
		ij.process.ColorProcessor noise = new ij.process.ColorProcessor(480, 400);
		java.util.Random random = new java.util.Random(11);
		for (int i = 0; i < 480 * 400; i++) noise.set(i, random.nextInt(0x1000000));
		cells = new ImagePlus("noise.tif", noise);
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			Map<String, Object> inline = inputs("qwen-image-edit-plus", "x");
			inline.put("staging", "inline");
			String large = runner.run(inline).failure();
			assertTrue(large.contains("too large to send inside a Replicate request") && large.contains("QWEN_EDIT_BUCKET"),
				large);
			assertEquals(0, replicate.requests().size());
			cells = pattern("small.tif", 400, 400);
			new ij.plugin.filter.GaussianBlur().blurGaussian(cells.getProcessor(), 40);
			inline = inputs("qwen-image-edit-plus", "x");
			inline.put("staging", "inline");
			EditCommandRunner.Run run = runner.run(inline);
			assertFalse(run.failed(), run.failure());
			assertTrue(replicate.lastJob().inputs().get(0).fromDataUri());
			assertTrue(replicate.lastJob().request.bodyLength() < 300 * 1024, "more than 256 kB sent inline");
			assertEquals("inline (data URI)", run.results().get(0).getProp(Provenance.STAGING));
		}
	}

	@Test
	void sizesAndOptionsTheModelsLackAreRefusedBeforeAnyCall() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Map<String, Object> in = inputs("qwen-image-edit-plus", "x");
			in.put("size", "1000*700");
			String ratio = runner.run(in).failure();
			assertTrue(ratio.contains("aspect ratio") && ratio.contains("4:3"), ratio);
			in = inputs("qwen-image-edit-plus", "x");
			in.put("negativePrompt", "blur");
			assertTrue(runner.run(in).failure().contains("negative prompt"));
			in = inputs("qwen-image-edit-plus", "x");
			in.put("outputs", 2);
			assertTrue(runner.run(in).failure().contains("exactly 1 image"));
			assertEquals(0, replicate.requests().size());
		}
	}

	@Test
	void problemDetailsBecomeClearSentences() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			replicate.failNextWith(422, "{\"title\":\"Input validation failed\",\"status\":422,\"detail\":\"- input.prompt: too long\"," +
				"\"invalid_fields\":[{\"type\":\"max_length\",\"field\":\"input.prompt\",\"description\":\"String too long\"}]}", Map.of());
			String invalid = runner.run(inputs("qwen-image-edit-plus", "x")).failure();
			assertTrue(invalid.startsWith("Invalid input: ") && invalid.contains("input.prompt: String too long"), invalid);

			replicate.failNextWith(429, "{\"detail\":\"Request was throttled. Expected available in 1 second.\",\"status\":429}",
				Map.of("Retry-After", "1"));
			assertFalse(runner.run(inputs("qwen-image-edit-plus", "x")).failed(), "a throttled create was not retried");

			replicate.jobsEndWith(AsyncJobEmulator.Phase.FAILED, "CUDA out of memory");
			String failed = runner.run(inputs("qwen-image-edit-plus", "x")).failure();
			assertTrue(failed.contains("failed") && failed.contains("CUDA out of memory"), failed);
		}
		assertEquals(0, s3.countObjects(s3.prefix()));
	}

	@Test
	void cancellingDuringPollingCancelsThePrediction() throws Exception {
		replicate.longestWait(Duration.ofMillis(50)).jobsNeverFinish();
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Future<Module> running = runner.start(inputs("qwen-image-edit-plus", "x"));
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
			while ((replicate.jobs().isEmpty() || replicate.requestCount("/v1/predictions/" + replicate.lastJob().id) == 0) &&
				System.nanoTime() < until)
			{
				Thread.sleep(20);
			}
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failure().contains("confirmed that the job was stopped"), run.failure());
			assertTrue(replicate.lastJob().cancelRequested());
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	/**
	 * Point 2: a cancel soon after the create of a long prediction. The create does not wait for the
	 * result, so the prediction's id arrives within the grace a cancelled create is given, and the
	 * prediction is cancelled at Replicate instead of running on, paid and unseen.
	 */
	@Test
	void aCancelWhileTheCreateWaitsStopsThePrediction() throws Exception {
		replicate.processingDelay(Duration.ofSeconds(40));
		Map<String, Object> in = inputs("qwen-image-edit-plus", "remove the scale bar");
		in.put("outputFolder", work.resolve("out").toFile());
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			java.util.concurrent.Future<org.scijava.module.Module> running = runner.start(in);
			long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
			while (replicate.jobs().isEmpty() && System.nanoTime() < until) {
				Thread.sleep(10);
			}
			assertFalse(replicate.jobs().isEmpty(), "the create was not sent");
			Thread.sleep(500);
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, java.util.concurrent.TimeUnit.SECONDS));
			assertTrue(run.failed());
			assertTrue(replicate.lastJob().cancelRequested(), "the prediction was left running: " + run.failure());
			assertEquals(AsyncJobEmulator.Phase.CANCELLED, replicate.lastJob().phase());
			assertTrue(run.failure().contains("Replicate confirmed that the job was stopped"), run.failure());
			assertEquals(0, BatchTestData.journalSize(work.resolve("out")), "a stopped prediction was left in the journal");
			assertEquals(1, replicate.jobs().size());
		}
	}
}
