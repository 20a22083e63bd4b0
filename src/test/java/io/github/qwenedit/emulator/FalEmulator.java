package io.github.qwenedit.emulator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * fal.ai's queue (docs/providers.md §4): submit to {@code /<model>}, then status, result and cancel under
 * {@code /<owner>/<app>/requests/<id>} (the model's sub-path dropped). Jobs beyond the account's
 * concurrency wait {@code IN_QUEUE} with a position; a failed job still turns {@code COMPLETED} and
 * shows its error only on the result fetch, with {@code X-Fal-Retryable}.
 */
public final class FalEmulator extends AsyncJobEmulator<FalEmulator> {

	/** What a model answers when the request has no {@code image_size} (docs/providers.md §4.2). */
	enum DefaultSize {
		/** "if absent = size of final input image" (the qwen-image-2 endpoints). */
		LAST_INPUT,
		/** The {@code square_hd} preset, 1024×1024 (qwen-image-edit-plus, issue 18). */
		SQUARE_HD
	}

	static final Map<String, DefaultSize> MODELS = Map.of(
		"fal-ai/qwen-image-2/edit", DefaultSize.LAST_INPUT,
		"fal-ai/qwen-image-2/pro/edit", DefaultSize.LAST_INPUT,
		"fal-ai/qwen-image-edit-plus", DefaultSize.SQUARE_HD,
		// Not documented for these two; the square preset is the common fal default.
		"fal-ai/qwen-image-edit-2511", DefaultSize.SQUARE_HD,
		"fal-ai/qwen-image-max/edit", DefaultSize.SQUARE_HD);

	/** fal's preset names and their sizes (https://docs.fal.ai/documentation/model-apis/model-arguments). */
	private static final Map<String, int[]> PRESETS = Map.of(
		"square_hd", new int[] { 1024, 1024 },
		"square", new int[] { 512, 512 },
		"portrait_4_3", new int[] { 768, 1024 },
		"portrait_16_9", new int[] { 576, 1024 },
		"landscape_4_3", new int[] { 1024, 768 },
		"landscape_16_9", new int[] { 1024, 576 });
	private static final Pattern REQUEST = Pattern.compile("/([^/]+/[^/]+)/requests/([^/]+)(/status/stream|/status|/cancel)?");
	/** "The server sends a comment line every 15 seconds to keep the connection open." */
	private static final Duration KEEP_ALIVE_EVERY = Duration.ofSeconds(15);
	private static final Duration LONGEST_STREAM = Duration.ofMinutes(10);

	/** How the status stream behaves, for tests of the client's fall-back to polling. */
	public enum StatusStream {
		/** Events until COMPLETED, then the stream ends, as fal documents. */
		WORKING,
		/** The endpoint answers 503 without a stream, as a proxy that does not pass streams through might. */
		REFUSED,
		/** The current status, then the stream ends before completion, as when a proxy cuts a long response. */
		CUT
	}

	private final String key;
	private volatile String failureType = "content_policy_violation";
	private volatile StatusStream statusStream = StatusStream.WORKING;
	private volatile Set<Integer> flaggedOutputs = Set.of();
	private final Map<String, String> blankLinks = new java.util.concurrent.ConcurrentHashMap<>();
	/** Upload links handed out by initiate and not yet used, with the file name each stores under. */
	private final Map<String, String> pendingUploads = new java.util.concurrent.ConcurrentHashMap<>();
	/** fal's storage: public to anyone with the link, with no delete. */
	private final Map<String, byte[]> storedFiles = new java.util.concurrent.ConcurrentHashMap<>();
	private final Map<String, String> storedTypes = new java.util.concurrent.ConcurrentHashMap<>();
	private final List<String> askedLifecycles = new java.util.concurrent.CopyOnWriteArrayList<>();
	/** The input every endpoint publishes in its OpenAPI document and enforces on submit. */
	private final EmulatedSchema schema = new EmulatedSchema(defaultSchema());
	static final String SCHEMA_PATH = "/api/openapi/queue/openapi.json";

	public FalEmulator(String key) {
		this.key = key;
		limitRunning(2); // new accounts: 2 concurrent (docs/providers.md §4.1)
	}

	/**
	 * The inputs of the Qwen endpoints together (docs/providers.md §4.2): each endpoint's own document
	 * lists its subset, but one that lists them all accepts whatever the built-in table sends.
	 */
	public static ObjectNode defaultSchema() {
		ObjectNode s = EmulatedSchema.objectSchema();
		EmulatedSchema.field(s, "prompt", "string");
		EmulatedSchema.field(s, "image_urls", "array");
		EmulatedSchema.maximum(EmulatedSchema.field(s, "num_images", "integer"), "num_images", 4);
		// A size object or a preset name, as fal's documents write it.
		ObjectNode size = ((ObjectNode) s.get("properties")).putObject("image_size");
		size.putArray("anyOf").add(JSON.createObjectNode().put("$ref", "#/components/schemas/ImageSize"))
			.add(JSON.createObjectNode().put("type", "string").set("enum", JSON.valueToTree(PRESETS.keySet())));
		EmulatedSchema.field(s, "enable_prompt_expansion", "boolean");
		EmulatedSchema.field(s, "negative_prompt", "string");
		EmulatedSchema.field(s, "seed", "integer");
		EmulatedSchema.field(s, "output_format", "string", "jpeg", "png", "webp");
		EmulatedSchema.field(s, "enable_safety_checker", "boolean");
		return s;
	}

	/** The input schema each endpoint's OpenAPI document holds, enforced on submit. */
	public EmulatedSchema schema() {
		return schema;
	}

	/** The requests for an endpoint's OpenAPI document. */
	public List<RecordedRequest> schemaReads() {
		return requests(SCHEMA_PATH);
	}

	/**
	 * {@code GET https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=<endpoint>}, public: the submit
	 * as the path's {@code post}, its body a reference to the input under {@code components.schemas}, as
	 * fal's documents are written (docs/providers.md §6.2).
	 */
	@Override
	protected Reply published(RecordedRequest request) throws Exception {
		if (!request.path().equals(SCHEMA_PATH) || !request.method().equals("GET")) return null;
		String endpoint = null;
		for (String pair : String.valueOf(request.query()).split("&")) {
			if (pair.startsWith("endpoint_id=")) {
				endpoint = java.net.URLDecoder.decode(pair.substring("endpoint_id=".length()),
					java.nio.charset.StandardCharsets.UTF_8);
			}
		}
		if (endpoint == null || !MODELS.containsKey(endpoint)) {
			return Reply.json(404, Map.of("detail", "Endpoint not found"));
		}
		String model = endpoint;
		return schema.answer(this, input -> {
			String name = "QwenEmulatedInput";
			ObjectNode document = JSON.createObjectNode();
			document.put("openapi", "3.0.4");
			document.putObject("info").put("title", "Queue OpenAPI for " + model);
			ObjectNode paths = document.putObject("paths");
			paths.putObject("/" + appOf(model) + "/requests/{request_id}/status").putObject("get")
				.put("operationId", "getRequestStatus");
			paths.putObject("/" + model).putObject("post").putObject("requestBody").put("required", true)
				.putObject("content").putObject("application/json").putObject("schema")
				.put("$ref", "#/components/schemas/" + name);
			ObjectNode schemas = document.putObject("components").putObject("schemas");
			schemas.set(name, input);
			ObjectNode size = schemas.putObject("ImageSize");
			size.put("type", "object");
			size.putObject("properties").set("width", JSON.createObjectNode().put("type", "integer"));
			((ObjectNode) size.get("properties")).set("height", JSON.createObjectNode().put("type", "integer"));
			return document;
		});
	}

	/** The {@code type} failed jobs report on the result fetch. */
	public FalEmulator failureType(String type) {
		failureType = type;
		return this;
	}

	/**
	 * The safety checker flags these outputs (0-based): the result answers them with a black image in
	 * their place and {@code true} at their index of {@code has_nsfw_concepts} (docs/providers.md §4.3, issue 18).
	 */
	public FalEmulator flagOutputs(Integer... indices) {
		flaggedOutputs = Set.of(indices);
		return this;
	}

	public FalEmulator statusStream(StatusStream behaviour) {
		statusStream = behaviour;
		return this;
	}

	/** Files stored through the upload service. */
	public int storedFileCount() {
		return storedFiles.size();
	}

	/** The {@code X-Fal-Object-Lifecycle} header of each initiate request (null when it had none). */
	public List<String> askedLifecycles() {
		return List.copyOf(askedLifecycles);
	}

	/**
	 * fal's storage as its official client uses it
	 * (https://github.com/fal-ai/fal-js/blob/main/libs/client/src/storage.ts): initiate on the REST
	 * host with the key, then a PUT to the returned upload link, which is signed by itself, then the
	 * file is public at its {@code file_url}. The same server stands for the REST and CDN hosts.
	 */
	private Reply storage(RecordedRequest request, String path) {
		if (path.startsWith("/storage-upload/") && request.method().equals("PUT")) {
			String name = pendingUploads.remove(path.substring("/storage-upload/".length()));
			if (name == null) return Reply.text(403, "application/xml", "<Error><Code>AccessDenied</Code></Error>");
			storedFiles.put(name, request.body());
			String type = request.header("Content-Type");
			storedTypes.put(name, type == null ? "application/octet-stream" : type);
			return Reply.raw(200, "text/plain", new byte[0]);
		}
		if (path.startsWith("/files/") && request.method().equals("GET")) {
			String name = path.substring("/files/".length());
			byte[] stored = storedFiles.get(name);
			return stored == null ? Reply.json(404, Map.of("detail", "Not found")) : Reply.raw(200, storedTypes.get(name), stored);
		}
		if (!("Key " + key).equals(request.header("Authorization"))) {
			return Reply.json(401, Map.of("detail", "Unauthorized: invalid key"));
		}
		if (!request.method().equals("POST")) return Reply.json(405, Map.of("detail", "Method not allowed"));
		JsonNode body = request.json();
		if (body == null || !body.path("content_type").isTextual() || !body.path("file_name").isTextual()) {
			return invalid("content_type", "content_type and file_name are required", "missing");
		}
		askedLifecycles.add(request.header("X-Fal-Object-Lifecycle"));
		String id = java.util.UUID.randomUUID().toString();
		String name = java.util.UUID.randomUUID().toString().replace("-", "") + "/" + body.path("file_name").asText();
		pendingUploads.put(id, name);
		return Reply.json(200, Map.of("upload_url", baseUrl() + "/storage-upload/" + id, "file_url", baseUrl() + "/files/" + name));
	}

	@Override
	protected Reply respond(RecordedRequest request) throws Exception {
		String path = request.path();
		if (path.equals("/storage/upload/initiate") || path.startsWith("/storage-upload/") || path.startsWith("/files/")) {
			return storage(request, path);
		}
		if (!("Key " + key).equals(request.header("Authorization"))) {
			return Reply.json(401, Map.of("detail", "Unauthorized: invalid key"));
		}
		String model = request.path().substring(1);
		if (request.method().equals("POST") && MODELS.containsKey(model)) {
			return submit(request, model);
		}
		Matcher m = REQUEST.matcher(apiPath(request));
		if (!m.matches()) return Reply.json(404, Map.of("detail", "Not found"));
		Job job = job(m.group(2));
		if (job == null) return Reply.json(404, Map.of("detail", "Request not found"));
		String what = m.group(3) == null ? "" : m.group(3);
		switch (what) {
			case "/status":
				return Reply.json(200, status(job, m.group(1)));
			case "/status/stream":
				if (statusStream == StatusStream.REFUSED) {
					return Reply.json(503, Map.of("detail", "Service Unavailable"));
				}
				return statusEvents(job, m.group(1), statusStream == StatusStream.CUT);
			case "/cancel":
				if (!request.method().equals("PUT")) return Reply.json(405, Map.of("detail", "Method not allowed"));
				if (job.phase() != Phase.QUEUED) return Reply.json(400, Map.of("status", "ALREADY_COMPLETED"));
				cancel(job);
				return Reply.json(202, Map.of("status", "CANCELLATION_REQUESTED"));
			default:
				return result(job);
		}
	}

	private Reply submit(RecordedRequest request, String model) {
		JsonNode body = request.json();
		if (body == null) return invalid("body", "Invalid JSON", "json_invalid");
		if (!body.path("prompt").isTextual() || body.path("prompt").asText().isBlank()) {
			return invalid("prompt", "Field required", "missing");
		}
		JsonNode urls = body.path("image_urls");
		if (!urls.isArray() || urls.size() < 1 || urls.size() > 3) {
			return invalid("image_urls", "Provide 1 to 3 image URLs", "value_error");
		}
		int n = body.path("num_images").asInt(1);
		if (n < 1 || n > 4) return invalid("num_images", "Input should be between 1 and 4", "less_than_equal");
		JsonNode size = body.path("image_size");
		int width = size.path("width").asInt(0);
		int height = size.path("height").asInt(0);
		if (size.isTextual()) {
			int[] preset = PRESETS.get(size.asText());
			if (preset == null) return invalid("image_size", "Input should be one of " + PRESETS.keySet(), "enum");
			width = preset[0];
			height = preset[1];
		}
		else if (!size.isMissingNode() && (width < 1 || height < 1)) {
			return invalid("image_size", "width and height are required", "value_error");
		}
		else if (size.isMissingNode() && MODELS.get(model) == DefaultSize.SQUARE_HD) {
			width = PRESETS.get("square_hd")[0];
			height = PRESETS.get("square_hd")[1];
		}
		if (body.has("output_format") && !Set.of("png", "jpeg", "webp").contains(body.path("output_format").asText())) {
			return invalid("output_format", "Input should be 'jpeg', 'png' or 'webp'", "enum");
		}
		String unlisted = schema.problem(body);
		if (unlisted != null) return invalid("body", unlisted, "extra_forbidden");
		List<String> links = new ArrayList<>();
		urls.forEach(u -> links.add(u.asText()));
		Job job = submit(request, links, n, width, height);
		String app = appOf(model);
		String requestBase = jobLink("/" + app + "/requests/" + job.id);
		Map<String, Object> answer = new LinkedHashMap<>();
		answer.put("request_id", job.id);
		answer.put("response_url", requestBase);
		answer.put("status_url", requestBase + "/status");
		answer.put("cancel_url", requestBase + "/cancel");
		answer.put("status", "IN_QUEUE");
		answer.put("queue_position", queuePosition(job));
		return Reply.json(200, answer);
	}

	/** "The subpath ... should be used when making the request, but not when getting status or results." */
	static String appOf(String model) {
		String[] parts = model.split("/");
		return parts[0] + "/" + parts[1];
	}

	private ObjectNode status(Job job, String app) {
		ObjectNode o = JSON.createObjectNode();
		switch (job.phase()) {
			case QUEUED:
				o.put("status", "IN_QUEUE");
				o.put("queue_position", queuePosition(job));
				break;
			case PROCESSING:
				o.put("status", "IN_PROGRESS");
				break;
			case UNKNOWN:
				o.put("status", "SOMETHING_ELSE");
				break;
			default:
				o.put("status", "COMPLETED");
				o.putObject("metrics").put("inference_time", currentProcessingDelay().toMillis() / 1000.0);
		}
		o.put("response_url", jobLink("/" + app + "/requests/" + job.id));
		o.putNull("logs");
		return o;
	}

	/**
	 * The status stream (https://fal.ai/docs/inference-api/queue/status-stream): "Each event has a data:
	 * line with a status object" like the status answer's; one at once, one at each change, a comment line
	 * every 15 s, and "the server closes the stream after it sends the COMPLETED event".
	 */
	private Reply statusEvents(Job job, String app, boolean cutEarly) {
		return Reply.streamed(200, "text/event-stream", out -> {
			String last = null;
			long lastWrite = System.nanoTime();
			long until = System.nanoTime() + LONGEST_STREAM.toNanos();
			while (System.nanoTime() < until) {
				boolean complete = job.isFinal();
				String event = JSON.writeValueAsString(status(job, app));
				if (!event.equals(last)) {
					write(out, "data: " + event + "\n\n");
					last = event;
					lastWrite = System.nanoTime();
				}
				else if (System.nanoTime() - lastWrite > KEEP_ALIVE_EVERY.toNanos()) {
					write(out, ": keep-alive\n\n");
					lastWrite = System.nanoTime();
				}
				// Read before the event was built, so the event sent last already showed the final status.
				if (complete || cutEarly) return;
				// Completion wakes the stream at once; queue moves are seen within 10 ms.
				awaitFinal(job, Duration.ofMillis(10));
			}
		});
	}

	private static void write(java.io.OutputStream out, String text) throws java.io.IOException {
		out.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
		out.flush();
	}

	private Reply result(Job job) {
		switch (job.phase()) {
			case QUEUED:
			case PROCESSING:
				return Reply.json(400, Map.of("detail", "Request is still in progress"));
			case SUCCEEDED: {
				ObjectNode o = JSON.createObjectNode();
				var images = o.putArray("images");
				var flags = o.putArray("has_nsfw_concepts");
				List<String> links = job.outputLinks();
				for (int i = 0; i < links.size(); i++) {
					boolean flagged = flaggedOutputs.contains(i);
					ObjectNode image = images.addObject();
					image.put("url", flagged ? blankLink(job.id + "/" + i) : links.get(i));
					image.put("content_type", "image/png");
					flags.add(flagged);
				}
				o.put("seed", 1234567);
				return Reply.json(200, o);
			}
			case CANCELLED:
				return Reply.json(400, Map.of("detail", "Request was cancelled", "error_type", "request_cancelled"));
			default:
				String message = job.message() == null ? "The request failed" : job.message();
				if (failureType.endsWith("_error") && !failureType.startsWith("value")) {
					// An infrastructure failure: a text detail with its type (https://docs.fal.ai/errors).
					return Reply.json(500, Map.of("detail", message, "error_type", failureType))
						.withHeaders(Map.of("X-Fal-Retryable", "true", "X-Fal-Error-Type", failureType));
				}
				return invalid("body", message, failureType).withHeaders(Map.of("X-Fal-Retryable", "false"));
		}
	}

	/** A black image, as the safety checker puts in a flagged output's place; one link per output. */
	private String blankLink(String output) {
		return blankLinks.computeIfAbsent(output, o -> {
			java.awt.image.BufferedImage black = new java.awt.image.BufferedImage(64, 64,
				java.awt.image.BufferedImage.TYPE_INT_RGB);
			java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
			try {
				javax.imageio.ImageIO.write(black, "png", png);
			}
			catch (java.io.IOException e) {
				throw new java.io.UncheckedIOException(e);
			}
			return publishPng(png.toByteArray());
		});
	}

	private static Reply invalid(String field, String message, String type) {
		return Reply.json(422, Map.of("detail", List.of(Map.of("loc", List.of("body", field), "msg", message, "type", type,
			"url", "https://docs.fal.ai/errors/#" + type))));
	}
}
