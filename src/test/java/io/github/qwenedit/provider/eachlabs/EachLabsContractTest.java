package io.github.qwenedit.provider.eachlabs;

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
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.emulator.AsyncJobEmulator.Job;
import io.github.qwenedit.emulator.AsyncJobEmulator.Phase;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.EmulatedSchema;
import io.github.qwenedit.emulator.RecordedRequest;
import io.github.qwenedit.fixtures.ProviderOnEmulator;

/**
 * eachlabs' prediction protocol, driven on the provider alone against its emulator
 * (docs/providers.md §2): create with the key in {@code X-API-Key}, read the prediction until its
 * status is final, cancel at its {@code urls.cancel}.
 */
class EachLabsContractTest {

	private static final String KEY = "el-contract-5b2c";
	private static final Duration QUICK_JOB = Duration.ofMillis(50);

	/** Submits a plain edit and polls it once {@code emulator}'s job is in {@code phase}. */
	private static JobState pollIn(EachLabsEmulator eachlabs, Phase phase) throws Exception {
		return ProviderOnEmulator.create("eachlabs", KEY, eachlabs).submitAndPollIn(eachlabs, phase,
			plainRequest(EachLabsEmulator.MODEL), LINKS);
	}

	@Test
	void submitSendsInstructionImagesModelAndOptionsWithTheKeyInItsHeaderAndAnswersAHandle() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).limitRunning(0)) {
			// The default schema lists what the only public client sends; the seed is the plugin's to send when given.
			ObjectNode withSeed = EmulatedSchema.field(EachLabsEmulator.defaultSchema(), "seed", "integer");
			eachlabs.schema().replaceWith(withSeed);
			ProviderOnEmulator on = ProviderOnEmulator.create("eachlabs", KEY, eachlabs);
			EditRequest request = request(EditOptions.builder(EachLabsEmulator.MODEL).outputs(2).seed(42L)
				.size(new ImageSize(1024, 768)).build());

			JobState state = on.provider().submit(request, LINKS, on.http());

			Job job = eachlabs.lastJob();
			RecordedRequest sent = job.request;
			assertEquals("POST", sent.method());
			assertEquals("/v1/prediction/", sent.path());
			assertEquals(KEY, sent.header("X-API-Key"));
			assertFalse(sent.mentionsOutside(KEY, "X-API-Key"), "the key went elsewhere than its header");
			JsonNode body = sent.json();
			assertEquals(EachLabsEmulator.MODEL, body.path("model").asText());
			assertEquals("0.0.1", body.path("version").asText());
			JsonNode input = body.path("input");
			assertEquals("remove the scale bar", input.path("prompt").asText());
			assertEquals(LINKS, List.of(input.path("image_urls").path(0).asText(), input.path("image_urls").path(1).asText()));
			assertEquals(2, input.path("image_urls").size());
			assertEquals(2, input.path("n").asInt());
			assertEquals("1024*768", input.path("size").asText());
			assertEquals(42, input.path("seed").asLong());

			assertEquals(JobState.Status.QUEUED, state.status());
			JobHandle handle = state.handle();
			assertEquals(job.id, handle.id());
			assertEquals(eachlabs.baseUrl() + "/v1/prediction/" + job.id, handle.pollUrl().orElseThrow());
			assertEquals(eachlabs.baseUrl() + "/v1/prediction/" + job.id + "/cancel", handle.cancelUrl().orElseThrow());
		}
	}

	@Test
	void startingIsQueued() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).limitRunning(0)) {
			assertEquals(JobState.Status.QUEUED, pollIn(eachlabs, Phase.QUEUED).status());
		}
	}

	@Test
	void processingIsRunning() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).jobsNeverFinish()) {
			assertEquals(JobState.Status.RUNNING, pollIn(eachlabs, Phase.PROCESSING).status());
		}
	}

	@Test
	void successHasTheOutputLinksAndTheCost() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).processingDelay(QUICK_JOB)) {
			JobState state = pollIn(eachlabs, Phase.SUCCEEDED);
			assertEquals(JobState.Status.SUCCEEDED, state.status(), String.valueOf(state.error()));
			assertEquals(eachlabs.lastJob().outputLinks(), state.outputUrls());
			assertEquals("0.035", state.facts().get("CostUsd"));
		}
	}

	/** The API reference says {@code failed}, the model's page {@code error} (docs/providers.md §2.4). */
	@ParameterizedTest
	@ValueSource(strings = { "error", "failed" })
	void aFailedJobIsFailedWithEachLabsOwnWords(String word) throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).failureWord(word)
			.jobsEndWith(Phase.FAILED, "CUDA out of memory"))
		{
			JobState state = pollIn(eachlabs, Phase.FAILED);
			assertEquals(JobState.Status.FAILED, state.status());
			EditException error = state.error().orElseThrow();
			assertEquals(ErrorKind.PROVIDER_FAILURE, error.kind());
			assertTrue(error.getMessage().contains("\"" + word + "\"") && error.getMessage().contains("CUDA out of memory"),
				error.getMessage());
		}
	}

	@Test
	void aJobCancelledElsewhereIsFailedAsCancelled() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).jobsEndWith(Phase.CANCELLED, "stopped in the dashboard")) {
			JobState state = pollIn(eachlabs, Phase.CANCELLED);
			assertEquals(JobState.Status.FAILED, state.status());
			assertEquals(ErrorKind.CANCELLED, state.error().orElseThrow().kind());
		}
	}

	/** A word eachlabs does not document says nothing of the job: the poll fails, the job is not called failed. */
	@Test
	void anUnknownStatusIsAnUnreadableAnswerNotAFailedJob() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).unknownStatusWord("exploded")
			.jobsEndWith(Phase.UNKNOWN, null))
		{
			EditException e = assertThrows(EditException.class, () -> pollIn(eachlabs, Phase.UNKNOWN));
			assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
			assertTrue(e.getMessage().contains("exploded"), e.getMessage());
		}
	}

	@Test
	void cancelAsksEachLabsToStopTheJobAndSaysItWasAccepted() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).jobsNeverFinish()) {
			ProviderOnEmulator on = ProviderOnEmulator.create("eachlabs", KEY, eachlabs);
			JobHandle job = on.provider().submit(plainRequest(EachLabsEmulator.MODEL), LINKS, on.http()).handle();
			assertTrue(on.provider().cancel(job, on.http()), "the cancel was not confirmed");
			RecordedRequest cancel = eachlabs.requests("/v1/prediction/" + job.id() + "/cancel").get(0);
			assertEquals("POST", cancel.method());
			assertEquals(KEY, cancel.header("X-API-Key"));
			assertTrue(eachlabs.lastJob().cancelRequested());
			JobState after = on.provider().poll(job, on.http());
			assertEquals(ErrorKind.CANCELLED, after.error().orElseThrow().kind());
		}
	}

	@Test
	void aCancelEachLabsRefusesIsNotAccepted() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("eachlabs", KEY, eachlabs);
			String unknown = eachlabs.baseUrl() + "/v1/prediction/no-such-job";
			assertFalse(on.provider().cancel(new JobHandle("no-such-job", unknown, unknown + "/cancel", null), on.http()));
			assertEquals(1, eachlabs.requestCount("/v1/prediction/no-such-job/cancel"));
		}
	}

	@Test
	void theResultLinksDownloadTheEmulatorsImages() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).processingDelay(QUICK_JOB)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("eachlabs", KEY, eachlabs);
			JobState state = on.submitAndPollIn(eachlabs, Phase.SUCCEEDED,
				request(EditOptions.builder(EachLabsEmulator.MODEL).outputs(2).build()), LINKS);
			assertEquals(2, state.outputUrls().size());
			on.assertLinksDownloadTheEdit(state.outputUrls(), 0, 0);
		}
	}

	@Test
	void aWrongKeyIsUnauthorisedAndTheMessageNamesTheSettingNotTheKey() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("eachlabs", "el-wrong-91fe", eachlabs);
			EditException e = on.submitRefused(plainRequest(EachLabsEmulator.MODEL), LINKS);
			ProviderOnEmulator.assertRefusedWithoutNamingTheKey(e, EachLabsProvider.KEY_VARIABLE, "el-wrong-91fe");
		}
	}

	@Test
	void a429IsRateLimitedWithTheWaitItAsksForAndEachLabsLimits() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("eachlabs", KEY, eachlabs);
			eachlabs.failNextWith(429, "{\"error\": \"Rate limit exceeded\"}", Map.of("Retry-After", "3"));
			EditException e = on.submitRefused(plainRequest(EachLabsEmulator.MODEL), LINKS);
			ProviderOnEmulator.assertRateLimitedFor(e, Duration.ofSeconds(3));
			assertTrue(e.getMessage().contains("100 new predictions a minute"), e.getMessage());
			assertEquals(0, eachlabs.jobs().size());
		}
	}

	@Test
	void a500OnSubmitOrPollIsAProviderFailure() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).jobsNeverFinish()) {
			ProviderOnEmulator on = ProviderOnEmulator.create("eachlabs", KEY, eachlabs);
			eachlabs.failNextWith(500, "{\"error\": \"Failed to create prediction\"}", Map.of());
			EditException refused = on.submitRefused(plainRequest(EachLabsEmulator.MODEL), LINKS);
			assertEquals(ErrorKind.PROVIDER_FAILURE, refused.kind());
			assertTrue(refused.getMessage().contains("Failed to create prediction"), refused.getMessage());

			JobHandle job = on.provider().submit(plainRequest(EachLabsEmulator.MODEL), LINKS, on.http()).handle();
			eachlabs.failNextWith(500, "{\"error\": \"Internal server error\"}", Map.of());
			assertEquals(ErrorKind.PROVIDER_FAILURE, on.pollRefused(job).kind());
		}
	}
}
