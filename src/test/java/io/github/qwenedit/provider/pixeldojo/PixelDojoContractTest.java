package io.github.qwenedit.provider.pixeldojo;

import static io.github.qwenedit.fixtures.ContractInputs.LINKS;
import static io.github.qwenedit.fixtures.ContractInputs.plainRequest;
import static io.github.qwenedit.fixtures.ContractInputs.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.emulator.AsyncJobEmulator.Job;
import io.github.qwenedit.emulator.AsyncJobEmulator.Phase;
import io.github.qwenedit.emulator.PixelDojoEmulator;
import io.github.qwenedit.emulator.RecordedRequest;
import io.github.qwenedit.fixtures.ProviderOnEmulator;

/**
 * PixelDojo's job protocol, driven on the provider alone against its emulator (docs/providers.md §3):
 * a run answered 202 with a job id and a status link, the key as a bearer token, the job read until
 * {@code completed}; there is no cancel call.
 */
class PixelDojoContractTest {

	private static final String KEY = "pd-contract-3a9d";
	private static final String MODEL = "qwen-image-2.0";
	private static final Duration QUICK_JOB = Duration.ofMillis(50);

	/** Submits a plain edit and polls it once {@code emulator}'s job is in {@code phase}. */
	private static JobState pollIn(PixelDojoEmulator pixeldojo, Phase phase) throws Exception {
		return ProviderOnEmulator.create("pixeldojo", KEY, pixeldojo).submitAndPollIn(pixeldojo, phase,
			plainRequest(MODEL), LINKS);
	}

	@Test
	void submitSendsInstructionImagesModelAndOptionsWithTheKeyAsBearerAndAnswersAHandle() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).limitRunning(0)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("pixeldojo", KEY, pixeldojo);
			EditRequest request = request(EditOptions.builder("qwen-image-2.0-pro").outputs(2).seed(42L)
				.size(new ImageSize(1024, 768)).negativePrompt("blurry").build());

			JobState state = on.provider().submit(request, LINKS, on.http());

			Job job = pixeldojo.lastJob();
			RecordedRequest sent = job.request;
			assertEquals("POST", sent.method());
			assertEquals(PixelDojoEmulator.RUN_PATH, sent.path());
			assertEquals("Bearer " + KEY, sent.header("Authorization"));
			assertFalse(sent.mentionsOutside(KEY, "Authorization"), "the key went elsewhere than its header");
			JsonNode body = sent.json();
			assertEquals("remove the scale bar", body.path("prompt").asText());
			assertEquals(LINKS, List.of(body.path("image").path(0).asText(), body.path("image").path(1).asText()));
			assertEquals(2, body.path("image").size());
			assertEquals("qwen-image-2.0-pro", body.path("model").asText());
			assertEquals(2, body.path("n").asInt());
			assertEquals("1024*768", body.path("size").asText());
			assertEquals(42, body.path("seed").asLong());
			assertEquals("blurry", body.path("negative_prompt").asText());

			assertEquals(JobState.Status.QUEUED, state.status());
			JobHandle handle = state.handle();
			assertEquals(job.id, handle.id());
			assertEquals(pixeldojo.baseUrl() + "/api/v1/jobs/" + job.id, handle.pollUrl().orElseThrow());
			assertTrue(handle.cancelUrl().isEmpty(), "PixelDojo documents no cancel");
			// Credits left are only in the submit answer: the handle keeps them for the result's provenance.
			assertEquals(Map.of("CreditsUsed", "2", "CreditsRemaining", "98"), handle.submitFacts());
		}
	}

	@Test
	void pendingIsQueued() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).limitRunning(0)) {
			assertEquals(JobState.Status.QUEUED, pollIn(pixeldojo, Phase.QUEUED).status());
		}
	}

	@Test
	void processingIsRunning() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).jobsNeverFinish()) {
			assertEquals(JobState.Status.RUNNING, pollIn(pixeldojo, Phase.PROCESSING).status());
		}
	}

	@Test
	void completedHasTheOutputLinksAndTheCredits() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).processingDelay(QUICK_JOB)) {
			JobState state = pollIn(pixeldojo, Phase.SUCCEEDED);
			assertEquals(JobState.Status.SUCCEEDED, state.status(), String.valueOf(state.error()));
			assertEquals(pixeldojo.lastJob().outputLinks(), state.outputUrls());
			assertEquals("1", state.facts().get("CreditsUsed"));
			assertEquals("99", state.facts().get("CreditsRemaining"));
		}
	}

	/** Only {@code pending} and {@code completed} are documented; the failure words are inferred (docs/providers.md §3.3). */
	@ParameterizedTest
	@ValueSource(strings = { "failed", "error", "expired" })
	void aFailedJobIsFailedWithPixelDojosWords(String word) throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).failureWord(word)
			.jobsEndWith(Phase.FAILED, "the model timed out"))
		{
			JobState state = pollIn(pixeldojo, Phase.FAILED);
			assertEquals(JobState.Status.FAILED, state.status());
			EditException error = state.error().orElseThrow();
			assertEquals(ErrorKind.PROVIDER_FAILURE, error.kind());
			assertTrue(error.getMessage().contains("\"" + word + "\"") && error.getMessage().contains("the model timed out"),
				error.getMessage());
		}
	}

	@Test
	void aJobCancelledElsewhereIsFailedAsCancelled() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).jobsEndWith(Phase.CANCELLED, "stopped")) {
			JobState state = pollIn(pixeldojo, Phase.CANCELLED);
			assertEquals(JobState.Status.FAILED, state.status());
			assertEquals(ErrorKind.CANCELLED, state.error().orElseThrow().kind());
		}
	}

	@Test
	void anUnknownStatusIsAnUnreadableAnswerNotAFailedJob() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).jobsEndWith(Phase.UNKNOWN, null)) {
			EditException e = assertThrows(EditException.class, () -> pollIn(pixeldojo, Phase.UNKNOWN));
			assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
			assertTrue(e.getMessage().contains("weird"), e.getMessage());
		}
	}

	/** No cancel call is documented: the provider says so, and sends nothing. */
	@Test
	void cancelIsNeverAcceptedAndSendsNothing() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).jobsNeverFinish()) {
			ProviderOnEmulator on = ProviderOnEmulator.create("pixeldojo", KEY, pixeldojo);
			JobHandle job = on.provider().submit(plainRequest(MODEL), LINKS, on.http()).handle();
			int before = pixeldojo.requests().size();
			assertFalse(on.provider().cancel(job, on.http()));
			assertEquals(before, pixeldojo.requests().size());
			assertFalse(pixeldojo.lastJob().cancelRequested());
		}
	}

	@Test
	void theResultLinksDownloadTheEmulatorsImages() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).processingDelay(QUICK_JOB)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("pixeldojo", KEY, pixeldojo);
			JobState state = on.submitAndPollIn(pixeldojo, Phase.SUCCEEDED,
				request(EditOptions.builder(MODEL).outputs(2).build()), LINKS);
			assertEquals(2, state.outputUrls().size());
			on.assertLinksDownloadTheEdit(state.outputUrls(), 0, 0);
		}
	}

	@Test
	void aWrongKeyIsUnauthorisedAndTheMessageNamesTheSettingNotTheKey() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("pixeldojo", "pd-wrong-62bb", pixeldojo);
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			ProviderOnEmulator.assertRefusedWithoutNamingTheKey(e, PixelDojoProvider.KEY_VARIABLE, "pd-wrong-62bb");
		}
	}

	@Test
	void a429IsRateLimitedWithTheWaitItAsksFor() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("pixeldojo", KEY, pixeldojo);
			pixeldojo.failNextWith(429, "{\"error\": {\"code\": \"rate_limit_exceeded\", \"message\": \"Rate limit " +
				"exceeded\", \"status\": 429}}", Map.of("Retry-After", "4"));
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			ProviderOnEmulator.assertRateLimitedFor(e, Duration.ofSeconds(4));
		}
	}

	/** Sources disagree on 402 or 403 for it; the code {@code insufficient_credits} decides (docs/providers.md §3.3). */
	@ParameterizedTest
	@ValueSource(ints = { 402, 403 })
	void tooFewCreditsIsInsufficientCredit(int status) throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).credits(0).outOfCreditStatus(status)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("pixeldojo", KEY, pixeldojo);
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			assertEquals(ErrorKind.INSUFFICIENT_CREDIT, e.kind());
			assertTrue(e.getMessage().contains("Insufficient credits"), e.getMessage());
		}
	}

	@Test
	void a500OnSubmitOrPollIsAProviderFailure() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).jobsNeverFinish()) {
			ProviderOnEmulator on = ProviderOnEmulator.create("pixeldojo", KEY, pixeldojo);
			pixeldojo.failNextWith(500, "{\"error\": {\"code\": \"internal\", \"message\": \"Upstream failed\"}}", Map.of());
			EditException refused = on.submitRefused(plainRequest(MODEL), LINKS);
			assertEquals(ErrorKind.PROVIDER_FAILURE, refused.kind());
			assertTrue(refused.getMessage().contains("Upstream failed"), refused.getMessage());

			JobHandle job = on.provider().submit(plainRequest(MODEL), LINKS, on.http()).handle();
			pixeldojo.failNextWith(503, "Service Unavailable", Map.of());
			assertEquals(ErrorKind.PROVIDER_FAILURE, on.pollRefused(job).kind());
		}
	}
}
