package io.github.qwenedit.provider.dashscope;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.KeyCheck;
import io.github.qwenedit.provider.ModelCatalogue;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderErrors;
import io.github.qwenedit.provider.ProviderLimits;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * Alibaba Cloud Model Studio's native API. Edit models answer synchronously: the submit call returns
 * the finished images (https://docs.qwencloud.com/api-reference/image-generation/qwen-image-editing).
 */
public final class DashScopeProvider implements EditProvider {

	public static final String ID = "dashscope";
	public static final String KEY_VARIABLE = "DASHSCOPE_API_KEY";
	public static final String BASE_URL_VARIABLE = "DASHSCOPE_BASE_URL";
	public static final String DEFAULT_BASE_URL = "https://dashscope-intl.aliyuncs.com";
	static final String PATH = "api/v1/services/aigc/multimodal-generation/generation";

	/** The gateway refuses bodies over 6 MiB (BadRequest.TooLarge); keep room for the JSON around the images. */
	static final long MAX_BODY_BYTES = 6_291_456L;
	private static final long JSON_ALLOWANCE = 64 * 1024;

	/** Image calls can take minutes; DashScope's own CLI waits 300 s for them. */
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(300);
	private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");

	/**
	 * Models, limits and prices: {@value io.github.qwenedit.provider.ModelCatalogue#RESOURCE}. Its
	 * {@code max_image_bytes} reads "file size ≤ 10 MB" for each input image (docs/providers.md §1.3) as
	 * decimal megabytes: the stricter reading, so a file that fits is accepted whichever unit the
	 * service means.
	 */
	static final List<ModelSpec> MODELS = ModelCatalogue.builtInModels(ID, Map.of());

	private final HttpUrl endpoint;
	private final String apiKey;

	/** What the registry needs to list DashScope and create it from the configuration. */
	public static final ProviderDescriptor DESCRIPTOR = new ProviderDescriptor(ID, "DashScope", MODELS,
		BASE_URL_VARIABLE, DEFAULT_BASE_URL, KEY_VARIABLE, "DashScope API key",
		(baseUrl, key) -> new DashScopeProvider(baseUrl, key))
		// No figure for qwen-image-edit (docs/providers.md §1.6); the neighbouring wanx2.1-imageedit page
		// allows 2 concurrent tasks and 2 submissions a second, the most conservative documented figure.
		.withLimits(new ProviderLimits(2, 120));

	public DashScopeProvider(String baseUrl, String apiKey) throws EditException {
		this.endpoint = ProviderDescriptor.resolve(baseUrl, BASE_URL_VARIABLE, PATH);
		this.apiKey = apiKey;
	}

	public HttpUrl endpoint() {
		return endpoint;
	}

	@Override
	public ProviderDescriptor descriptor() {
		return DESCRIPTOR;
	}

	@Override
	public String serviceAddress() {
		return endpoint.toString();
	}

	@Override
	public long maxInlineBytes() {
		return MAX_BODY_BYTES - JSON_ALLOWANCE;
	}

	@Override
	public JobState submit(EditRequest request, List<String> imageUrls, Http http) throws EditException {
		Request call = new Request.Builder().url(endpoint)
			.header("Authorization", "Bearer " + apiKey)
			.post(RequestBody.create(Json.bytes(body(request, imageUrls)), JSON))
			.build();
		HttpReply reply = http.send(call, CallKind.CREATE, CALL_TIMEOUT, displayName());
		if (!reply.isSuccessful()) throw error(reply);
		return finished(Json.parse(reply.body(), displayName()));
	}

	static ObjectNode body(EditRequest request, List<String> imageUrls) {
		EditOptions o = request.options();
		ObjectNode body = Json.object();
		body.put("model", o.model());
		ArrayNode content = body.putObject("input").putArray("messages").addObject().put("role", "user")
			.putArray("content");
		for (String url : imageUrls) {
			content.addObject().put("image", url);
		}
		content.addObject().put("text", request.instruction().strip());
		ObjectNode parameters = body.putObject("parameters");
		parameters.put("n", o.outputs());
		if (!o.negativePrompt().isBlank()) parameters.put("negative_prompt", o.negativePrompt());
		if (!o.model().equals("qwen-image-edit")) parameters.put("prompt_extend", o.promptExtend());
		parameters.put("watermark", o.watermark());
		o.seed().ifPresent(seed -> parameters.put("seed", seed));
		o.size().ifPresent(size -> parameters.put("size", size.toString()));
		return body;
	}

	private JobState finished(JsonNode answer) throws EditException {
		List<String> urls = new ArrayList<>();
		for (JsonNode choice : answer.path("output").path("choices")) {
			for (JsonNode item : choice.path("message").path("content")) {
				String url = Json.text(item, "image");
				if (url != null && !url.isBlank()) urls.add(url);
			}
		}
		Map<String, String> facts = new LinkedHashMap<>();
		JsonNode usage = answer.path("usage");
		if (usage.has("width") && usage.has("height")) {
			facts.put("OutputSize", usage.path("width").asInt() + "*" + usage.path("height").asInt());
		}
		if (usage.has("image_count")) facts.put("ImageCount", usage.path("image_count").asText());
		JobHandle job = JobHandle.finishedAtOnce(Json.text(answer, "request_id"));
		String code = Json.text(answer, "code");
		if (urls.isEmpty() && code != null && !code.isBlank()) {
			// An error in a 200 answer (its usual shape, request_id, code and message): the job failed,
			// and what DashScope said is the only clue the user gets.
			String message = Json.text(answer, "message");
			return JobState.failed(job, new EditException(ErrorKind.PROVIDER_FAILURE, "DashScope returned no image and " +
				"said: " + ProviderErrors.clip(code + (message == null ? "" : ": " + message)) + ". Try again later; if " +
				"it persists, report it to DashScope."));
		}
		return JobState.succeeded(job, urls, facts);
	}

	/**
	 * DashScope answers {@code {request_id, code, message}}; its gateway sometimes
	 * {@code {error: {message, type}}} (https://github.com/anomalyco/opencode/issues/35112).
	 */
	private EditException error(HttpReply reply) {
		JsonNode body;
		try {
			body = Json.parse(reply.body(), displayName());
		}
		catch (EditException notJson) {
			return ProviderErrors.fromStatus(reply, displayName(), KEY_VARIABLE, null);
		}
		String code = Json.text(body, "code");
		String message = Json.text(body, "message");
		JsonNode nested = body.path("error");
		if (code == null && nested.isObject()) {
			code = Json.text(nested, "type");
			if (code == null) code = Json.text(nested, "code");
			message = Json.text(nested, "message");
		}
		String said = message == null ? "" : " DashScope said: " + ProviderErrors.clip(message);
		String c = code == null ? "" : code;
		// Codes from Alibaba's error-code page (https://www.alibabacloud.com/help/en/model-studio/error-code).
		if (c.equals("Arrearage") || c.equals("PrepaidBillOverdue") || c.equals("PostpaidBillOverdue")) {
			return new EditException(ErrorKind.INSUFFICIENT_CREDIT, "Your Alibaba Cloud account has an overdue bill (" + c +
				"), so DashScope refuses every call: pay it in the Alibaba Cloud billing console, then run the edit " +
				"again." + said);
		}
		if (c.equals("CommodityNotPurchased")) {
			return new EditException(ErrorKind.INSUFFICIENT_CREDIT, "Model Studio has not been purchased on this Alibaba " +
				"Cloud account (CommodityNotPurchased): activate it in the Model Studio console, then run the edit again." +
				said);
		}
		if (c.equals("AccessDenied.Unpurchased") || c.equals("Model.AccessDenied")) {
			return new EditException(ErrorKind.UNAUTHORIZED, "The key works, but this account may not use " +
				"the chosen model yet (" + c + "): activate the model in the Model Studio console, or choose another " +
				"model." + said);
		}
		if (c.equals("DataInspectionFailed") || c.equals("DataInspection")) {
			return new EditException(ErrorKind.CONTENT_REJECTED, "DashScope's content check refused the input or the " +
				"result. Change the instruction or the image." + said);
		}
		if (c.equals("IPInfringementSuspect")) {
			return new EditException(ErrorKind.CONTENT_REJECTED, "DashScope refused the edit because the input may " +
				"infringe intellectual property (IPInfringementSuspect). Use an image and instruction you hold the " +
				"rights to." + said);
		}
		if (c.equals("Throttling.AllocationQuota")) {
			return new EditException(ErrorKind.RATE_LIMITED, "This key has used up the quota allocated to it " +
				"(Throttling.AllocationQuota): raise the quota in the Model Studio console, or wait until it renews." +
				said, reply.retryAfter().orElse(null), null);
		}
		if (c.startsWith("Throttling")) {
			return new EditException(ErrorKind.RATE_LIMITED, "DashScope is limiting requests on this key. Wait a " +
				"minute and run the edit again." + said, reply.retryAfter().orElse(null), null);
		}
		if (c.equals("InvalidApiKey") || reply.code() == 401) {
			return new EditException(ErrorKind.UNAUTHORIZED, "DashScope refused the API key. Check " + KEY_VARIABLE +
				"; keys of the Beijing and Singapore regions differ, so set " + BASE_URL_VARIABLE +
				" to match the key's region." + said);
		}
		if (c.equals("BadRequest.TooLarge")) {
			return new EditException(ErrorKind.INVALID_INPUT, "The images are too large to send inside the request. " +
				"Configure a bucket so they travel as links, or use smaller images." + said);
		}
		if (c.contains("InvalidParameter") && message != null &&
			(message.contains("download") || message.contains("url") || message.contains("Download")))
		{
			return new EditException(ErrorKind.INVALID_INPUT, "DashScope could not fetch the input images. If they " +
				"are staged in a bucket, check that its links are reachable from the internet." + said);
		}
		return ProviderErrors.fromStatus(reply, displayName(), KEY_VARIABLE, message == null ? null :
			(code == null ? "" : code + ": ") + message);
	}

	/**
	 * DashScope has no free key-check call; an empty body is refused after the key check and, like
	 * every failed call, is not billed (docs/providers.md §1.4).
	 */
	@Override
	public String checkKey(Http http) throws EditException {
		return KeyCheck.probe(http, new Request.Builder().url(endpoint).header("Authorization", "Bearer " + apiKey)
			.post(RequestBody.create("{}", JSON)).build(), displayName(), KEY_VARIABLE);
	}

	@Override
	public JobState poll(JobHandle job, Http http) {
		throw new IllegalStateException("DashScope edits are synchronous and never need polling");
	}

	@Override
	public boolean cancel(JobHandle job, Http http) {
		return false;
	}
}
