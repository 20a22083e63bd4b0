package io.github.qwenedit.emulator;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * PixelDojo's job API for qwen-image-2-edit (docs/providers.md §3): a 202 with {@code jobId} and
 * {@code statusUrl}, then {@code pending} → {@code processing} → {@code completed} with
 * {@code output.images}. The request schema has {@code additionalProperties: false}, so unknown
 * fields are refused; each image costs one credit from a balance the test sets.
 */
public final class PixelDojoEmulator extends AsyncJobEmulator<PixelDojoEmulator> {

	public static final String RUN_PATH = "/api/v1/models/qwen-image-2-edit/run";
	private static final Pattern JOB = Pattern.compile("/api/v1/jobs/([^/]+)");
	private static final Pattern SIZE = Pattern.compile("(\\d{1,5})\\*(\\d{1,5})");
	private static final Set<String> FIELDS = Set.of("prompt", "image", "model", "size", "n", "negative_prompt",
		"prompt_extend", "watermark", "seed", "webhook_url");
	private static final Set<String> MODELS = Set.of("qwen-image-2.0", "qwen-image-2.0-pro");

	private final String apiKey;
	private final AtomicInteger credits = new AtomicInteger(100);
	private volatile int creditStatus = 402;
	private volatile String failureWord = "failed";
	private volatile int rateLimit = 60;
	private volatile Duration rateWindow = Duration.ofMinutes(1);
	private final Deque<Instant> recentRequests = new ArrayDeque<>();
	private final AtomicInteger rateLimited = new AtomicInteger();

	public static final String SCHEMA_PATH = "/api/v1/models/qwen-image-2-edit/schema";
	/**
	 * The page's parameter table (docs/providers.md §3.2); the page prints no values for {@code size}, so
	 * this list is the emulator's own choice, which tests replace to see the plugin follow the schema.
	 */
	private final EmulatedSchema schema = new EmulatedSchema(defaultSchema());
	private volatile boolean singleImageOutput;

	public PixelDojoEmulator(String apiKey) {
		this.apiKey = apiKey;
	}

	public static ObjectNode defaultSchema() {
		ObjectNode s = EmulatedSchema.objectSchema();
		EmulatedSchema.field(s, "prompt", "string");
		EmulatedSchema.field(s, "image", "array");
		EmulatedSchema.field(s, "model", "string", "qwen-image-2.0", "qwen-image-2.0-pro");
		EmulatedSchema.field(s, "size", "string", "1024*1024", "1024*768", "768*1024", "1280*720", "720*1280",
			"1536*1024", "1024*1536");
		EmulatedSchema.field(s, "n", "integer");
		EmulatedSchema.field(s, "negative_prompt", "string");
		EmulatedSchema.field(s, "prompt_extend", "boolean");
		EmulatedSchema.field(s, "watermark", "boolean");
		EmulatedSchema.field(s, "seed", "integer");
		EmulatedSchema.field(s, "webhook_url", "string");
		return s;
	}

	/** The schema served at {@link #SCHEMA_PATH} and enforced on run. */
	public EmulatedSchema schema() {
		return schema;
	}

	public int schemaReads() {
		return requestCount(SCHEMA_PATH);
	}

	/** Finished jobs give their one image as {@code output.image} (a string), as issue 18 reports. */
	public PixelDojoEmulator singleImageOutput() {
		singleImageOutput = true;
		return this;
	}

	/** {@code GET /api/v1/models/{apiId}/schema}: the JSON Schema itself (https://pixeldojo.ai/api-docs). */
	@Override
	protected Reply published(RecordedRequest request) throws Exception {
		if (!request.path().equals(SCHEMA_PATH) || !request.method().equals("GET")) return null;
		if (!("Bearer " + apiKey).equals(request.header("Authorization"))) {
			return error(401, "unauthorized", "Invalid API key");
		}
		return schema.answer(this, document -> document);
	}

	/** The account's balance; an edit needs one credit per output. */
	public PixelDojoEmulator credits(int balance) {
		credits.set(balance);
		return this;
	}

	/** Sources disagree on 402 or 403 for "out of credit" (docs/providers.md §3.3). */
	public PixelDojoEmulator outOfCreditStatus(int status) {
		creditStatus = status;
		return this;
	}

	public int credits() {
		return credits.get();
	}

	/**
	 * How failed jobs spell their status: only {@code pending} and {@code completed} are documented
	 * (docs/providers.md §3.3), so the failure words are a guess: {@code failed} (the default),
	 * {@code error} or {@code expired}.
	 */
	public PixelDojoEmulator failureWord(String word) {
		failureWord = word;
		return this;
	}

	/**
	 * At most {@code requests} API requests per {@code window} per key, status requests included, 429
	 * with {@code Retry-After} beyond. The legacy docs say 60 a minute (the default), an agent skill 10
	 * (docs/providers.md §3.3).
	 */
	public PixelDojoEmulator rateLimit(int requests, Duration window) {
		rateLimit = requests;
		rateWindow = window;
		return this;
	}

	/** How many requests were refused for the rate limit. */
	public int rateLimitedCount() {
		return rateLimited.get();
	}

	@Override
	protected Reply respond(RecordedRequest request) throws Exception {
		if (!("Bearer " + apiKey).equals(request.header("Authorization"))) {
			return error(401, "unauthorized", "Invalid API key");
		}
		Reply limited = overRateLimit();
		if (limited != null) return limited;
		if (request.path().equals(RUN_PATH) && request.method().equals("POST")) {
			return run(request);
		}
		Matcher m = JOB.matcher(apiPath(request));
		if (m.matches() && request.method().equals("GET")) {
			Job job = job(m.group(1));
			return job == null ? error(404, "not_found", "Job not found") : Reply.json(200, describe(job));
		}
		return error(404, "not_found", "Not found");
	}

	/** A sliding window over the accepted requests, with the headers of the legacy docs. */
	private Reply overRateLimit() {
		synchronized (recentRequests) {
			Instant now = Instant.now();
			while (!recentRequests.isEmpty() && !recentRequests.peekFirst().isAfter(now.minus(rateWindow))) {
				recentRequests.removeFirst();
			}
			if (recentRequests.size() < rateLimit) {
				recentRequests.addLast(now);
				return null;
			}
			Duration wait = Duration.between(now, recentRequests.peekFirst().plus(rateWindow));
			long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
			rateLimited.incrementAndGet();
			return error(429, "rate_limit_exceeded", "Rate limit exceeded: " + rateLimit + " requests per " +
				rateWindow.getSeconds() + " s").withHeaders(Map.of("Retry-After", String.valueOf(seconds),
					"X-RateLimit-Limit", String.valueOf(rateLimit), "X-RateLimit-Remaining", "0",
					"X-RateLimit-Reset", String.valueOf(now.plus(wait).getEpochSecond())));
		}
	}

	private Reply run(RecordedRequest request) {
		JsonNode body = request.json();
		if (body == null || !body.isObject()) return error(400, "invalid_request", "Body must be a JSON object");
		for (var it = body.fieldNames(); it.hasNext();) {
			String field = it.next();
			if (!FIELDS.contains(field)) {
				return error(422, "validation_error", "Unrecognized key in body: '" + field + "'");
			}
		}
		String unlisted = schema.problem(body);
		if (unlisted != null) return error(422, "validation_error", unlisted);
		if (!body.path("prompt").isTextual() || body.path("prompt").asText().isBlank()) {
			return error(422, "validation_error", "prompt: Required");
		}
		JsonNode images = body.path("image");
		if (!images.isArray() || images.size() < 1 || images.size() > 3) {
			return error(422, "validation_error", "image: supply 1-3 reference images");
		}
		if (body.has("model") && !MODELS.contains(body.path("model").asText())) {
			return error(422, "validation_error", "model: Invalid enum value");
		}
		int n = body.path("n").asInt(1);
		if (n < 1 || n > 6) return error(422, "validation_error", "n: must be between 1 and 6");
		int width = 0;
		int height = 0;
		if (body.has("size")) {
			Matcher size = SIZE.matcher(body.path("size").asText());
			if (!size.matches()) return error(422, "validation_error", "size: Invalid value");
			width = Integer.parseInt(size.group(1));
			height = Integer.parseInt(size.group(2));
		}
		int left = credits.addAndGet(-n);
		if (left < 0) {
			credits.addAndGet(n);
			return error(creditStatus, "insufficient_credits", "Insufficient credits: this job needs " + n);
		}
		List<String> links = new ArrayList<>();
		images.forEach(i -> links.add(i.asText()));
		Job job = submit(request, links, n, width, height);
		Map<String, Object> answer = new LinkedHashMap<>();
		answer.put("jobId", job.id);
		answer.put("status", "pending");
		answer.put("statusUrl", jobLink("/api/v1/jobs/" + job.id));
		answer.put("creditCost", n);
		answer.put("creditsRemaining", left);
		answer.put("expiresAt", java.time.Instant.now().plusSeconds(86400).toString());
		return answerCreate(Reply.json(202, answer));
	}

	private String status(Job job) {
		switch (job.phase()) {
			case QUEUED:
				return "pending";
			case PROCESSING:
				return "processing";
			case SUCCEEDED:
				return "completed";
			case CANCELLED:
				return "cancelled";
			case UNKNOWN:
				return "weird";
			default:
				return failureWord;
		}
	}

	private ObjectNode describe(Job job) {
		ObjectNode o = JSON.createObjectNode();
		o.put("jobId", job.id);
		o.put("status", status(job));
		if (job.phase() == Phase.SUCCEEDED && singleImageOutput && job.outputLinks().size() == 1) {
			o.putObject("output").put("image", job.outputLinks().get(0));
		}
		else if (job.phase() == Phase.SUCCEEDED) {
			var images = o.putObject("output").putArray("images");
			job.outputLinks().forEach(images::add);
		}
		if (job.message() != null) o.putObject("error").put("message", job.message());
		o.put("creditCost", job.outputs);
		return o;
	}

	private static Reply error(int status, String code, String message) {
		return Reply.json(status, Map.of("error", Map.of("code", code, "message", message, "status", status)));
	}
}
