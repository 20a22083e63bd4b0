package io.github.qwenedit.provider.dashscope;

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
import org.junit.jupiter.params.provider.CsvSource;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.RecordedRequest;
import io.github.qwenedit.fixtures.ProviderOnEmulator;
import io.github.qwenedit.provider.EditProvider;

/**
 * DashScope's protocol, driven on the provider alone against its emulator (docs/providers.md §1): one
 * synchronous call that answers with the finished images, so there is nothing to poll or cancel.
 */
class DashScopeContractTest {

	private static final String KEY = "sk-contract-4e1f";
	private static final String MODEL = "qwen-image-2.0";

	@Test
	void submitSendsInstructionImagesModelAndOptionsWithTheKeyAsBearerAndAnswersTheFinishedJob() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("dashscope", KEY, dashscope);
			EditRequest request = request(EditOptions.builder(MODEL).outputs(2).seed(42L)
				.size(new ImageSize(1024, 768)).negativePrompt("blurry").build());

			JobState state = on.provider().submit(request, LINKS, on.http());

			RecordedRequest sent = dashscope.lastEdit().request();
			assertEquals("POST", sent.method());
			assertEquals(DashScopeEmulator.GENERATION_PATH, sent.path());
			assertEquals("Bearer " + KEY, sent.header("Authorization"));
			assertFalse(sent.mentionsOutside(KEY, "Authorization"), "the key went elsewhere than its header");
			JsonNode body = sent.json();
			assertEquals(MODEL, body.path("model").asText());
			JsonNode content = body.path("input").path("messages").path(0).path("content");
			assertEquals(3, content.size(), content.toString());
			assertEquals(LINKS.get(0), content.path(0).path("image").asText());
			assertEquals(LINKS.get(1), content.path(1).path("image").asText());
			assertEquals("remove the scale bar", content.path(2).path("text").asText());
			JsonNode parameters = body.path("parameters");
			assertEquals(2, parameters.path("n").asInt());
			assertEquals(42, parameters.path("seed").asLong());
			assertEquals("1024*768", parameters.path("size").asText());
			assertEquals("blurry", parameters.path("negative_prompt").asText());

			assertEquals(JobState.Status.SUCCEEDED, state.status(), String.valueOf(state.error()));
			assertTrue(state.status().isFinal(), "a synchronous answer must need no polling");
			assertEquals(dashscope.lastEdit().outputUrls(), state.outputUrls());
			assertEquals("1024*768", state.facts().get("OutputSize"));
			assertEquals("2", state.facts().get("ImageCount"));
			assertTrue(state.handle().pollUrl().isEmpty() && state.handle().cancelUrl().isEmpty());
		}
	}

	@Test
	void withoutOptionsOnlyTheDefaultsAreSent() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("dashscope", KEY, dashscope);
			on.provider().submit(plainRequest(MODEL), LINKS.subList(0, 1), on.http());
			JsonNode parameters = dashscope.lastEdit().body().path("parameters");
			assertEquals(1, parameters.path("n").asInt());
			assertFalse(parameters.has("seed") || parameters.has("size") || parameters.has("negative_prompt"),
				parameters.toString());
		}
	}

	@Test
	void theResultLinksDownloadTheEmulatorsImages() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("dashscope", KEY, dashscope);
			JobState state = on.provider().submit(request(EditOptions.builder(MODEL).outputs(2).build()), LINKS,
				on.http());
			assertEquals(2, state.outputUrls().size());
			// Without a size, the output takes the last input's (docs/providers.md §1.2).
			on.assertLinksDownloadTheEdit(state.outputUrls(), 0, 0);
		}
	}

	/** The one failed state of a synchronous API: a 200 that carries an error code and no image. */
	@Test
	void anAnswerWithACodeAndNoImageIsAFailedJobWithDashScopesWords() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("dashscope", KEY, dashscope);
			dashscope.failNextWith(200, "{\"request_id\": \"r-1\", \"code\": \"InternalError.Algo\", " +
				"\"message\": \"the GPU fell over\"}", Map.of());
			JobState state = on.provider().submit(plainRequest(MODEL), LINKS, on.http());
			assertEquals(JobState.Status.FAILED, state.status());
			EditException error = state.error().orElseThrow();
			assertEquals(ErrorKind.PROVIDER_FAILURE, error.kind());
			assertTrue(error.getMessage().contains("InternalError.Algo: the GPU fell over"), error.getMessage());
			assertEquals("r-1", state.handle().id());
		}
	}

	@Test
	void thereIsNothingToPollAndNoCancelIsSent() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("dashscope", KEY, dashscope);
			EditProvider provider = on.provider();
			JobHandle job = JobHandle.finishedAtOnce("r-2");
			assertThrows(IllegalStateException.class, () -> provider.poll(job, on.http()));
			assertFalse(provider.cancel(job, on.http()), "a cancel was said to be accepted");
			assertEquals(List.of(), dashscope.requests(), "a call was made for a job that ended with its answer");
		}
	}

	@Test
	void aWrongKeyIsUnauthorisedAndTheMessageNamesTheSettingNotTheKey() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("dashscope", "sk-wrong-77aa", dashscope);
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			ProviderOnEmulator.assertRefusedWithoutNamingTheKey(e, DashScopeProvider.KEY_VARIABLE, "sk-wrong-77aa");
		}
	}

	@Test
	void a429IsRateLimitedWithTheWaitItAsksFor() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("dashscope", KEY, dashscope);
			dashscope.failNextWith(429, "{\"request_id\": \"r-3\", \"code\": \"Throttling.RateQuota\", \"message\": " +
				"\"Requests rate limit exceeded, please try again later.\"}", Map.of("Retry-After", "7"));
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			ProviderOnEmulator.assertRateLimitedFor(e, Duration.ofSeconds(7));
		}
	}

	/** Each ready-made failure of DashScope's error tables, as the provider names it today. */
	@ParameterizedTest
	@CsvSource({
		"INTERNAL_ERROR, PROVIDER_FAILURE",
		"DATA_INSPECTION_FAILED, CONTENT_REJECTED",
		"IP_INFRINGEMENT_SUSPECT, CONTENT_REJECTED",
		"ARREARAGE, INSUFFICIENT_CREDIT",
		"PREPAID_BILL_OVERDUE, INSUFFICIENT_CREDIT",
		"POSTPAID_BILL_OVERDUE, INSUFFICIENT_CREDIT",
		"COMMODITY_NOT_PURCHASED, INSUFFICIENT_CREDIT",
		"ACCESS_DENIED_UNPURCHASED, UNAUTHORIZED",
		"MODEL_ACCESS_DENIED, UNAUTHORIZED",
		"THROTTLING_RATE_QUOTA, RATE_LIMITED",
		"THROTTLING_ALLOCATION_QUOTA, RATE_LIMITED" })
	void eachDocumentedFailureHasItsKind(DashScopeEmulator.Failure failure, ErrorKind kind) throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			ProviderOnEmulator on = ProviderOnEmulator.create("dashscope", KEY, dashscope);
			dashscope.failNext(failure);
			EditException e = on.submitRefused(plainRequest(MODEL), LINKS);
			assertEquals(kind, e.kind(), e.getMessage());
			assertTrue(e.getMessage().contains("DashScope said: "), e.getMessage());
		}
	}
}
