package io.github.qwenedit.provider.fal;

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
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.emulator.RecordedRequest;
import io.github.qwenedit.fixtures.ProviderOnEmulator;
import io.github.qwenedit.provider.Observation;

/**
 * fal.ai's queue protocol, driven on the provider alone against its emulator (docs/providers.md §4):
 * submit with {@code Authorization: Key}, follow the returned links, read the status from its stream
 * (or poll it where the stream cannot be read), and learn a failure only when the result is fetched.
 */
class FalContractTest {

	private static final String KEY = "fal-contract-7c1e";
	private static final String MODEL = "fal-ai/qwen-image-2/edit";
	/** Where fal keeps a request of {@link #MODEL}: its model id without the sub-path (docs/providers.md §4.1). */
	private static final String REQUESTS = "/fal-ai/qwen-image-2/requests/";
	private static final Duration QUICK_JOB = Duration.ofMillis(50);

	/** Submits a plain edit and polls it once {@code emulator}'s job is in {@code phase}. */
	private static JobState pollIn(FalEmulator fal, Phase phase) throws Exception {
		return ProviderOnEmulator.create("fal", KEY, fal).submitAndPollIn(fal, phase, plainRequest(MODEL), LINKS);
	}

	@Test
	void submitSendsInstructionImagesAndOptionsInFalsNamesWithTheKeyAndAnswersItsLinks() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).limitRunning(0)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("fal", KEY, fal);
			EditRequest request = request(EditOptions.builder(MODEL).outputs(2).seed(42L).size(new ImageSize(1024, 768))
				.negativePrompt("blurry").build());

			JobState state = on.provider().submit(request, LINKS, on.http());

			Job job = fal.lastJob();
			RecordedRequest sent = job.request;
			assertEquals("POST", sent.method());
			assertEquals("/" + MODEL, sent.path(), "the model is chosen by the path");
			assertEquals("Key " + KEY, sent.header("Authorization"));
			assertFalse(sent.mentionsOutside(KEY, "Authorization"), "the key went elsewhere than its header");
			JsonNode body = sent.json();
			assertEquals("remove the scale bar", body.path("prompt").asText());
			assertEquals(LINKS, List.of(body.path("image_urls").path(0).asText(), body.path("image_urls").path(1).asText()));
			assertEquals(2, body.path("image_urls").size());
			assertEquals(2, body.path("num_images").asInt());
			assertEquals(1024, body.path("image_size").path("width").asInt());
			assertEquals(768, body.path("image_size").path("height").asInt());
			assertEquals(42, body.path("seed").asLong());
			assertEquals("blurry", body.path("negative_prompt").asText());
			assertTrue(body.path("enable_prompt_expansion").asBoolean());
			assertEquals("png", body.path("output_format").asText());

			assertEquals(JobState.Status.QUEUED, state.status());
			assertEquals(0, state.queuePosition().orElseThrow());
			assertEquals(Observation.STREAM, on.provider().observation(state.handle()), "the status stream is opened at once");
			JobHandle handle = state.handle();
			String at = fal.baseUrl() + REQUESTS + job.id;
			assertEquals(job.id, handle.id());
			assertEquals(at + "/status", handle.pollUrl().orElseThrow());
			assertEquals(at, handle.resultUrl().orElseThrow());
			assertEquals(at + "/cancel", handle.cancelUrl().orElseThrow());
		}
	}

	@Test
	void inQueueIsQueuedWithItsPosition() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).limitRunning(0).statusStream(FalEmulator.StatusStream.REFUSED)) {
			JobState state = pollIn(fal, Phase.QUEUED);
			assertEquals(JobState.Status.QUEUED, state.status());
			assertEquals(0, state.queuePosition().orElseThrow());
		}
	}

	@Test
	void inProgressIsRunning() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).jobsNeverFinish().statusStream(FalEmulator.StatusStream.CUT)) {
			assertEquals(JobState.Status.RUNNING, pollIn(fal, Phase.PROCESSING).status());
		}
	}

	/** The stream tells of completion in the same call; the result is then fetched, and no status is polled. */
	@Test
	void completedIsReadFromTheStreamAndAnswersTheResultsLinks() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).processingDelay(QUICK_JOB)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("fal", KEY, fal);
			JobHandle job = on.provider().submit(plainRequest(MODEL), LINKS, on.http()).handle();
			JobState state = on.provider().poll(job, on.http());
			assertEquals(JobState.Status.SUCCEEDED, state.status(), String.valueOf(state.error()));
			assertEquals(fal.lastJob().outputLinks(), state.outputUrls());
			assertEquals("1234567", state.facts().get("SeedUsed"));
			assertEquals(1, fal.requestCount(REQUESTS + job.id() + "/status/stream"));
			assertEquals(0, fal.requestCount(REQUESTS + job.id() + "/status"));
			assertEquals("Key " + KEY, fal.requests(REQUESTS + job.id()).get(0).header("Authorization"));
		}
	}

	/** The queue has no failed status: the result fetch tells, in fal's error shape (docs/providers.md §4.1). */
	@Test
	void aJobRefusedByTheContentCheckIsFailedAsContentRejected() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).jobsEndWith(Phase.FAILED, "NSFW content detected")) {
			JobState state = pollIn(fal, Phase.FAILED);
			assertEquals(JobState.Status.FAILED, state.status());
			EditException error = state.error().orElseThrow();
			assertEquals(ErrorKind.CONTENT_REJECTED, error.kind());
			assertTrue(error.getMessage().contains("NSFW content detected"), error.getMessage());
		}
	}

	@Test
	void aJobWhoseInputFalRefusesIsFailedWithFalsWords() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).failureType("value_error")
			.jobsEndWith(Phase.FAILED, "image too small"))
		{
			JobState state = pollIn(fal, Phase.FAILED);
			assertEquals(JobState.Status.FAILED, state.status());
			EditException error = state.error().orElseThrow();
			assertEquals(ErrorKind.INVALID_INPUT, error.kind());
			assertTrue(error.getMessage().contains("image too small"), error.getMessage());
		}
	}

	/**
	 * A server error on the result fetch says nothing of the job, which is done and paid for: the poll
	 * fails (to be asked again), the job is not called failed.
	 */
	@Test
	void aServerErrorOnTheResultIsAFailedPollNotAFailedJob() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).failureType("runner_error")
			.jobsEndWith(Phase.FAILED, "worker crashed"))
		{
			EditException e = assertThrows(EditException.class, () -> pollIn(fal, Phase.FAILED));
			assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
			assertTrue(e.getMessage().contains("worth retrying"), e.getMessage());
		}
	}

	/**
	 * A request cancelled elsewhere also ends COMPLETED, and its result fetch answers 400: the job is
	 * failed with fal's words, under the kind the provider gives a 400 today.
	 */
	@Test
	void aJobCancelledElsewhereIsFailedWithFalsWords() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).jobsEndWith(Phase.CANCELLED, null)) {
			JobState state = pollIn(fal, Phase.CANCELLED);
			assertEquals(JobState.Status.FAILED, state.status());
			EditException error = state.error().orElseThrow();
			assertEquals(ErrorKind.INVALID_INPUT, error.kind());
			assertTrue(error.getMessage().contains("Request was cancelled"), error.getMessage());
		}
	}

	@Test
	void anUnknownStatusIsAnUnreadableAnswerNotAFailedJob() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).statusStream(FalEmulator.StatusStream.REFUSED)
			.jobsEndWith(Phase.UNKNOWN, null))
		{
			EditException e = assertThrows(EditException.class, () -> pollIn(fal, Phase.UNKNOWN));
			assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
			assertTrue(e.getMessage().contains("SOMETHING_ELSE"), e.getMessage());
		}
	}

	/** Only a request still in the queue can be cancelled (docs/providers.md §4.1). */
	@Test
	void cancelStopsAQueuedJobAndIsAccepted() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).limitRunning(0)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("fal", KEY, fal);
			JobHandle job = on.provider().submit(plainRequest(MODEL), LINKS, on.http()).handle();
			assertTrue(on.provider().cancel(job, on.http()), "the cancel was not confirmed");
			RecordedRequest cancel = fal.requests(REQUESTS + job.id() + "/cancel").get(0);
			assertEquals("PUT", cancel.method());
			assertEquals("Key " + KEY, cancel.header("Authorization"));
			assertTrue(fal.lastJob().cancelRequested());
		}
	}

	@Test
	void aCancelOfARunningJobIsRefusedAndNotAccepted() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).jobsNeverFinish()) {
			ProviderOnEmulator on = ProviderOnEmulator.create("fal", KEY, fal);
			JobHandle job = on.provider().submit(plainRequest(MODEL), LINKS, on.http()).handle();
			assertTrue(fal.awaitLastJobIn(Phase.PROCESSING));
			assertFalse(on.provider().cancel(job, on.http()));
			assertEquals(1, fal.requestCount(REQUESTS + job.id() + "/cancel"));
			assertFalse(fal.lastJob().cancelRequested());
		}
	}

	@Test
	void theResultLinksDownloadTheEmulatorsImages() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY).processingDelay(QUICK_JOB)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("fal", KEY, fal);
			JobHandle job = on.provider().submit(request(EditOptions.builder(MODEL).outputs(2).build()), LINKS, on.http())
				.handle();
			JobState state = on.provider().poll(job, on.http());
			assertEquals(2, state.outputUrls().size(), String.valueOf(state.error()));
			// The qwen-image-2 endpoints answer at the last input's size when given none (docs/providers.md §4.2).
			on.assertLinksDownloadTheEdit(state.outputUrls(), 0, 0);
		}
	}

	@Test
	void aWrongKeyIsUnauthorisedAndTheMessageNamesTheSettingNotTheKey() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("fal", "fal-wrong-13cd", fal);
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			ProviderOnEmulator.assertRefusedWithoutNamingTheKey(e, FalProvider.KEY_VARIABLE, "fal-wrong-13cd");
		}
	}

	@Test
	void a429IsRateLimitedWithTheWaitItAsksFor() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("fal", KEY, fal);
			fal.failNextWith(429, "{\"detail\": \"Too many requests\"}", Map.of("Retry-After", "2"));
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			ProviderOnEmulator.assertRateLimitedFor(e, Duration.ofSeconds(2));
			assertTrue(e.getMessage().contains("Too many requests"), e.getMessage());
		}
	}

	@Test
	void a500OnSubmitIsAProviderFailureThatSaysWhetherRetryingHelps() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("fal", KEY, fal);
			fal.failNextWith(500, "{\"detail\": \"Internal error\", \"error_type\": \"internal_server_error\"}",
				Map.of("X-Fal-Retryable", "true"));
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
			assertTrue(e.getMessage().contains("Internal error") && e.getMessage().contains("worth retrying"), e.getMessage());
			assertEquals(0, fal.jobs().size());
		}
	}

	@Test
	void anInputFalRefusesOnSubmitIsInvalidInputNamingTheField() throws Exception {
		try (FalEmulator fal = new FalEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("fal", KEY, fal);
			// More outputs than the endpoint takes: the provider sends them, fal's validation names the field.
			EditException e = on.submitRefused(request(EditOptions.builder(MODEL).outputs(5).build()), LINKS);
			assertEquals(ErrorKind.INVALID_INPUT, e.kind());
			assertTrue(e.getMessage().contains("num_images"), e.getMessage());
		}
	}
}
