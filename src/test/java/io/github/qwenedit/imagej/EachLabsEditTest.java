package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.EditedResults.assertEditedPixels;
import static io.github.qwenedit.fixtures.SecretLeaks.assertKeyNowhere;
import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.scijava.module.Module;

import ij.ImagePlus;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.EachLabsEmulator;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.provider.JobPoller;
import io.github.qwenedit.staging.S3TestServer;

/** eachlabs end to end: the command, the emulator's job machine, and the bucket on s3proxy. */
class EachLabsEditTest {

	private static final String KEY = "el-test-key-51c2e9";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	private final S3TestServer s3 = bed.s3();
	private final EachLabsEmulator eachlabs = bed.serve(
		new EachLabsEmulator(KEY).processingDelay(Duration.ofMillis(300)));
	private final ImagePlus cells = pattern("cells.tif", 480, 400);

	private Map<String, String> env() {
		return bed.env("EACHLABS_API_KEY", KEY, "EACHLABS_BASE_URL", eachlabs);
	}

	private Map<String, Object> inputs(String instruction) {
		return EditCommandRunner.inputs(cells, "eachlabs", "alibaba-qwen-image-2-0-image-edit", instruction);
	}

	@Test
	void editsThroughTheBucketAndRecordsCost() throws Exception {
		Map<String, Object> in = inputs("remove the scale bar");
		in.put("outputs", 2);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			AsyncJobEmulator.Job p = eachlabs.lastJob();
			assertEquals(AsyncJobEmulator.Phase.SUCCEEDED, p.phase());
			JsonNode input = p.request.json().path("input");
			assertEquals("remove the scale bar", input.path("prompt").asText());
			assertEquals(2, input.path("n").asInt());
			assertTrue(input.path("image_urls").get(0).asText().contains("X-Amz-Signature="));
			List<ImagePlus> results = run.results();
			assertEquals(2, results.size());
			for (int i = 0; i < 2; i++) {
				assertEditedPixels(results.get(i), p.inputs().get(0).image(), i);
				assertEquals("eachlabs", results.get(i).getProp(Provenance.PROVIDER));
				assertEquals(p.id, results.get(i).getProp(Provenance.REQUEST_ID));
				assertEquals("0.07", results.get(i).getProp(Provenance.PREFIX + "CostUsd"));
				assertEquals("0.070", results.get(i).getProp(Provenance.ESTIMATED_COST_USD));
			}
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertKeyNowhere(run, runner, KEY, s3.secretAccessKey());
			assertFalse(p.request.mentionsOutside(KEY, "X-API-Key"));
		}
	}

	@Test
	void withoutABucketItUsesEachLabsOwnUpload() throws Exception {
		Map<String, String> env = new HashMap<>();
		env.put("EACHLABS_API_KEY", KEY);
		env.put("EACHLABS_BASE_URL", eachlabs.baseUrl());
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs("remove the scale bar"));
			assertFalse(run.failed(), run.failure());
			assertEquals(1, eachlabs.uploadCount());
			assertTrue(eachlabs.lastJob().request.json().path("input").path("image_urls").get(0).asText().contains("/cdn/"));
			ImagePlus result = run.results().get(0);
			assertEquals("provider upload", result.getProp(Provenance.STAGING));
			// No delete call exists, so the shortest retention is asked for and the user is told.
			assertEquals(List.of(3600L), eachlabs.askedRetentions());
			String note = result.getProp(Provenance.STAGING_NOTE);
			assertTrue(note.contains("no delete call") && note.contains("60 minutes"), note);
			assertFalse(note.contains("/cdn/") || note.contains("http"), "the notice shows the link: " + note);
			assertTrue(runner.log().stream().anyMatch(line -> line.contains("no delete call")), "not in the log");
			assertKeyNowhere(run, runner, KEY);
		}
	}

	/** Every spelling of a failed job in eachlabs' documentation, with the text in each place it can be. */
	@ParameterizedTest
	@CsvSource({ "error,logs", "failed,message", "failed,details", "error,message" })
	void everySpellingOfAFailedJobShowsItsExplanation(String word, String field) throws Exception {
		eachlabs.failureWord(word).failureExplainedIn(field).jobsEndWith(AsyncJobEmulator.Phase.FAILED,
			"Content flagged by the safety checker");
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertEquals("Provider failure: eachlabs reports that the edit failed (status \"" + word + "\"). eachlabs " +
				"said: Content flagged by the safety checker", run.failure());
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertKeyNowhere(run, runner, KEY);
		}
	}

	@Test
	void aJobCancelledElsewhereEndsTheEditAsCancelled() throws Exception {
		eachlabs.jobsEndWith(AsyncJobEmulator.Phase.CANCELLED, "Cancelled from the dashboard");
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			String failure = runner.run(inputs("x")).failure();
			assertTrue(failure.startsWith("Cancelled: eachlabs reports that the job was cancelled") &&
				failure.contains("Cancelled from the dashboard"), failure);
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void aSingleOutputLinkInsteadOfAnArrayIsAccepted() throws Exception {
		eachlabs.singleLinkOutput();
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertFalse(run.failed(), run.failure());
			assertTrue(eachlabs.lastJob().request.json().path("input").path("image_urls").isArray());
			assertEditedPixels(run.results().get(0), eachlabs.lastJob().inputs().get(0).image(), 0);
		}
	}

	/** The bucket's link expired before eachlabs fetched it (docs/providers.md §7, the commonest pain). */
	@Test
	void anInputLinkThatExpiredBeforeEachLabsFetchedItFailsClearly() throws Exception {
		eachlabs.fetchInputsAfter(Duration.ofMillis(2500));
		Map<String, String> env = env();
		env.put("QWEN_EDIT_URL_TTL_SECONDS", "1");
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertTrue(run.failure().startsWith("Provider failure: eachlabs reports that the edit failed") &&
				run.failure().contains("Failed to download input image: HTTP 403"), run.failure());
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertKeyNowhere(run, runner, KEY, s3.secretAccessKey());
		}
	}

	@Test
	void aRateLimitThatOutlastsTheRetriesNamesEachLabsLimits() throws Exception {
		for (int i = 0; i < 4; i++) {
			eachlabs.failNextWith(429, "{\"error\": \"Too many concurrent predictions\"}", Map.of("Retry-After", "0"));
		}
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			String failure = runner.run(inputs("x")).failure();
			assertTrue(failure.startsWith("Rate limited: ") && failure.contains("Too many concurrent predictions") &&
				failure.contains("100 new predictions a minute and 10 running at once"), failure);
			assertTrue(eachlabs.jobs().isEmpty());
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	/** Status requests refused for a while only slow the polling down; the job is not given up. */
	@Test
	void aRateLimitedStatusRequestIsAskedAgainLater() throws Exception {
		eachlabs.processingDelay(Duration.ofSeconds(2));
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Future<Module> running = runner.start(inputs("x"));
			assertTrue(eachlabs.awaitLastJobIn(AsyncJobEmulator.Phase.PROCESSING));
			for (int i = 0; i < 4; i++) {
				eachlabs.failNextWith(429, "{\"error\": \"Rate limit exceeded\"}", Map.of("Retry-After", "0"));
			}
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(60, TimeUnit.SECONDS));
			assertFalse(run.failed(), run.failure());
			assertEquals(1, eachlabs.jobs().size());
		}
	}

	/** Without a folder to journal it in, a job whose status cannot be read would be lost unseen: it is cancelled. */
	@Test
	void aStatusThatCannotBeReadCancelsTheJob() throws Exception {
		eachlabs.jobsNeverFinish();
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Future<Module> running = runner.start(inputs("x"));
			assertTrue(eachlabs.awaitLastJobIn(AsyncJobEmulator.Phase.PROCESSING));
			for (int i = 0; i < JobPoller.UNREADABLE_IN_A_ROW * RetryPolicy.DEFAULT.maxAttempts(); i++) {
				eachlabs.failNextWith(500, "{\"error\": \"Internal server error\"}", Map.of());
			}
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(60, TimeUnit.SECONDS));
			assertTrue(run.failure().startsWith("Provider failure: eachlabs had an internal problem (HTTP 500)") &&
				run.failure().endsWith("asked eachlabs to stop it: eachlabs confirmed."), run.failure());
			assertTrue(eachlabs.lastJob().cancelRequested());
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	/**
	 * With a folder, the journal keeps the job: a status that cannot be read says nothing about it, so
	 * the paid job is left running for Recover Unfinished Edits to fetch, not stopped.
	 */
	@Test
	void aStatusThatCannotBeReadLeavesAJournalledJobRunning(@org.junit.jupiter.api.io.TempDir java.nio.file.Path folder)
		throws Exception
	{
		eachlabs.jobsNeverFinish();
		Map<String, Object> in = inputs("x");
		in.put("outputFolder", folder.toFile());
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Future<Module> running = runner.start(in);
			assertTrue(eachlabs.awaitLastJobIn(AsyncJobEmulator.Phase.PROCESSING));
			for (int i = 0; i < JobPoller.UNREADABLE_IN_A_ROW * RetryPolicy.DEFAULT.maxAttempts(); i++) {
				eachlabs.failNextWith(500, "{\"error\": \"Internal server error\"}", Map.of());
			}
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(60, TimeUnit.SECONDS));
			assertTrue(run.failure().startsWith("Provider failure: eachlabs had an internal problem (HTTP 500)") &&
				run.failure().contains("The job was left running at eachlabs"), run.failure());
			assertFalse(eachlabs.lastJob().cancelRequested());
			java.util.List<io.github.qwenedit.engine.BatchJournal.Entry> kept =
				new io.github.qwenedit.engine.BatchJournal(folder).entries();
			assertEquals(1, kept.size());
			assertEquals(eachlabs.lastJob().id, kept.get(0).job.id());
		}
	}

	/** Starts an edit, cancels it once its status was asked at least once, and returns the outcome. */
	private EditCommandRunner.Run cancelAfterTheFirstStatus(EditCommandRunner runner) throws Exception {
		Future<Module> running = runner.start(inputs("remove the scale bar"));
		assertTrue(eachlabs.awaitLastJobIn(AsyncJobEmulator.Phase.PROCESSING));
		assertTrue(eachlabs.awaitRequestTo("/v1/prediction/" + eachlabs.lastJob().id));
		assertEquals(1, runner.editService().cancelAll());
		return new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
	}

	@Test
	void cancelGoesToTheLinkTheStatusAnswerGave() throws Exception {
		eachlabs.jobsNeverFinish().jobLinksAt(eachlabs.baseUrl() + AsyncJobEmulator.MOVED);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Future<Module> running = runner.start(inputs("remove the scale bar"));
			assertTrue(eachlabs.awaitLastJobIn(AsyncJobEmulator.Phase.PROCESSING));
			String id = eachlabs.lastJob().id;
			// A second status look shows the first answer, which gave the cancel link, was taken in:
			// cancelling before that would test nothing of where the cancel goes.
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
			while (eachlabs.requestCount("/v1/prediction/" + id) < 2) {
				assertTrue(System.nanoTime() < until, "the job's status was not asked twice");
				Thread.sleep(20);
			}
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failure().contains("confirmed that the job was stopped"), run.failure());
			assertEquals(1, eachlabs.requestCount(AsyncJobEmulator.MOVED + "/v1/prediction/" + id + "/cancel"));
			assertEquals(0, eachlabs.requestCount("/v1/prediction/" + id + "/cancel"));
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void aCancelLinkOnAnotherHostIsNotGivenTheKey() throws Exception {
		String elsewhere = eachlabs.baseUrl().replace("127.0.0.1", "localhost");
		eachlabs.jobsNeverFinish().jobLinksAt(elsewhere + AsyncJobEmulator.MOVED);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = cancelAfterTheFirstStatus(runner);
			assertTrue(run.failure().contains("confirmed that the job was stopped"), run.failure());
			assertEquals(1, eachlabs.requestCount("/v1/prediction/" + eachlabs.lastJob().id + "/cancel"));
			assertEquals(0, eachlabs.requestsNamingHost("localhost"), "the key went to a host the user did not configure");
		}
	}

	@Test
	void everyFailureIsOneClearSentenceAndTheBucketIsEmptied() throws Exception {
		Map<String, String> cases = new java.util.LinkedHashMap<>();
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			eachlabs.failNextWith(400, "{\"error\": \"Invalid input for model\"}", Map.of());
			cases.put("400", runner.run(inputs("x")).failure());
			eachlabs.failNextWith(404, "{\"error\": \"Prediction not found\"}", Map.of());
			cases.put("404", runner.run(inputs("x")).failure());
			eachlabs.failNextWith(500, "{\"error\": \"Failed to create prediction\"}", Map.of());
			cases.put("500", runner.run(inputs("x")).failure());
			eachlabs.jobsEndWith(AsyncJobEmulator.Phase.FAILED, "NSFW content detected");
			cases.put("job error", runner.run(inputs("x")).failure());
			eachlabs.jobsEndWith(AsyncJobEmulator.Phase.UNKNOWN, "");
			cases.put("unknown status", runner.run(inputs("x")).failure());
			eachlabs.jobsEndWith(AsyncJobEmulator.Phase.SUCCEEDED, null);
			eachlabs.outputLifetime(Duration.ofNanos(1));
			cases.put("expired link", runner.run(inputs("x")).failure());
			eachlabs.outputLifetime(Duration.ofHours(1));
			eachlabs.breakOutputLinks();
			cases.put("broken link", runner.run(inputs("x")).failure());
			for (String text : runner.log()) {
				assertFalse(text.contains(KEY), text);
			}
		}
		assertTrue(cases.get("400").startsWith("Invalid input: ") && cases.get("400").contains("Invalid input for model"),
			cases.get("400"));
		assertTrue(cases.get("404").startsWith("Not found: "), cases.get("404"));
		assertTrue(cases.get("500").contains("internal problem"), cases.get("500"));
		assertTrue(cases.get("job error").contains("failed") && cases.get("job error").contains("NSFW"),
			cases.get("job error"));
		assertTrue(cases.get("unknown status").contains("exploded"), cases.get("unknown status"));
		assertTrue(cases.get("broken link").contains("could not be downloaded"), cases.get("broken link"));
		assertTrue(cases.get("expired link").contains("HTTP 403, the link has expired"), cases.get("expired link"));
		assertEquals(0, s3.countObjects(s3.prefix()));
		for (String failure : cases.values()) {
			assertFalse(failure.contains(KEY), failure);
		}
	}

	@Test
	void aWrongKeyIsRefusedWithTheVariableToCheck() throws Exception {
		Map<String, String> env = env();
		env.put("EACHLABS_API_KEY", "el-wrong-key-00");
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertTrue(run.failure().contains("EACHLABS_API_KEY"), run.failure());
			assertFalse(run.failure().contains("el-wrong-key-00"));
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void rateLimitedCreatesAreRetriedAfterTheAskedWait() throws Exception {
		eachlabs.failNextWith(429, "{\"error\": \"Rate limit exceeded\"}", Map.of("Retry-After", "1"));
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertFalse(run.failed(), run.failure());
			assertEquals(1, eachlabs.jobs().size(), "a create was repeated after it had been accepted");
		}
	}

	@Test
	void malformedAnswersAreExplained() throws Exception {
		eachlabs.failNextWith(200, "{not json", Map.of());
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			String failure = runner.run(inputs("x")).failure();
			assertTrue(failure.contains("not valid JSON"), failure);
		}
	}

	@Test
	void cancellingDuringPollingCancelsTheRemoteJob() throws Exception {
		eachlabs.jobsNeverFinish();
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = cancelAfterTheFirstStatus(runner);
			assertTrue(run.failure().contains("cancelled"), run.failure());
			assertTrue(run.failure().contains("confirmed that the job was stopped"), run.failure());
			assertTrue(eachlabs.lastJob().cancelRequested());
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void aJobThatNeverFinishesStopsAtTheDeadlineAndIsCancelled() throws Exception {
		eachlabs.jobsNeverFinish();
		Map<String, String> env = env();
		env.put("QWEN_EDIT_DEADLINE_SECONDS", "2");
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs("x"));
			assertTrue(run.failure().startsWith("Timed out: "), run.failure());
			assertTrue(eachlabs.lastJob().cancelRequested());
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}
}
