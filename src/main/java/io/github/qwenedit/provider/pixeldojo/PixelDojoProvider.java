package io.github.qwenedit.provider.pixeldojo;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.core.SizeRule;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.JobCalls;
import io.github.qwenedit.provider.JobHandle;
import io.github.qwenedit.provider.JobState;
import io.github.qwenedit.provider.KeyCheck;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderErrors;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * PixelDojo's job API for "Qwen Image 2 Edit" (https://pixeldojo.ai/api-platform/qwen-image-2-edit):
 * a 202 with a job id and a status link, polled until {@code completed}. Its request schema rejects
 * unknown fields, so only the documented ones are sent.
 */
public final class PixelDojoProvider implements EditProvider {

	public static final String ID = "pixeldojo";
	public static final String KEY_VARIABLE = "PIXELDOJO_API_KEY";
	public static final String BASE_URL_VARIABLE = "PIXELDOJO_BASE_URL";
	public static final String DEFAULT_BASE_URL = "https://pixeldojo.ai";
	static final String RUN_PATH = "api/v1/models/qwen-image-2-edit/run";
	private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

	private static final SizeRule TOTAL_PIXELS = SizeRule.totalPixels(512, 2048);
	/** The "Standard and Pro variants" of the page, chosen with the {@code model} field; 1 credit an image. */
	static final List<ModelSpec> MODELS = List.of(
		ModelSpec.builder("qwen-image-2.0").maxOutputs(6).sizeRule(TOTAL_PIXELS).build(),
		ModelSpec.builder("qwen-image-2.0-pro").maxOutputs(6).sizeRule(TOTAL_PIXELS).build());

	public static final ProviderDescriptor DESCRIPTOR = new ProviderDescriptor(ID, "PixelDojo", MODELS,
		BASE_URL_VARIABLE, DEFAULT_BASE_URL, KEY_VARIABLE, "PixelDojo API key", PixelDojoProvider::new);

	private final HttpUrl run;
	private final String apiKey;
	/** Credits remaining are in the 202 reply only; kept until the job's final answer. */
	private final Map<String, String> creditsRemaining = new java.util.concurrent.ConcurrentHashMap<>();

	public PixelDojoProvider(String baseUrl, String apiKey) throws EditException {
		this.run = ProviderDescriptor.resolve(baseUrl, BASE_URL_VARIABLE, RUN_PATH);
		this.apiKey = apiKey;
	}

	@Override
	public String id() {
		return ID;
	}

	@Override
	public String displayName() {
		return "PixelDojo";
	}

	@Override
	public List<ModelSpec> models() {
		return MODELS;
	}

	/** Whether PixelDojo reads data URIs is not documented (providers.md §3.2): links only. */
	@Override
	public long maxInlineBytes() {
		return 0;
	}

	private Request.Builder authorised(HttpUrl url) {
		return new Request.Builder().url(url).header("Authorization", "Bearer " + apiKey);
	}

	@Override
	public JobState submit(EditRequest request, List<String> imageUrls, Http http) throws EditException {
		HttpReply reply = http.send(authorised(run).post(RequestBody.create(Json.bytes(body(request, imageUrls)), JSON))
			.build(), CallKind.CREATE, CALL_TIMEOUT, displayName());
		if (!reply.isSuccessful()) throw error(reply);
		JsonNode answer = Json.parse(reply.body(), displayName());
		String jobId = Json.text(answer, "jobId");
		String statusUrl = Json.text(answer, "statusUrl");
		HttpUrl poll = statusUrl == null ? null : HttpUrl.parse(statusUrl);
		if (jobId == null || poll == null) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, "PixelDojo accepted the edit but sent no job link, so " +
				"its result cannot be fetched.");
		}
		if (answer.has("creditsRemaining")) creditsRemaining.put(jobId, answer.get("creditsRemaining").asText());
		return JobState.queued(new JobHandle(jobId, poll.toString(), null, null), null);
	}

	static ObjectNode body(EditRequest request, List<String> imageUrls) {
		EditOptions o = request.options();
		ObjectNode body = Json.object();
		body.put("prompt", request.instruction().strip());
		ArrayNode images = body.putArray("image");
		imageUrls.forEach(images::add);
		body.put("model", o.model());
		body.put("n", o.outputs());
		o.size().ifPresent(size -> body.put("size", size.toString()));
		if (!o.negativePrompt().isBlank()) body.put("negative_prompt", o.negativePrompt());
		body.put("prompt_extend", o.promptExtend());
		body.put("watermark", o.watermark());
		o.seed().ifPresent(seed -> body.put("seed", seed));
		return body;
	}

	/** Asks for a job that does not exist: 401 for a wrong key, 404 for a good one. */
	@Override
	public String checkKey(Http http) throws EditException {
		return KeyCheck.probe(http, authorised(run.resolve("/api/v1/jobs/key-check")).get().build(), displayName(),
			KEY_VARIABLE);
	}

	@Override
	public JobState poll(JobHandle job, Http http) throws EditException {
		JsonNode answer = JobCalls.fetch(http, authorised(HttpUrl.get(job.pollUrl().orElseThrow())).get().build(),
			displayName(), this::error);
		String status = String.valueOf(Json.text(answer, "status")).toLowerCase(Locale.ROOT);
		// Only "pending" and "completed" are documented (providers.md §3.3); the rest are the usual words.
		switch (status) {
			case "pending":
			case "queued":
				return JobState.queued(job, null);
			case "processing":
			case "running":
				return JobState.running(job);
			case "completed":
			case "succeeded":
				return JobState.succeeded(job, outputs(answer.path("output")), facts(answer, creditsRemaining.remove(job.id())));
			case "failed":
			case "error":
			case "cancelled":
			case "canceled":
			case "expired":
				return JobState.failed(job, new EditException(ErrorKind.PROVIDER_FAILURE, "PixelDojo reports the edit " +
					status + "." + said(answer)));
			default:
				return JobCalls.unknownStatus(job, displayName(), status);
		}
	}

	/** {@code output.images} holds links; a newer shape may carry {@code assets[].url} (providers.md §3.3). */
	static List<String> outputs(JsonNode output) {
		List<String> urls = new ArrayList<>();
		for (JsonNode image : output.path("images")) {
			if (image.isTextual()) urls.add(image.asText());
			else if (image.has("url")) urls.add(image.get("url").asText());
		}
		return urls;
	}

	private static Map<String, String> facts(JsonNode answer, String remainingAtSubmit) {
		Map<String, String> facts = new LinkedHashMap<>();
		if (answer.has("creditCost")) facts.put("CreditsUsed", answer.get("creditCost").asText());
		String remaining = answer.has("creditsRemaining") ? answer.get("creditsRemaining").asText() : remainingAtSubmit;
		if (remaining != null) facts.put("CreditsRemaining", remaining);
		return facts;
	}

	private static String said(JsonNode answer) {
		JsonNode error = answer.get("error");
		String text = error == null ? null : error.isObject() ? Json.text(error, "message") : error.asText();
		if (text == null) text = Json.text(answer, "message");
		return text == null || text.isBlank() ? "" : " PixelDojo said: " + ProviderErrors.clip(text);
	}

	/** No cancel call is documented: the job runs on and may be charged. */
	@Override
	public boolean cancel(JobHandle job, Http http) {
		return false;
	}

	/**
	 * Errors come as {@code {"error": {"code", "message", "status"}}}; out of credit is 402 or 403
	 * {@code insufficient_credits} depending on the source (providers.md §3.3).
	 */
	private EditException error(HttpReply reply) {
		String code = null;
		String message = null;
		try {
			JsonNode body = Json.parse(reply.body(), displayName());
			JsonNode error = body.path("error");
			code = error.isObject() ? Json.text(error, "code") : null;
			message = error.isObject() ? Json.text(error, "message") : Json.text(body, "error");
		}
		catch (EditException notJson) {
			// The status alone says enough.
		}
		if ("insufficient_credits".equals(code) || reply.code() == 402) {
			return new EditException(ErrorKind.INSUFFICIENT_CREDIT, "Your PixelDojo account has too few credits for this " +
				"edit. Buy credits on pixeldojo.ai, then run the edit again." +
				(message == null ? "" : " PixelDojo said: " + ProviderErrors.clip(message)));
		}
		return ProviderErrors.fromStatus(reply, displayName(), KEY_VARIABLE, message);
	}
}
