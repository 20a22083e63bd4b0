package io.github.qwenedit.emulator;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * each::labs' prediction API (docs/providers.md §2): create answers at once with a prediction id; the job
 * downloads its inputs, runs for the processing delay and turns {@code success} with links to
 * {@link FakeEdit} PNGs. Enforces the key ({@code X-API-Key}), the request shape, 10 predictions in
 * flight and 100 creates a minute per key (429 beyond), and offers the presigned upload service.
 */
public final class EachLabsEmulator extends AsyncJobEmulator<EachLabsEmulator> {

	public static final String MODEL = "alibaba-qwen-image-2-0-image-edit";
	/** The Pro slug, same input (issue 18). */
	public static final String PRO_MODEL = "alibaba-qwen-image-2-0-pro-image-edit";
	public static final int MAX_CONCURRENT = 10;
	public static final int MAX_CREATES_PER_MINUTE = 100;
	private static final Pattern SIZE = Pattern.compile("(\\d{1,5})\\*(\\d{1,5})");
	private static final Pattern PREDICTION = Pattern.compile("/v1/prediction/([^/]+)(/cancel)?");

	private final String apiKey;
	private final Deque<Instant> recentCreates = new ArrayDeque<>();
	private volatile int createsPerWindow = MAX_CREATES_PER_MINUTE;
	private volatile Duration createWindow = Duration.ofMinutes(1);
	private final java.util.concurrent.atomic.AtomicInteger refusedCreates = new java.util.concurrent.atomic.AtomicInteger();
	private final Map<String, byte[]> uploads = new ConcurrentHashMap<>();
	private final Map<String, String> pendingUploads = new ConcurrentHashMap<>();
	private volatile String unknownStatus = "exploded";
	private volatile String failureWord = "error";
	private volatile String failureField = "logs";
	private volatile boolean singleLinkOutput;
	private final List<Long> askedRetentions = new java.util.concurrent.CopyOnWriteArrayList<>();

	/**
	 * The fields the only public client sends (docs/providers.md §2.3): prompt, image_urls, n, size,
	 * prompt_extend. No negative_prompt, seed or watermark, which the real service may refuse.
	 */
	private final EmulatedSchema schema = new EmulatedSchema(defaultSchema());

	public EachLabsEmulator(String apiKey) {
		this.apiKey = apiKey;
	}

	public static com.fasterxml.jackson.databind.node.ObjectNode defaultSchema() {
		var s = EmulatedSchema.objectSchema();
		EmulatedSchema.field(s, "prompt", "string");
		EmulatedSchema.field(s, "image_urls", "array");
		EmulatedSchema.field(s, "n", "integer");
		EmulatedSchema.field(s, "size", "string");
		EmulatedSchema.field(s, "prompt_extend", "boolean");
		return s;
	}

	/** The {@code request_schema} served at {@code GET /v1/model?slug=...} and enforced on create. */
	public EmulatedSchema schema() {
		return schema;
	}

	/** How many times the model's schema was asked for. */
	public int schemaReads() {
		return requestCount("/v1/model");
	}

	/** {@code GET /v1/model?slug=...} (https://docs.eachlabs.ai/api/models/get-model). */
	@Override
	protected Reply published(RecordedRequest request) throws Exception {
		if (!request.path().equals("/v1/model") || !request.method().equals("GET")) return null;
		String query = request.query() == null ? "" : request.query();
		String slug = query.startsWith("slug=") ? query.substring("slug=".length()) : "";
		if (slug.isEmpty()) return error(400, "slug parameter is required");
		if (!slug.equals(MODEL) && !slug.equals(PRO_MODEL)) return error(404, "Failed to fetch model: model not found");
		return schema.answer(this, requestSchema -> {
			ObjectNode model = JSON.createObjectNode();
			model.put("title", "Qwen Image 2.0 Image Edit");
			model.put("slug", slug);
			model.put("version", "0.0.1");
			model.put("output_type", "array");
			model.set("request_schema", requestSchema);
			return model;
		});
	}

	/** The word jobs ending in {@link Phase#UNKNOWN} report as their status. */
	public EachLabsEmulator unknownStatusWord(String word) {
		unknownStatus = word;
		return this;
	}

	/**
	 * How failed jobs spell their status: {@code error} (the model's page, the default) or
	 * {@code failed} (the API reference), docs/providers.md §2.4.
	 */
	public EachLabsEmulator failureWord(String word) {
		failureWord = word;
		return this;
	}

	/** Where failed jobs explain themselves: {@code logs} (the default), {@code message} or {@code details}. */
	public EachLabsEmulator failureExplainedIn(String field) {
		failureField = field;
		return this;
	}

	/** {@code output} is one link instead of an array, as some models and clients have it (docs/providers.md §2.4). */
	public EachLabsEmulator singleLinkOutput() {
		singleLinkOutput = true;
		return this;
	}

	/**
	 * At most {@code creates} new predictions in any {@code window} (100 a minute by default), so
	 * that a test can see the limit at work without waiting a real minute.
	 */
	public EachLabsEmulator createLimit(int creates, Duration window) {
		createsPerWindow = creates;
		createWindow = window;
		return this;
	}

	/** How many creates were refused with 429 for going over the limits. */
	public int refusedCreates() {
		return refusedCreates.get();
	}

	/** The {@code expires_in_seconds} each presign request asked for (-1 when it asked for none). */
	public List<Long> askedRetentions() {
		return List.copyOf(askedRetentions);
	}

	public int uploadCount() {
		return uploads.size();
	}

	@Override
	protected Reply respond(RecordedRequest request) throws Exception {
		String path = apiPath(request);
		if (path.startsWith("/cdn/")) {
			byte[] stored = uploads.get(path.substring("/cdn/".length()));
			return stored == null ? error(404, "File not found") : Reply.raw(200, "image/png", stored);
		}
		if (path.startsWith("/upload-target/") && request.method().equals("PUT")) {
			return receiveUpload(request, path.substring("/upload-target/".length()));
		}
		if (!apiKey.equals(request.header("X-API-Key"))) {
			return error(401, "Invalid or missing API key");
		}
		if (path.equals("/v1/upload/presign") && request.method().equals("POST")) {
			return presign(request);
		}
		if ((path.equals("/v1/prediction/") || path.equals("/v1/prediction")) && request.method().equals("POST")) {
			return create(request);
		}
		Matcher m = PREDICTION.matcher(path);
		if (m.matches()) {
			Job job = job(m.group(1));
			if (job == null) return error(404, "Prediction not found");
			if (m.group(2) != null) {
				cancel(job);
				return Reply.json(200, Map.of("status", "success", "message", "Prediction cancelled"));
			}
			return Reply.json(200, describe(job));
		}
		return error(404, "Not found");
	}

	private Reply create(RecordedRequest request) {
		JsonNode body = request.json();
		if (body == null) return error(400, "Invalid JSON body");
		if (!body.hasNonNull("model")) return error(400, "model field is required");
		JsonNode input = body.path("input");
		String problem = validate(body.path("model").asText(), input);
		if (problem == null && input.isObject()) {
			String unlisted = schema.problem(input);
			if (unlisted != null) problem = "Invalid input for model: " + unlisted;
		}
		if (problem != null) return error(400, problem);
		int width = 0;
		int height = 0;
		Matcher size = SIZE.matcher(input.path("size").asText(""));
		if (size.matches()) {
			width = Integer.parseInt(size.group(1));
			height = Integer.parseInt(size.group(2));
		}
		List<String> links = new ArrayList<>();
		input.path("image_urls").forEach(u -> links.add(u.asText()));
		Job job;
		synchronized (recentCreates) {
			Instant now = Instant.now();
			Duration window = createWindow;
			while (!recentCreates.isEmpty() && !recentCreates.peekFirst().isAfter(now.minus(window))) {
				recentCreates.removeFirst();
			}
			if (recentCreates.size() >= createsPerWindow) {
				refusedCreates.incrementAndGet();
				return error(429, "Rate limit exceeded: " + createsPerWindow + " predictions per " + window.toSeconds() +
					" s").withHeaders(Map.of("Retry-After", String.valueOf(Math.max(1, window.toSeconds()))));
			}
			if (inFlight() >= MAX_CONCURRENT) {
				refusedCreates.incrementAndGet();
				return error(429, "Too many concurrent predictions: at most " + MAX_CONCURRENT);
			}
			recentCreates.addLast(now);
			job = submit(request, links, input.path("n").asInt(1), width, height);
		}
		return answerCreate(Reply.json(200, Map.of("status", "success", "message", "Prediction created successfully",
			"predictionID", job.id)));
	}

	/** DashScope-style inputs (docs/providers.md §2.3): prompt, 1–3 image_urls, n, size W*H. */
	private static String validate(String model, JsonNode input) {
		if (!model.equals(MODEL) && !model.equals(PRO_MODEL)) return "Invalid input for model";
		if (!input.path("prompt").isTextual() || input.path("prompt").asText().isBlank()) return "Invalid input for model: prompt is required";
		JsonNode urls = input.path("image_urls");
		if (!urls.isArray() || urls.size() < 1 || urls.size() > 3) return "Invalid input for model: image_urls must hold 1 to 3 links";
		int n = input.path("n").asInt(1);
		if (n < 1 || n > 6) return "Invalid input for model: n must be between 1 and 6";
		if (input.has("size")) {
			Matcher m = SIZE.matcher(input.path("size").asText());
			if (!m.matches()) return "Invalid input for model: size must be width*height";
			long pixels = Long.parseLong(m.group(1)) * Long.parseLong(m.group(2));
			if (pixels < 512L * 512 || pixels > 2048L * 2048) return "Invalid input for model: size out of range";
		}
		return null;
	}

	/** The status words of docs/providers.md §2.4; a failure uses "error", as the per-model page does. */
	private String status(Job job) {
		switch (job.phase()) {
			case QUEUED:
				return "starting";
			case PROCESSING:
				return "processing";
			case SUCCEEDED:
				return "success";
			case CANCELLED:
				return "cancelled";
			case UNKNOWN:
				return unknownStatus;
			default:
				return failureWord;
		}
	}

	private ObjectNode describe(Job job) {
		ObjectNode o = JSON.createObjectNode();
		o.put("id", job.id);
		o.set("input", job.request.json().path("input"));
		o.put("status", status(job));
		if (job.phase() == Phase.SUCCEEDED) {
			if (singleLinkOutput) {
				o.put("output", job.outputLinks().get(0));
			}
			else {
				ArrayNode out = o.putArray("output");
				job.outputLinks().forEach(out::add);
			}
			ObjectNode metrics = o.putObject("metrics");
			metrics.put("predict_time", currentProcessingDelay().toMillis() / 1000.0);
			metrics.put("cost", 0.035 * job.outputLinks().size());
		}
		else {
			o.putNull("output");
		}
		o.putNull("logs");
		if (job.message() != null) o.put(job.phase() == Phase.FAILED ? failureField : "logs", job.message());
		ObjectNode urls = o.putObject("urls");
		urls.put("get", jobLink("/v1/prediction/" + job.id));
		urls.put("cancel", jobLink("/v1/prediction/" + job.id + "/cancel"));
		return o;
	}

	private Reply presign(RecordedRequest request) {
		JsonNode body = request.json();
		if (body == null || !body.path("content_type").asText("").startsWith("image/")) {
			return error(400, "content_type must be an image type");
		}
		long retention = body.path("expires_in_seconds").asLong(-1);
		if (body.has("expires_in_seconds") && (retention < 60 || retention > 31_536_000)) {
			return error(400, "expires_in_seconds must be between 60 and 31536000");
		}
		askedRetentions.add(retention);
		String id = UUID.randomUUID().toString();
		String name = UUID.randomUUID() + ".png";
		pendingUploads.put(id, name);
		Map<String, Object> answer = new LinkedHashMap<>();
		answer.put("id", id);
		answer.put("presigned_url", baseUrl() + "/upload-target/" + id);
		answer.put("public_url", baseUrl() + "/cdn/" + name);
		answer.put("expires_at", Instant.now().plus(Duration.ofMinutes(15)).toString());
		answer.put("required_headers", Map.of("x-amz-meta-file-id", id));
		return Reply.json(200, answer);
	}

	private Reply receiveUpload(RecordedRequest request, String id) {
		String name = pendingUploads.remove(id);
		if (name == null || !id.equals(request.header("x-amz-meta-file-id"))) {
			return Reply.text(403, "application/xml", "<Error><Code>AccessDenied</Code></Error>");
		}
		uploads.put(name, request.body());
		return Reply.raw(200, "text/plain", new byte[0]);
	}

	private static Reply error(int status, String message) {
		return Reply.json(status, Map.of("error", message));
	}

}
