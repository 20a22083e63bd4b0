package io.github.qwenedit.emulator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Replicate's predictions API for the official Qwen models (docs/providers.md §5): create with
 * {@code Prefer: wait[=N]} blocks until the prediction is final or N seconds pass, then answers the
 * prediction as it stands; {@code urls.get} and {@code urls.cancel} follow it. Input validation
 * answers 422 problem details with {@code invalid_fields}.
 */
public final class ReplicateEmulator extends AsyncJobEmulator<ReplicateEmulator> {

	private static final Pattern CREATE = Pattern.compile("/v1/models/qwen/([^/]+)/predictions");
	private static final Pattern PREDICTION = Pattern.compile("/v1/predictions/([^/]+)(/cancel)?");
	private static final Pattern PREFER_WAIT = Pattern.compile("wait(?:=(\\d+))?");
	private static final Set<String> MODELS = Set.of("qwen-image-edit-plus", "qwen-image-edit", "qwen-image-edit-2511");
	private static final Set<String> ASPECT_RATIOS = Set.of("1:1", "16:9", "9:16", "4:3", "3:4", "match_input_image");
	/** Large data URLs get "413 Request Entity Too Large" (replicate-python#68). */
	private static final long MAX_BODY_BYTES = 10L * 1024 * 1024;

	private static final Pattern FILE = Pattern.compile("/v1/files/([a-z0-9]+)");
	/** "Files expire after 24 hours" (https://replicate.com/docs/topics/predictions/input-files). */
	static final Duration FILE_LIFETIME = Duration.ofHours(24);

	/** One upload to the Files API, with the token that made it: only that owner's predictions read it. */
	record StoredFile(String id, String owner, String name, String contentType, byte[] bytes, java.time.Instant createdAt) {}

	private final String token;
	private final Set<String> tokens = java.util.concurrent.ConcurrentHashMap.newKeySet();
	private final Map<String, StoredFile> files = new java.util.concurrent.ConcurrentHashMap<>();
	private final java.util.concurrent.atomic.AtomicInteger filesCreated = new java.util.concurrent.atomic.AtomicInteger();
	private volatile Duration longestWait = Duration.ofSeconds(60);

	private static final Pattern MODEL = Pattern.compile("/v1/models/qwen/([^/]+)");
	/** The inputs of qwen/qwen-image-edit-plus's page (docs/providers.md §5.2), enforced on create. */
	private final EmulatedSchema schema = new EmulatedSchema(defaultSchema());

	public ReplicateEmulator(String token) {
		this.token = token;
		tokens.add(token);
	}

	/** Another account's token is accepted too, for tests of who may read whose files. */
	public ReplicateEmulator alsoAccept(String otherToken) {
		tokens.add(otherToken);
		return this;
	}

	/** Files uploaded and not deleted, of every account. */
	public int filesLeft() {
		return files.size();
	}

	/** Files uploaded since the start, deleted or not. */
	public int filesCreated() {
		return filesCreated.get();
	}

	public static com.fasterxml.jackson.databind.node.ObjectNode defaultSchema() {
		var s = EmulatedSchema.objectSchema();
		EmulatedSchema.field(s, "prompt", "string");
		EmulatedSchema.field(s, "image", "array");
		EmulatedSchema.field(s, "aspect_ratio", "string", "1:1", "16:9", "9:16", "4:3", "3:4", "match_input_image");
		EmulatedSchema.field(s, "seed", "integer");
		EmulatedSchema.field(s, "output_format", "string", "webp", "jpg", "png");
		EmulatedSchema.field(s, "output_quality", "integer");
		EmulatedSchema.field(s, "go_fast", "boolean");
		EmulatedSchema.field(s, "disable_safety_checker", "boolean");
		return s;
	}

	/** The input schema served in {@code latest_version.openapi_schema} and enforced on create. */
	public EmulatedSchema schema() {
		return schema;
	}

	public int schemaReads(String model) {
		return requestCount("/v1/models/qwen/" + model);
	}

	/**
	 * {@code GET /v1/models/qwen/{name}} (https://replicate.com/docs/reference/http#models.get), its
	 * schema written as Cog writes it: each enum a component that the field refers to with {@code allOf}.
	 */
	@Override
	protected Reply published(RecordedRequest request) throws Exception {
		Matcher m = MODEL.matcher(request.path());
		if (!m.matches() || !request.method().equals("GET")) return null;
		if (!("Bearer " + token).equals(request.header("Authorization"))) {
			return problem(401, "Unauthenticated", "You did not pass a valid authentication token", null);
		}
		if (!MODELS.contains(m.group(1))) return problem(404, "Not found", "Model not found: qwen/" + m.group(1), null);
		return schema.answer(this, input -> {
			ObjectNode schemas = JSON.createObjectNode();
			input.path("properties").fields().forEachRemaining(field -> {
				if (!field.getValue().has("enum")) return;
				ObjectNode component = schemas.putObject(field.getKey());
				component.put("type", "string");
				component.set("enum", ((ObjectNode) field.getValue()).remove("enum"));
				((ObjectNode) field.getValue()).putArray("allOf").addObject().put("$ref",
					"#/components/schemas/" + field.getKey());
			});
			((ObjectNode) input).put("title", "Input");
			schemas.set("Input", input);
			ObjectNode model = JSON.createObjectNode();
			model.put("owner", "qwen");
			model.put("name", m.group(1));
			ObjectNode version = model.putObject("latest_version");
			version.put("id", "5b1e7c0d9a");
			version.putObject("openapi_schema").put("openapi", "3.0.2").putObject("components").set("schemas", schemas);
			return model;
		});
	}

	/** Blocks a {@code Prefer: wait} create at most this long, so tests reach the polling path quickly. */
	public ReplicateEmulator longestWait(Duration wait) {
		longestWait = wait;
		return this;
	}

	@Override
	protected Reply respond(RecordedRequest request) throws Exception {
		String auth = request.header("Authorization");
		String caller = auth != null && auth.startsWith("Bearer ") ? auth.substring("Bearer ".length()) : null;
		if (caller == null || !tokens.contains(caller)) {
			return problem(401, "Unauthenticated", "You did not pass a valid authentication token", null);
		}
		if (request.path().equals("/v1/files") || FILE.matcher(request.path()).matches()) {
			return files(request, caller);
		}
		Matcher create = CREATE.matcher(request.path());
		if (create.matches() && request.method().equals("POST")) {
			return create(request, create.group(1));
		}
		Matcher m = PREDICTION.matcher(request.path());
		if (!m.matches()) return problem(404, "Not found", "Not found", null);
		Job job = job(m.group(1));
		if (job == null) return problem(404, "Not found", "Prediction not found", null);
		if (m.group(2) != null) {
			cancel(job);
			return Reply.json(200, describe(job));
		}
		return Reply.json(200, describe(job));
	}

	private Reply create(RecordedRequest request, String model) throws InterruptedException {
		if (request.bodyLength() > MAX_BODY_BYTES) return Reply.text(413, "text/html", "<h1>413 Request Entity Too Large</h1>");
		if (!MODELS.contains(model)) return problem(404, "Not found", "Model not found: qwen/" + model, null);
		JsonNode input = request.json() == null ? null : request.json().path("input");
		if (input == null || !input.isObject()) return invalid("input", "input is required");
		if (!input.path("prompt").isTextual() || input.path("prompt").asText().isBlank()) {
			return invalid("input.prompt", "prompt is required");
		}
		String unlisted = schema.problem(input);
		if (unlisted != null) return invalid("input", unlisted);
		List<String> links = new ArrayList<>();
		JsonNode image = input.path("image");
		if (model.equals("qwen-image-edit")) {
			if (!image.isTextual()) return invalid("input.image", "Invalid type. Expected: string, given: " + image.getNodeType());
			links.add(image.asText());
		}
		else {
			if (!image.isArray() || image.size() == 0) return invalid("input.image", "Invalid type. Expected: array");
			image.forEach(i -> links.add(i.asText()));
		}
		String ratio = input.path("aspect_ratio").asText("match_input_image");
		if (!ASPECT_RATIOS.contains(ratio)) {
			return invalid("input.aspect_ratio", "aspect_ratio must be one of the following: " + ASPECT_RATIOS);
		}
		String format = input.path("output_format").asText("webp");
		if (!Set.of("webp", "jpg", "png").contains(format)) {
			return invalid("input.output_format", "output_format must be one of the following: \"webp\", \"jpg\", \"png\"");
		}
		int width = 0;
		int height = 0;
		if (!ratio.equals("match_input_image")) {
			String[] parts = ratio.split(":");
			int w = Integer.parseInt(parts[0]);
			int h = Integer.parseInt(parts[1]);
			width = w >= h ? 1024 : 1024 * w / h;
			height = h >= w ? 1024 : 1024 * h / w;
		}
		Job job = submit(request, links, 1, width, height);
		String prefer = request.header("Prefer");
		if (prefer != null) {
			Matcher wait = PREFER_WAIT.matcher(prefer.trim());
			if (wait.matches()) {
				int seconds = wait.group(1) == null ? 60 : Math.min(60, Integer.parseInt(wait.group(1)));
				Duration asked = Duration.ofSeconds(seconds);
				awaitFinal(job, asked.compareTo(longestWait) < 0 ? asked : longestWait);
			}
		}
		return answerCreate(Reply.json(201, describe(job)));
	}

	/**
	 * The Files API (https://github.com/replicate/replicate-python/blob/main/replicate/file.py): create
	 * (multipart, field {@code content}), list, get and delete, each seeing only the caller's files.
	 */
	private Reply files(RecordedRequest request, String caller) {
		Matcher one = FILE.matcher(request.path());
		if (!one.matches()) {
			if (request.method().equals("POST")) return createFile(request, caller);
			if (!request.method().equals("GET")) return problem(405, "Method not allowed", "Method not allowed", null);
			ObjectNode list = JSON.createObjectNode();
			var results = list.putArray("results");
			files.values().stream().filter(f -> f.owner().equals(caller)).forEach(f -> results.add(describe(f)));
			list.putNull("next");
			list.putNull("previous");
			return Reply.json(200, list);
		}
		StoredFile file = files.get(one.group(1));
		if (file == null || !file.owner().equals(caller)) return problem(404, "Not found", "File not found", null);
		switch (request.method()) {
			case "GET":
				return Reply.json(200, describe(file));
			case "DELETE":
				files.remove(file.id());
				return Reply.raw(204, "text/plain", new byte[0]);
			default:
				return problem(405, "Method not allowed", "Method not allowed", null);
		}
	}

	private Reply createFile(RecordedRequest request, String caller) {
		String type = request.header("Content-Type");
		Matcher boundary = type == null ? null : Pattern.compile("boundary=\"?([^\";]+)\"?").matcher(type);
		if (type == null || !type.startsWith("multipart/form-data") || !boundary.find()) {
			return problem(415, "Unsupported media type", "Expected multipart/form-data", null);
		}
		Map<String, String> headers = new java.util.HashMap<>();
		byte[] content = multipartPart(request.body(), boundary.group(1), "content", headers);
		if (content == null) return invalid("content", "content is required");
		String disposition = headers.getOrDefault("content-disposition", "");
		Matcher name = Pattern.compile("filename=\"([^\"]*)\"").matcher(disposition);
		String id = java.util.UUID.randomUUID().toString().replace("-", "").substring(0, 26);
		StoredFile file = new StoredFile(id, caller, name.find() ? name.group(1) : "file",
			headers.getOrDefault("content-type", "application/octet-stream"), content, java.time.Instant.now());
		files.put(id, file);
		filesCreated.incrementAndGet();
		return Reply.json(201, describe(file));
	}

	private ObjectNode describe(StoredFile file) {
		ObjectNode o = JSON.createObjectNode();
		o.put("id", file.id());
		o.put("name", file.name());
		o.put("content_type", file.contentType());
		o.put("size", file.bytes().length);
		o.put("etag", Integer.toHexString(java.util.Arrays.hashCode(file.bytes())));
		o.putObject("checksums");
		o.putObject("metadata");
		o.put("created_at", file.createdAt().toString());
		o.put("expires_at", file.createdAt().plus(FILE_LIFETIME).toString());
		o.putObject("urls").put("get", baseUrl() + "/v1/files/" + file.id());
		return o;
	}

	/**
	 * A file link is read by Replicate itself, with the rights of the prediction's owner: another
	 * account's file, a deleted or expired one, is a failed download as for any unreachable input.
	 */
	@Override
	protected FetchedImage fetchInput(Job job, String link, long maxBytes) throws ImageFetchException {
		String prefix = baseUrl() + "/v1/files/";
		if (!link.startsWith(prefix)) return fetchImage(link, maxBytes);
		StoredFile file = files.get(link.substring(prefix.length()));
		String owner = job.request.header("Authorization");
		if (file == null || !("Bearer " + file.owner()).equals(owner) ||
			file.createdAt().plus(FILE_LIFETIME).isBefore(java.time.Instant.now()))
		{
			throw new ImageFetchException(ImageFetchException.Reason.UNREACHABLE, "HTTP 404");
		}
		return decode(link, file.contentType(), file.bytes(), maxBytes);
	}

	private static String status(Job job) {
		switch (job.phase()) {
			case QUEUED:
				return "starting";
			case PROCESSING:
				return "processing";
			case SUCCEEDED:
				return "succeeded";
			case CANCELLED:
				return "canceled";
			case UNKNOWN:
				return "mystery";
			default:
				return "failed";
		}
	}

	private ObjectNode describe(Job job) {
		ObjectNode o = JSON.createObjectNode();
		o.put("id", job.id);
		o.put("model", "qwen/" + job.request.path().split("/")[4]);
		o.set("input", job.request.json().path("input"));
		o.put("status", status(job));
		if (job.phase() == Phase.SUCCEEDED) {
			var out = o.putArray("output");
			job.outputLinks().forEach(out::add);
			o.putObject("metrics").put("predict_time", currentProcessingDelay().toMillis() / 1000.0);
		}
		else {
			o.putNull("output");
		}
		if (job.phase() == Phase.FAILED) o.put("error", job.message());
		else o.putNull("error");
		ObjectNode urls = o.putObject("urls");
		urls.put("get", baseUrl() + "/v1/predictions/" + job.id);
		urls.put("cancel", baseUrl() + "/v1/predictions/" + job.id + "/cancel");
		return o;
	}

	private static Reply invalid(String field, String description) {
		return problem(422, "Input validation failed", "- " + field + ": " + description + "\n",
			List.of(Map.of("type", "invalid", "field", field, "description", description)));
	}

	private static Reply problem(int status, String title, String detail, List<Map<String, String>> invalidFields) {
		Map<String, Object> body = new java.util.LinkedHashMap<>();
		body.put("title", title);
		body.put("detail", detail);
		body.put("status", status);
		if (invalidFields != null) body.put("invalid_fields", invalidFields);
		return Reply.json(status, body);
	}
}
