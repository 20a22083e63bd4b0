package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.EditedResults.assertEditedPixels;
import static io.github.qwenedit.fixtures.SecretLeaks.assertKeyNowhere;
import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.LinkedHashMap;
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
import io.github.qwenedit.emulator.PixelDojoEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.staging.S3TestServer;

/** PixelDojo end to end: the command, the emulator's job machine and credits, the bucket on s3proxy. */
class PixelDojoEditTest {

	private static final String KEY = "pd_test_key_93be01";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	private final S3TestServer s3 = bed.s3();
	private final PixelDojoEmulator pixeldojo = bed.serve(
		new PixelDojoEmulator(KEY).processingDelay(Duration.ofMillis(300)).credits(10));
	private final ImagePlus cells = pattern("cells.tif", 480, 400);

	private Map<String, String> env() {
		return bed.env("PIXELDOJO_API_KEY", KEY, "PIXELDOJO_BASE_URL", pixeldojo);
	}

	private Map<String, Object> inputs(String instruction) {
		return EditCommandRunner.inputs(cells, "pixeldojo", "qwen-image-2.0-pro", instruction);
	}

	@Test
	void editsThroughTheBucketSendingOnlyDocumentedFields() throws Exception {
		Map<String, Object> in = inputs("remove the scale bar");
		in.put("outputs", 2);
		in.put("seed", "7");
		in.put("size", "1024*768");
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			AsyncJobEmulator.Job job = pixeldojo.lastJob();
			JsonNode body = job.request.json();
			assertEquals("qwen-image-2.0-pro", body.path("model").asText());
			assertEquals(7, body.path("seed").asInt());
			assertEquals("1024*768", body.path("size").asText());
			assertTrue(body.path("image").get(0).asText().contains("X-Amz-Signature="));
			assertEquals(2, run.results().size());
			for (int i = 0; i < 2; i++) {
				ImagePlus result = run.results().get(i);
				assertEquals(1024, result.getWidth());
				assertEditedPixels(result, job.inputs().get(0).image(), i);
				assertEquals("PixelDojo", result.getProp(Provenance.PROVIDER));
				assertEquals("2", result.getProp(Provenance.PREFIX + "CreditsUsed"));
				assertEquals("8", result.getProp(Provenance.PREFIX + "CreditsRemaining"));
			}
			assertEquals(8, pixeldojo.credits());
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertKeyNowhere(run, runner, KEY, s3.secretAccessKey());
			assertFalse(job.request.mentionsOutside(KEY, "Authorization"));
		}
	}

	@Test
	void everyFailureIsOneClearSentenceAndTheBucketIsEmptied() throws Exception {
		Map<String, String> cases = new LinkedHashMap<>();
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			pixeldojo.credits(0);
			cases.put("402", runner.run(inputs("x")).failure());
			pixeldojo.outOfCreditStatus(403);
			cases.put("403", runner.run(inputs("x")).failure());
			pixeldojo.credits(10);
			pixeldojo.failNextWith(422, "{\"error\":{\"code\":\"validation_error\",\"message\":\"prompt: too long\"}}", Map.of());
			cases.put("422", runner.run(inputs("x")).failure());
			pixeldojo.failNextWith(503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"down\"}}", Map.of());
			cases.put("503", runner.run(inputs("x")).failure());
			pixeldojo.jobsEndWith(AsyncJobEmulator.Phase.FAILED, "model crashed");
			cases.put("failed job", runner.run(inputs("x")).failure());
			pixeldojo.jobsEndWith(AsyncJobEmulator.Phase.UNKNOWN, null);
			cases.put("unknown status", runner.run(inputs("x")).failure());
			pixeldojo.jobsEndWith(AsyncJobEmulator.Phase.SUCCEEDED, null);
			pixeldojo.nonImageOutputs();
			cases.put("not an image", runner.run(inputs("x")).failure());
			for (String line : runner.log()) {
				assertFalse(line.contains(KEY), line);
			}
		}
		assertTrue(cases.get("402").startsWith("Insufficient credit: ") && cases.get("402").contains("credits"), cases.get("402"));
		assertTrue(cases.get("403").startsWith("Insufficient credit: "), cases.get("403"));
		assertTrue(cases.get("422").startsWith("Invalid input: ") && cases.get("422").contains("prompt: too long"),
			cases.get("422"));
		assertTrue(cases.get("503").contains("internal problem"), cases.get("503"));
		assertTrue(cases.get("failed job").contains("failed") && cases.get("failed job").contains("model crashed"),
			cases.get("failed job"));
		assertTrue(cases.get("unknown status").contains("weird"), cases.get("unknown status"));
		assertTrue(cases.get("not an image").contains("not an image"), cases.get("not an image"));
		assertEquals(0, s3.countObjects(s3.prefix()));
	}

	/** Only pending and completed are documented; every usual failure word ends the edit with its reason. */
	@ParameterizedTest
	@CsvSource({ "failed,FAILED,Provider failure: PixelDojo reports that the edit failed (status \"failed\")",
		"error,FAILED,Provider failure: PixelDojo reports that the edit failed (status \"error\")",
		"expired,FAILED,Provider failure: PixelDojo reports that the job expired before it finished",
		"failed,CANCELLED,Cancelled: PixelDojo reports that the job was cancelled (status \"cancelled\")" })
	void everyFailureWordEndsTheEditWithItsReason(String word, AsyncJobEmulator.Phase phase, String expected)
		throws Exception
	{
		pixeldojo.failureWord(word).jobsEndWith(phase, "worker lost");
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertTrue(run.failure().startsWith(expected) && run.failure().endsWith("PixelDojo said: worker lost"),
				run.failure());
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertKeyNowhere(run, runner, KEY, s3.secretAccessKey());
		}
	}

	@Test
	void theStatusLinkIsFollowedAsGiven() throws Exception {
		pixeldojo.jobLinksAt(pixeldojo.baseUrl() + AsyncJobEmulator.MOVED);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertFalse(run.failed(), run.failure());
			String id = pixeldojo.lastJob().id;
			assertTrue(pixeldojo.requestCount(AsyncJobEmulator.MOVED + "/api/v1/jobs/" + id) > 0);
			assertEquals(0, pixeldojo.requestCount("/api/v1/jobs/" + id));
		}
	}

	@Test
	void aStatusLinkOnAnotherHostIsNotGivenTheKey() throws Exception {
		pixeldojo.jobLinksAt(pixeldojo.baseUrl().replace("127.0.0.1", "localhost") + AsyncJobEmulator.MOVED);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertFalse(run.failed(), run.failure());
			assertTrue(pixeldojo.requestCount("/api/v1/jobs/" + pixeldojo.lastJob().id) > 0);
			assertEquals(0, pixeldojo.requestsNamingHost("localhost"), "the key went to a host the user did not configure");
		}
	}

	/** The emulator's rate limit counts status requests too: polling waits as asked and the edit succeeds. */
	@Test
	void theRateLimitOnlySlowsThePollingDown() throws Exception {
		pixeldojo.rateLimit(1, Duration.ofSeconds(2)).processingDelay(Duration.ofMillis(1500));
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertFalse(run.failed(), run.failure());
			assertTrue(pixeldojo.rateLimitedCount() > 0, "the limit was never reached");
			assertEquals(1, pixeldojo.jobs().size());
			assertEquals(1, pixeldojo.requestCount(PixelDojoEmulator.RUN_PATH));
		}
	}

	@Test
	void aWrongKeyNamesTheVariable() throws Exception {
		Map<String, String> env = env();
		env.put("PIXELDOJO_API_KEY", "pd_wrong_0000");
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			String failure = runner.run(inputs("x")).failure();
			assertTrue(failure.startsWith("Not authorised: ") && failure.contains("PIXELDOJO_API_KEY"), failure);
			assertFalse(failure.contains("pd_wrong_0000"));
		}
	}

	@Test
	void aRateLimitIsWaitedOutAsAsked() throws Exception {
		pixeldojo.failNextWith(429, "{\"error\":{\"code\":\"rate_limited\",\"message\":\"slow down\"}}",
			Map.of("Retry-After", "1"));
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertFalse(run.failed(), run.failure());
			assertEquals(1, pixeldojo.jobs().size());
		}
	}

	@Test
	void cancellingSaysTheJobMayStillBeCharged() throws Exception {
		pixeldojo.jobsNeverFinish();
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Future<Module> running = runner.start(inputs("remove the scale bar"));
			assertTrue(pixeldojo.awaitLastJobIn(AsyncJobEmulator.Phase.PROCESSING));
			assertTrue(pixeldojo.awaitRequestTo("/api/v1/jobs/" + pixeldojo.lastJob().id));
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failure().contains("cancelled") && run.failure().contains("may still charge"), run.failure());
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}
}
