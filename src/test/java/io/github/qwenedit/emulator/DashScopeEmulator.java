package io.github.qwenedit.emulator;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Alibaba Model Studio / DashScope's native image-edit API (docs/providers.md §1), synchronous: one POST that
 * validates, downloads the inputs, "edits" them with {@link FakeEdit} and answers 200 with links to the PNGs
 * it serves itself.
 *
 * <pre>{@code
 * try (DashScopeEmulator dashscope = new DashScopeEmulator("sk-test")) {
 *     // DASHSCOPE_BASE_URL = dashscope.baseUrl(), DASHSCOPE_API_KEY = "sk-test"
 * }
 * }</pre>
 *
 * Checks run in this order, each answering at once: an injected fault; the 6 MiB body cap; the API key;
 * the body's shape and parameters; downloading and decoding every input, each at most 10 MB. Only a request that passes them all
 * waits the processing delay.
 */
public final class DashScopeEmulator extends EmulatorServer<DashScopeEmulator> {

	public static final String GENERATION_PATH = "/api/v1/services/aigc/multimodal-generation/generation";

	/** The Alibaba gateway's cap; docs/providers.md §1.6, from anomalyco/opencode#35112. */
	public static final int MAX_BODY_BYTES = 6_291_456;

	/**
	 * "file size ≤ 10 MB" per input image, docs/providers.md §1.3, whether fetched from a link or decoded from
	 * a data URI; in decimal megabytes, the stricter reading of the unit.
	 */
	public static final long MAX_IMAGE_BYTES = 10_000_000L;

	private static final Pattern SIZE = Pattern.compile("(\\d{1,5})\\*(\\d{1,5})");

	/** Messages as DashScope words them (docs/providers.md §1.5, §1.6). */
	static final String DOWNLOAD_FAILED = "<400> InternalError.Algo.InvalidParameter: Failed to download multimodal content";
	static final String URL_ERROR = "url error, please check url！ For details, see: https://help.aliyun.com/zh/model-studio/error-code#error-url";
	/**
	 * DashScope documents no message of its own for an input file over the limit, so the general one of its
	 * error-code table for a request parameter out of bounds (docs/providers.md §1.6).
	 */
	static final String PARAMETER_INVALID = "Required parameter(s) missing or invalid, please check the request parameters.";

	/** Ready-made failures from DashScope's error table (docs/providers.md §1.5, §1.6). */
	public enum Failure {
		DATA_INSPECTION_FAILED(400, "DataInspectionFailed", "Input or output data may contain inappropriate content."),
		ARREARAGE(400, "Arrearage", "Access denied, please make sure your account is in good standing."),
		THROTTLING_RATE_QUOTA(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
		// Codes and statuses of Alibaba's error-code page, https://www.alibabacloud.com/help/en/model-studio/error-code.
		IP_INFRINGEMENT_SUSPECT(400, "IPInfringementSuspect", "Input data is suspected of being involved in IP infringement."),
		PREPAID_BILL_OVERDUE(400, "PrepaidBillOverdue", "The prepaid bill is overdue."),
		POSTPAID_BILL_OVERDUE(400, "PostpaidBillOverdue", "The postpaid bill is overdue."),
		COMMODITY_NOT_PURCHASED(400, "CommodityNotPurchased", "Commodity has not purchased yet."),
		THROTTLING_ALLOCATION_QUOTA(429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit."),
		ACCESS_DENIED_UNPURCHASED(403, "AccessDenied.Unpurchased", "Access to model denied. Please make sure you are eligible for using the model."),
		MODEL_ACCESS_DENIED(403, "Model.AccessDenied", "Model access denied."),
		// The message of DashScope's own error-code page; docs/providers.md names only the code.
		INTERNAL_ERROR(500, "InternalError", "An internal error has occured, please try again later or contact service support.");

		final int status;
		final String code;
		final String message;

		Failure(int status, String code, String message) {
			this.status = status;
			this.code = code;
			this.message = message;
		}
	}

	/** The size and count rules of one family of models, docs/providers.md §1.2–1.3. */
	private enum ModelFamily {
		/** qwen-image-2.0(-pro): 1–6 outputs, total pixels in [512², 2048²], default = last input's size. */
		QWEN_IMAGE_2(6),
		/** qwen-image-edit-max: each side in [512, 2048], default ≈ 1024*1024 with the last input's aspect. */
		EDIT_MAX(6),
		/** qwen-image-edit-plus-2025-12-15: each side in [512, 2048]. */
		EDIT_PLUS(6),
		/**
		 * qwen-image-edit-plus(-2025-10-30): as EDIT_PLUS, but Alibaba's sample code says size is only allowed
		 * with n = 1 (docs/providers.md §1.3 DISAGREE, "emulate as model-dependent").
		 */
		EDIT_PLUS_SIZE_ONLY_WITH_ONE_OUTPUT(6),
		/** qwen-image-edit: one output, no custom size. */
		EDIT(1);

		final int maxOutputs;

		ModelFamily(int maxOutputs) {
			this.maxOutputs = maxOutputs;
		}
	}

	/** The enum of docs.qwencloud.com, dated aliases included (docs/providers.md §1.2). */
	private static final Map<String, ModelFamily> MODELS = Map.ofEntries(
		Map.entry("qwen-image-2.0-pro-2026-04-22", ModelFamily.QWEN_IMAGE_2),
		Map.entry("qwen-image-2.0-pro", ModelFamily.QWEN_IMAGE_2),
		Map.entry("qwen-image-2.0-pro-2026-03-03", ModelFamily.QWEN_IMAGE_2),
		Map.entry("qwen-image-2.0", ModelFamily.QWEN_IMAGE_2),
		Map.entry("qwen-image-2.0-2026-03-03", ModelFamily.QWEN_IMAGE_2),
		Map.entry("qwen-image-edit-max", ModelFamily.EDIT_MAX),
		Map.entry("qwen-image-edit-max-2026-01-16", ModelFamily.EDIT_MAX),
		Map.entry("qwen-image-edit-plus", ModelFamily.EDIT_PLUS_SIZE_ONLY_WITH_ONE_OUTPUT),
		Map.entry("qwen-image-edit-plus-2025-10-30", ModelFamily.EDIT_PLUS_SIZE_ONLY_WITH_ONE_OUTPUT),
		Map.entry("qwen-image-edit-plus-2025-12-15", ModelFamily.EDIT_PLUS),
		Map.entry("qwen-image-edit", ModelFamily.EDIT));

	/**
	 * An edit the emulator accepted and answered: what tests assert on end to end.
	 *
	 * @param body the parsed request body
	 * @param inputs the input images as downloaded or decoded, in request order
	 * @param outputUrls the links it answered with, output i at index i
	 */
	public record ReceivedEdit(RecordedRequest request, JsonNode body, String model, String prompt, int count,
		List<FetchedImage> inputs, int outputWidth, int outputHeight, List<String> outputUrls) {}

	private record PixelSize(int width, int height) {}

	/** A request refused with a DashScope error body. */
	private static final class Refusal extends Exception {

		private static final long serialVersionUID = 1L;
		final int status;
		final String code;

		Refusal(int status, String code, String message) {
			super(message, null, false, false);
			this.status = status;
			this.code = code;
		}

		static Refusal invalid(String message) {
			return new Refusal(400, "InvalidParameter", message);
		}
	}

	private final String apiKey;
	private final List<ReceivedEdit> edits = new CopyOnWriteArrayList<>();

	/** Starts the emulator on 127.0.0.1; requests must carry {@code Authorization: Bearer <apiKey>}. */
	public DashScopeEmulator(String apiKey) {
		this.apiKey = apiKey;
	}

	private volatile int linksPerAnswer;

	/** Every successful edit answers with at least this many output links, however many were asked for. */
	public DashScopeEmulator linksPerAnswer(int links) {
		linksPerAnswer = links;
		return this;
	}

	/** {@link #baseUrl()} + {@link #GENERATION_PATH}. */
	public String generationUrl() {
		return baseUrl() + GENERATION_PATH;
	}

	/** The next API request fails with a DashScope error body {@code {request_id, code, message}}. */
	public DashScopeEmulator failNext(int status, String code, String message) {
		return failNextWith(errorReply(status, code, message));
	}

	public DashScopeEmulator failNext(Failure failure) {
		return failNext(failure.status, failure.code, failure.message);
	}

	/** Every edit answered with 200, in order. */
	public List<ReceivedEdit> edits() {
		return List.copyOf(edits);
	}

	/** The latest edit answered with 200; fails the test when there was none. */
	public ReceivedEdit lastEdit() {
		if (edits.isEmpty()) throw new AssertionError("DashScope emulator answered no edit with 200");
		return edits.get(edits.size() - 1);
	}

	@Override
	protected Reply respond(RecordedRequest request) throws Exception {
		if (!request.path().equals(GENERATION_PATH) || !request.method().equals("POST")) {
			// Not in docs/providers.md: a plain 404 in DashScope's shape.
			return errorReply(404, "NotFound", "Not found: " + request.method() + " " + request.path());
		}
		if (request.bodyLength() > MAX_BODY_BYTES) {
			// The gateway refuses before the service sees the call, in its own shape (docs/providers.md §1.6);
			// the status is not documented there, 400 matches the "BadRequest" type.
			return Reply.json(400, Map.of("error", Map.of("type", "BadRequest.TooLarge", "message",
				"Request body too large. Exceeded limit on max bytes to request body : " + MAX_BODY_BYTES)));
		}
		if (!("Bearer " + apiKey).equals(request.header("Authorization"))) {
			return errorReply(401, "InvalidApiKey", "Invalid API-key provided.");
		}
		try {
			return edit(request);
		}
		catch (Refusal refusal) {
			return errorReply(refusal.status, refusal.code, refusal.getMessage());
		}
	}

	private Reply edit(RecordedRequest request) throws Refusal, InterruptedException {
		long started = System.nanoTime();
		JsonNode body = request.json();
		if (body == null || !body.isObject()) throw Refusal.invalid("The request body is not a JSON object.");
		String model = textOf(body.get("model"));
		if (model == null || model.isEmpty()) {
			throw new Refusal(400, "BadRequest.EmptyModel", "Required parameter \"model\" missing from request.");
		}
		ModelFamily family = MODELS.get(model);
		if (family == null) throw Refusal.invalid("Model not exist.");

		JsonNode input = body.get("input");
		if (input == null || !input.isObject()) {
			throw new Refusal(400, "BadRequest.EmptyInput", "Required input parameter missing from request.");
		}
		JsonNode content = userContent(input.get("messages"));
		List<String> images = new ArrayList<>();
		List<String> texts = new ArrayList<>();
		for (JsonNode item : content) {
			String image = textOf(item.get("image"));
			String text = textOf(item.get("text"));
			if (item.size() != 1 || (image == null) == (text == null)) {
				throw Refusal.invalid("Each content item must be one {\"image\": string} or {\"text\": string}.");
			}
			if (image != null) images.add(image);
			else texts.add(text);
		}
		if (images.isEmpty() || images.size() > 3) {
			throw Refusal.invalid("The content must hold 1 to 3 images, not " + images.size() + ".");
		}
		// "Only one text is supported. Missing text or multiple text entries will return an error" (§1.3).
		if (texts.size() != 1) throw Refusal.invalid("The content must hold exactly one text, not " + texts.size() + ".");
		String prompt = texts.get(0);
		// Over 800 characters the service truncates rather than refuses (§1.3), so only emptiness is an error.
		if (prompt.isBlank()) throw Refusal.invalid("The text must not be empty.");

		JsonNode parameters = body.path("parameters");
		if (!parameters.isMissingNode() && !parameters.isObject()) throw Refusal.invalid("parameters must be an object.");
		int count = outputCount(parameters, model, family);
		PixelSize size = requestedSize(parameters, model, family, count);
		checkOptionalParameters(parameters);

		List<FetchedImage> inputs = new ArrayList<>();
		for (String reference : images) {
			inputs.add(fetchInput(reference));
		}
		FetchedImage last = inputs.get(inputs.size() - 1);
		if (size == null) size = defaultSize(family, last.width(), last.height());

		// The outputs are drawn within the processing time, so the reply leaves the moment it is over.
		List<BufferedImage> decoded = inputs.stream().map(FetchedImage::image).collect(Collectors.toList());
		List<byte[]> rendered = new ArrayList<>();
		for (int i = 0; i < count; i++) {
			rendered.add(FakeEdit.renderPng(decoded, size.width(), size.height(), i));
		}
		if (!awaitProcessing(started)) return errorReply(503, "ServiceUnavailable", "The emulator is shutting down.");
		List<String> urls = new ArrayList<>();
		rendered.forEach(png -> urls.add(publishPng(png)));
		while (urls.size() < linksPerAnswer) {
			urls.add(publishPng(rendered.get(rendered.size() - 1)));
		}
		edits.add(new ReceivedEdit(request, body, model, prompt, count, List.copyOf(inputs), size.width(),
			size.height(), List.copyOf(urls)));
		return Reply.json(200, success(urls, size));
	}

	/** {@code input.messages}: single-turn only, role "user" (docs/providers.md §1.3). */
	private static JsonNode userContent(JsonNode messages) throws Refusal {
		if (messages == null || !messages.isArray() || messages.size() != 1) {
			throw Refusal.invalid("input.messages must hold exactly one message; only single-turn conversations are supported.");
		}
		JsonNode message = messages.get(0);
		if (!"user".equals(textOf(message.get("role")))) throw Refusal.invalid("The message role must be \"user\".");
		JsonNode content = message.get("content");
		if (content == null || !content.isArray()) throw Refusal.invalid("The message content must be an array.");
		for (JsonNode item : content) {
			if (!item.isObject()) throw Refusal.invalid("Each content item must be an object.");
		}
		return content;
	}

	/** {@code parameters.n}: default 1; 1–6, only 1 for qwen-image-edit (docs/providers.md §1.3). */
	private static int outputCount(JsonNode parameters, String model, ModelFamily family) throws Refusal {
		JsonNode n = parameters.get("n");
		if (n == null) return 1;
		if (!isIntegerIn(n, 1, family.maxOutputs)) {
			throw Refusal.invalid("n must be an integer from 1 to " + family.maxOutputs + " for " + model + ".");
		}
		return n.asInt();
	}

	/** {@code parameters.size}: "W*H" with a star, per-model bounds (docs/providers.md §1.2–1.3); null when absent. */
	private static PixelSize requestedSize(JsonNode parameters, String model, ModelFamily family, int count)
		throws Refusal
	{
		JsonNode sizeNode = parameters.get("size");
		if (sizeNode == null) return null;
		if (family == ModelFamily.EDIT) throw Refusal.invalid(model + " does not support the size parameter.");
		if (family == ModelFamily.EDIT_PLUS_SIZE_ONLY_WITH_ONE_OUTPUT && count != 1) {
			throw Refusal.invalid("size can only be set when n is 1 for " + model + ".");
		}
		Matcher star = SIZE.matcher(sizeNode.isTextual() ? sizeNode.asText() : "");
		if (!star.matches()) throw Refusal.invalid("size must be written width*height, such as 1024*1536.");
		int width = Integer.parseInt(star.group(1));
		int height = Integer.parseInt(star.group(2));
		if (family == ModelFamily.QWEN_IMAGE_2) {
			long pixels = (long) width * height;
			if (pixels < 512 * 512 || pixels > 2048 * 2048) {
				throw Refusal.invalid("The total pixels of size must be between 512*512 and 2048*2048 for " + model + ".");
			}
		}
		else if (width < 512 || width > 2048 || height < 512 || height > 2048) {
			throw Refusal.invalid("The width and height of size must each be in [512, 2048] for " + model + ".");
		}
		return new PixelSize(width, height);
	}

	/** The remaining documented parameters (docs/providers.md §1.3); unknown ones are ignored as the service does. */
	private static void checkOptionalParameters(JsonNode parameters) throws Refusal {
		JsonNode negative = parameters.get("negative_prompt");
		if (negative != null && (!negative.isTextual() || negative.asText().length() > 500)) {
			// The docs say the service truncates past 500; refusing instead makes a client that overflows visible.
			throw Refusal.invalid("negative_prompt must be text of at most 500 characters.");
		}
		JsonNode seed = parameters.get("seed");
		if (seed != null && !isIntegerIn(seed, 0, Integer.MAX_VALUE)) {
			throw Refusal.invalid("seed must be an integer in [0, 2147483647].");
		}
		for (String flag : List.of("prompt_extend", "watermark")) {
			JsonNode value = parameters.get(flag);
			if (value != null && !value.isBoolean()) throw Refusal.invalid(flag + " must be true or false.");
		}
	}

	private FetchedImage fetchInput(String reference) throws Refusal {
		FetchedImage image;
		try {
			image = fetchImage(reference, MAX_IMAGE_BYTES);
		}
		catch (ImageFetchException e) {
			// A reference that is no URL at all gets "url error" (spring-ai-alibaba#3219); one that cannot be
			// fetched or decoded gets the algorithm's download error (agentscope-java#2700), docs/providers.md §1.5;
			// a file over the documented 10 MB is an invalid parameter, not a download failure.
			switch (e.reason()) {
				case UNSUPPORTED_REFERENCE:
					throw Refusal.invalid(URL_ERROR);
				case TOO_LARGE:
					throw Refusal.invalid(PARAMETER_INVALID);
				default:
					throw Refusal.invalid(DOWNLOAD_FAILED);
			}
		}
		// "[height:1 or width:1 must be larger than 10]" (QwenLM/qwen-code#2505, docs/providers.md §1.6). The
		// 384–3072 range of §1.3 is "recommended" in some mirrors, so sizes between are accepted.
		if (image.width() <= 10 || image.height() <= 10) {
			throw Refusal.invalid("<400> InternalError.Algo.InvalidParameter: The image length and width do not meet " +
				"the model restrictions. [height:" + image.height() + " or width:" + image.width() +
				" must be larger than 10]");
		}
		return image;
	}

	/**
	 * Without a size, the output follows the last input (docs/providers.md §1.2), except edit-max's
	 * "approximately 1024*1024, with an aspect ratio similar to the input image": sides scaled to about a
	 * megapixel and rounded to a multiple of 16.
	 */
	private static PixelSize defaultSize(ModelFamily family, int lastWidth, int lastHeight) {
		if (family != ModelFamily.EDIT_MAX) return new PixelSize(lastWidth, lastHeight);
		double scale = Math.sqrt(1024.0 * 1024.0 / ((double) lastWidth * lastHeight));
		return new PixelSize(roundTo16(lastWidth * scale), roundTo16(lastHeight * scale));
	}

	private static int roundTo16(double side) {
		return Math.max(16, (int) Math.round(side / 16) * 16);
	}

	/** The 200 body of docs/providers.md §1.4: all n images in ONE choice's content. */
	private static ObjectNode success(List<String> urls, PixelSize size) {
		ObjectNode body = JSON.createObjectNode();
		ObjectNode message = body.putObject("output").putArray("choices").addObject()
			.put("finish_reason", "stop")
			.putObject("message").put("role", "assistant");
		ArrayNode content = message.putArray("content");
		urls.forEach(url -> content.addObject().put("image", url));
		body.putObject("usage").put("width", size.width()).put("image_count", urls.size()).put("height", size.height());
		body.put("request_id", UUID.randomUUID().toString());
		return body;
	}

	private static Reply errorReply(int status, String code, String message) {
		ObjectNode body = JSON.createObjectNode()
			.put("request_id", UUID.randomUUID().toString())
			.put("code", code)
			.put("message", message);
		return Reply.json(status, body);
	}

	private static boolean isIntegerIn(JsonNode node, long min, long max) {
		return node.isIntegralNumber() && node.canConvertToLong() && node.asLong() >= min && node.asLong() <= max;
	}

	private static String textOf(JsonNode node) {
		return node != null && node.isTextual() ? node.asText() : null;
	}
}
