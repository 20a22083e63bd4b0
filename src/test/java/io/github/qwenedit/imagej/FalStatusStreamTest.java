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
import org.junit.jupiter.params.provider.EnumSource;
import org.scijava.module.Module;

import ij.ImagePlus;
import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.staging.S3TestServer;

/**
 * fal.ai's status stream end to end: completion is seen through one streamed call instead of many
 * polls, and polling takes over when the stream is refused or cut.
 */
class FalStatusStreamTest {

	private static final String KEY = "fal-stream-key:77a1";
	private static final String MODEL = "fal-ai/qwen-image-2/edit";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	private final S3TestServer s3 = bed.s3();
	private final FalEmulator fal = bed.serve(new FalEmulator(KEY).processingDelay(Duration.ofMillis(1500)));
	private final ImagePlus cells = pattern("cells.tif", 320, 256);

	private Map<String, String> env() {
		return bed.env("FAL_KEY", KEY, "FAL_QUEUE_BASE_URL", fal);
	}

	private static String requestPath(AsyncJobEmulator.Job job) {
		return "/fal-ai/qwen-image-2/requests/" + job.id;
	}

	/** Calls of the queue: neither the downloads nor the read of the endpoint's schema, once per session. */
	private long apiCalls() {
		return fal.requests().stream().filter(r -> !r.path().startsWith("/outputs/"))
			.filter(r -> !fal.schemaReads().contains(r)).count();
	}

	@Test
	void seesCompletionThroughOneStatusStreamInsteadOfPolling() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(cells, "fal", MODEL, "remove the scale bar"));
			assertFalse(run.failed(), run.failure());
			AsyncJobEmulator.Job job = fal.lastJob();
			assertEditedPixels(run.results().get(0), job.inputs().get(0).image(), 0);
			assertEquals(1, fal.requestCount(requestPath(job) + "/status/stream"));
			assertEquals(0, fal.requestCount(requestPath(job) + "/status"), "polled although the stream worked");
			assertEquals(1, fal.requestCount(requestPath(job)));
			assertEquals(3, apiCalls(), "submit, one status stream, the result: " + fal.requests());
			assertEquals("Key " + KEY, fal.requests(requestPath(job) + "/status/stream").get(0).header("Authorization"));
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertKeyNowhere(run, runner, KEY, s3.secretAccessKey());
		}
	}

	/** A refused stream is not tried again; a cut one is not reopened either: polling takes over. */
	@ParameterizedTest
	@EnumSource(value = FalEmulator.StatusStream.class, names = { "REFUSED", "CUT" })
	void pollsWhenTheStreamIsRefusedOrCutBeforeCompletion(FalEmulator.StatusStream failing) throws Exception {
		fal.statusStream(failing);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(cells, "fal", MODEL, "remove the scale bar"));
			assertFalse(run.failed(), run.failure());
			AsyncJobEmulator.Job job = fal.lastJob();
			assertEditedPixels(run.results().get(0), job.inputs().get(0).image(), 0);
			assertEquals(1, fal.requestCount(requestPath(job) + "/status/stream"), "the failed stream was tried again");
			assertTrue(fal.requestCount(requestPath(job) + "/status") >= 2, "did not poll");
		}
	}

	@Test
	void cancellingDuringTheStreamAbortsItAndCancelsTheJob() throws Exception {
		fal.limitRunning(0);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Future<Module> running = runner.start(EditCommandRunner.inputs(cells, "fal", MODEL, "x"));
			assertTrue(fal.awaitLastJobIn(AsyncJobEmulator.Phase.QUEUED));
			assertTrue(fal.awaitRequestTo(requestPath(fal.lastJob()) + "/status/stream"));
			long start = System.nanoTime();
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the stream held the cancel back");
			assertTrue(run.failure().contains("confirmed that the job was stopped"), run.failure());
			assertTrue(fal.lastJob().cancelRequested());
			assertEquals(0, fal.requestCount(requestPath(fal.lastJob()) + "/status"));
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void aStreamThatNeverCompletesEndsAtTheDeadline() throws Exception {
		fal.jobsNeverFinish();
		Map<String, String> env = env();
		env.put("QWEN_EDIT_DEADLINE_SECONDS", "2");
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			long start = System.nanoTime();
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(cells, "fal", MODEL, "x"));
			assertTrue(run.failure().startsWith("Timed out: "), run.failure());
			assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15), "the stream outlived the deadline");
			assertEquals(1, fal.requestCount(requestPath(fal.lastJob()) + "/status/stream"));
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void movedLinksOnTheConfiguredHostAreFollowed() throws Exception {
		fal.jobLinksAt(fal.baseUrl() + AsyncJobEmulator.MOVED);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(cells, "fal", MODEL, "x"));
			assertFalse(run.failed(), run.failure());
			String path = requestPath(fal.lastJob());
			assertEquals(1, fal.requestCount(AsyncJobEmulator.MOVED + path + "/status/stream"));
			assertEquals(1, fal.requestCount(AsyncJobEmulator.MOVED + path));
			assertEquals(0, fal.requestCount(path + "/status/stream"));
		}
	}

	@Test
	void linksToAnotherHostAreNotGivenTheKey() throws Exception {
		fal.jobLinksAt(fal.baseUrl().replace("127.0.0.1", "localhost") + AsyncJobEmulator.MOVED);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(cells, "fal", MODEL, "x"));
			assertFalse(run.failed(), run.failure());
			assertEquals(1, fal.requestCount(requestPath(fal.lastJob()) + "/status/stream"));
			assertEquals(0, fal.requestsNamingHost("localhost"), "the key went to a host the user did not configure");
		}
	}
}
