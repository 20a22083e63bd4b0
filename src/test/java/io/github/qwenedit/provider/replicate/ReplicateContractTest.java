package io.github.qwenedit.provider.replicate;

import static io.github.qwenedit.fixtures.ContractInputs.LINKS;
import static io.github.qwenedit.fixtures.ContractInputs.plainRequest;
import static io.github.qwenedit.fixtures.ContractInputs.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

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
import io.github.qwenedit.emulator.RecordedRequest;
import io.github.qwenedit.emulator.ReplicateEmulator;
import io.github.qwenedit.fixtures.ProviderOnEmulator;

/**
 * Replicate's predictions protocol, driven on the provider alone against its emulator
 * (docs/providers.md §5): an asynchronous create with the token as a bearer, the prediction read at
 * {@code urls.get} until final, a cancel at {@code urls.cancel}.
 */
class ReplicateContractTest {

	private static final String TOKEN = "r8_contract_9d4f";
	private static final String MODEL = "qwen-image-edit-plus";
	private static final Duration QUICK_JOB = Duration.ofMillis(50);

	/** Submits a plain edit and polls it once {@code emulator}'s job is in {@code phase}. */
	private static JobState pollIn(ReplicateEmulator replicate, Phase phase) throws Exception {
		return ProviderOnEmulator.create("replicate", TOKEN, replicate).submitAndPollIn(replicate, phase,
			plainRequest(MODEL), LINKS);
	}

	@Test
	void submitSendsInstructionImagesAndOptionsWithTheTokenAsBearerAndAnswersAHandleAtOnce() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).limitRunning(0)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("replicate", TOKEN, replicate);
			EditRequest request = request(EditOptions.builder(MODEL).seed(42L).size(new ImageSize(1024, 768)).build());

			JobState state = on.provider().submit(request, LINKS, on.http());

			Job job = replicate.lastJob();
			RecordedRequest sent = job.request;
			assertEquals("POST", sent.method());
			assertEquals("/v1/models/qwen/" + MODEL + "/predictions", sent.path());
			assertEquals("Bearer " + TOKEN, sent.header("Authorization"));
			assertFalse(sent.mentionsOutside(TOKEN, "Authorization"), "the token went elsewhere than its header");
			// Without "Prefer: wait" the create answers at once, and the prediction's id reaches the journal (issue 15).
			assertNull(sent.header("Prefer"));
			JsonNode input = sent.json().path("input");
			assertEquals("remove the scale bar", input.path("prompt").asText());
			assertEquals(LINKS, List.of(input.path("image").path(0).asText(), input.path("image").path(1).asText()));
			assertEquals(2, input.path("image").size());
			// A size travels as the aspect ratio it matches; these models take no output count (docs/providers.md §5.2).
			assertEquals("4:3", input.path("aspect_ratio").asText());
			assertEquals(42, input.path("seed").asLong());
			assertEquals("png", input.path("output_format").asText());
			Set<String> fields = new TreeSet<>();
			input.fieldNames().forEachRemaining(fields::add);
			assertEquals(Set.of("prompt", "image", "aspect_ratio", "seed", "output_format"), fields);

			assertEquals(JobState.Status.QUEUED, state.status());
			JobHandle handle = state.handle();
			assertEquals(job.id, handle.id());
			assertEquals(replicate.baseUrl() + "/v1/predictions/" + job.id, handle.pollUrl().orElseThrow());
			assertEquals(replicate.baseUrl() + "/v1/predictions/" + job.id + "/cancel", handle.cancelUrl().orElseThrow());
		}
	}

	@Test
	void qwenImageEditTakesItsOneImageAsAStringAndMatchesTheInputWithoutASize() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).limitRunning(0)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("replicate", TOKEN, replicate);
			on.provider().submit(request(EditOptions.builder("qwen-image-edit").build()), LINKS.subList(0, 1), on.http());
			JsonNode input = replicate.lastJob().request.json().path("input");
			assertEquals(LINKS.get(0), input.path("image").asText());
			assertEquals("match_input_image", input.path("aspect_ratio").asText());
			assertFalse(input.has("seed"));
		}
	}

	@Test
	void startingIsQueued() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).limitRunning(0)) {
			assertEquals(JobState.Status.QUEUED, pollIn(replicate, Phase.QUEUED).status());
		}
	}

	@Test
	void processingIsRunning() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).jobsNeverFinish()) {
			assertEquals(JobState.Status.RUNNING, pollIn(replicate, Phase.PROCESSING).status());
		}
	}

	@Test
	void succeededHasTheOutputLinksAndTheAspectRatio() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).processingDelay(QUICK_JOB)) {
			JobState state = pollIn(replicate, Phase.SUCCEEDED);
			assertEquals(JobState.Status.SUCCEEDED, state.status(), String.valueOf(state.error()));
			assertEquals(replicate.lastJob().outputLinks(), state.outputUrls());
			assertEquals("match_input_image", state.facts().get("AspectRatio"));
			assertEquals("0.05", state.facts().get("PredictTimeSeconds"));
		}
	}

	@Test
	void aFailedPredictionIsFailedWithReplicatesWords() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).jobsEndWith(Phase.FAILED, "CUDA out of memory")) {
			JobState state = pollIn(replicate, Phase.FAILED);
			assertEquals(JobState.Status.FAILED, state.status());
			EditException error = state.error().orElseThrow();
			assertEquals(ErrorKind.PROVIDER_FAILURE, error.kind());
			assertTrue(error.getMessage().contains("failed") && error.getMessage().contains("CUDA out of memory"),
				error.getMessage());
		}
	}

	/** A prediction cancelled elsewhere is a cancelled job with no result, as at eachlabs and PixelDojo. */
	@Test
	void aPredictionCancelledElsewhereIsACancelledJob() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).jobsEndWith(Phase.CANCELLED, null)) {
			JobState state = pollIn(replicate, Phase.CANCELLED);
			assertEquals(JobState.Status.FAILED, state.status());
			EditException error = state.error().orElseThrow();
			assertEquals(ErrorKind.CANCELLED, error.kind());
			assertEquals("Replicate reports that the job was cancelled (status \"canceled\"), so there is no result.",
				error.getMessage());
		}
	}

	/** {@code aborted}: a prediction whose deadline passed before it started (docs/providers.md §5.1). */
	@Test
	void anAbortedPredictionIsFailed() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).limitRunning(0)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("replicate", TOKEN, replicate);
			JobHandle job = on.provider().submit(plainRequest(MODEL), LINKS, on.http()).handle();
			// The emulator's jobs never abort; the answer is Replicate's prediction with that status.
			replicate.failNextWith(200, "{\"id\": \"" + job.id() + "\", \"status\": \"aborted\", \"output\": null, " +
				"\"error\": null}", Map.of());
			JobState state = on.provider().poll(job, on.http());
			assertEquals(JobState.Status.FAILED, state.status());
			assertEquals(ErrorKind.PROVIDER_FAILURE, state.error().orElseThrow().kind());
			assertEquals("Replicate reports that the job expired before it finished (status \"aborted\"). Run the edit " +
				"again.", state.error().orElseThrow().getMessage());
		}
	}

	@Test
	void anUnknownStatusIsAnUnreadableAnswerNotAFailedJob() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).jobsEndWith(Phase.UNKNOWN, null)) {
			EditException e = assertThrows(EditException.class, () -> pollIn(replicate, Phase.UNKNOWN));
			assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
			assertTrue(e.getMessage().contains("mystery"), e.getMessage());
		}
	}

	@Test
	void cancelAsksReplicateToStopThePredictionAndSaysItWasAccepted() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).jobsNeverFinish()) {
			ProviderOnEmulator on = ProviderOnEmulator.create("replicate", TOKEN, replicate);
			JobHandle job = on.provider().submit(plainRequest(MODEL), LINKS, on.http()).handle();
			assertTrue(on.provider().cancel(job, on.http()), "the cancel was not confirmed");
			RecordedRequest cancel = replicate.requests("/v1/predictions/" + job.id() + "/cancel").get(0);
			assertEquals("POST", cancel.method());
			assertEquals("Bearer " + TOKEN, cancel.header("Authorization"));
			assertTrue(replicate.lastJob().cancelRequested());
		}
	}

	@Test
	void aCancelReplicateRefusesIsNotAccepted() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("replicate", TOKEN, replicate);
			String unknown = replicate.baseUrl() + "/v1/predictions/nosuchprediction";
			assertFalse(on.provider().cancel(new JobHandle("nosuchprediction", unknown, unknown + "/cancel", null),
				on.http()));
			assertEquals(1, replicate.requestCount("/v1/predictions/nosuchprediction/cancel"));
		}
	}

	@Test
	void theResultLinksDownloadTheEmulatorsImages() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).processingDelay(QUICK_JOB)) {
			JobState state = pollIn(replicate, Phase.SUCCEEDED);
			assertEquals(1, state.outputUrls().size(), String.valueOf(state.error()));
			ProviderOnEmulator on = ProviderOnEmulator.create("replicate", TOKEN, replicate);
			on.assertLinksDownloadTheEdit(state.outputUrls(), 0, 0);
		}
	}

	@Test
	void aWrongTokenIsUnauthorisedAndTheMessageNamesTheSettingNotTheToken() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("replicate", "r8_wrong_55e0", replicate);
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			ProviderOnEmulator.assertRefusedWithoutNamingTheKey(e, ReplicateProvider.KEY_VARIABLE, "r8_wrong_55e0");
		}
	}

	/** Replicate says when to come back in its {@code detail} (docs/providers.md §5.1); the header gives the wait. */
	@Test
	void a429IsRateLimitedWithTheWaitItAsksFor() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("replicate", TOKEN, replicate);
			replicate.failNextWith(429, "{\"title\": \"Too Many Requests\", \"detail\": \"Request was throttled. Your " +
				"rate limit resets in ~30s.\", \"status\": 429}", Map.of("Retry-After", "30"));
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			ProviderOnEmulator.assertRateLimitedFor(e, Duration.ofSeconds(30));
			assertTrue(e.getMessage().contains("Request was throttled"), e.getMessage());
		}
	}

	@Test
	void a500OnSubmitOrPollIsAProviderFailure() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(TOKEN).jobsNeverFinish()) {
			ProviderOnEmulator on = ProviderOnEmulator.create("replicate", TOKEN, replicate);
			replicate.failNextWith(500, "{\"title\": \"Internal Server Error\", \"detail\": \"Something broke\", " +
				"\"status\": 500}", Map.of());
			EditException refused = on.submitRefused(plainRequest(MODEL), LINKS);
			assertEquals(ErrorKind.PROVIDER_FAILURE, refused.kind());
			assertTrue(refused.getMessage().contains("Something broke"), refused.getMessage());

			JobHandle job = on.provider().submit(plainRequest(MODEL), LINKS, on.http()).handle();
			replicate.failNextWith(502, "<html>Bad Gateway</html>", Map.of());
			assertEquals(ErrorKind.PROVIDER_FAILURE, on.pollRefused(job).kind());
		}
	}
}
