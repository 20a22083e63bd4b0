package io.github.qwenedit.provider.replicate;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.core.SizeRule;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.JobCalls;
import io.github.qwenedit.provider.KeyCheck;
import io.github.qwenedit.provider.ModelCatalogue;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderErrors;
import io.github.qwenedit.provider.ProviderLimits;
import io.github.qwenedit.provider.PublishedSchema;
import io.github.qwenedit.provider.PublishedSchemas;
import io.github.qwenedit.provider.SettingsField;
import io.github.qwenedit.provider.StatusWords;
import io.github.qwenedit.staging.Staging;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * Replicate's predictions API for the official Qwen models
 * (https://replicate.com/docs/topics/predictions/create-a-prediction), in its asynchronous mode: the
 * create returns at once with the prediction's id, which is journalled before anything else
 * happens, and the prediction is polled from there.
 */
public final class ReplicateProvider implements EditProvider {

	public static final String ID = "replicate";
	public static final String KEY_VARIABLE = "REPLICATE_API_TOKEN";
	public static final String BASE_URL_VARIABLE = "REPLICATE_BASE_URL";
	public static final String DEFAULT_BASE_URL = "https://api.replicate.com";
	/** "Use a data URL when ... small file <= 256kb" (docs/providers.md §5.1). */
	static final long MAX_INLINE_BYTES = 256 * 1024;
	private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");
	private static final Duration CREATE_TIMEOUT = Duration.ofSeconds(30);

	/** The aspect ratios the models take; a size is sent as the one it matches (docs/providers.md §5.2). */
	static final Map<String, double[]> ASPECT_RATIOS = new LinkedHashMap<>();
	static {
		ASPECT_RATIOS.put("1:1", new double[] { 1, 1 });
		ASPECT_RATIOS.put("16:9", new double[] { 16, 9 });
		ASPECT_RATIOS.put("9:16", new double[] { 9, 16 });
		ASPECT_RATIOS.put("4:3", new double[] { 4, 3 });
		ASPECT_RATIOS.put("3:4", new double[] { 3, 4 });
	}

	private static final SizeRule ASPECT_ONLY = new SizeRule() {

		@Override
		public void check(String model, ImageSize size) throws EditException {
			if (aspectRatio(size) == null) {
				throw new EditException(ErrorKind.INVALID_INPUT, "Replicate's " + model + " takes an aspect ratio, not a " +
					"pixel size: choose a size whose width:height is one of " + String.join(", ", ASPECT_RATIOS.keySet()) +
					" (for example 1024*768 for 4:3), or 'as input'.");
			}
		}

		@Override
		public String describe() {
			return "aspect ratio " + String.join(", ", ASPECT_RATIOS.keySet());
		}
	};

	/** Models and limits: {@value io.github.qwenedit.provider.ModelCatalogue#RESOURCE}; a size travels as its aspect ratio. */
	static final List<ModelSpec> MODELS = ModelCatalogue.builtInModels(ID, Map.of(ModelCatalogue.ASPECT_RATIO, ASPECT_ONLY));

	/**
	 * A prediction's statuses (docs/providers.md §5.1): {@code aborted} is one whose deadline passed
	 * before it started, so it expired; {@code canceled} one stopped by someone else.
	 */
	private static final StatusWords STATUS = StatusWords.of("Replicate").queued("starting").running("processing")
		.succeeded("succeeded").failed("failed").cancelled("canceled").expired("aborted").build();

	public static final ProviderDescriptor DESCRIPTOR = new ProviderDescriptor(ID, "Replicate", MODELS,
		BASE_URL_VARIABLE, DEFAULT_BASE_URL, KEY_VARIABLE, "Replicate API token", ReplicateProvider::new)
		// "create prediction 600 req/min" (docs/providers.md §5.1).
		.withLimits(new ProviderLimits(Integer.MAX_VALUE, 600))
		.withSettingsFields(new SettingsField(KEY_VARIABLE, "replicateToken", "Replicate API token"),
			new SettingsField(BASE_URL_VARIABLE, "replicateBaseUrl", "Replicate base URL"));

	private final HttpUrl base;
	private final String token;

	public ReplicateProvider(String baseUrl, String token) throws EditException {
		this.base = ProviderDescriptor.resolve(baseUrl, BASE_URL_VARIABLE, "");
		this.token = token;
	}

	/** The ratio name that {@code size} has exactly (within 1 %), or null. */
	static String aspectRatio(ImageSize size) {
		if (size.width() < 1 || size.height() < 1) return null;
		double ratio = (double) size.width() / size.height();
		for (Map.Entry<String, double[]> e : ASPECT_RATIOS.entrySet()) {
			double r = e.getValue()[0] / e.getValue()[1];
			if (Math.abs(ratio - r) / r < 0.01) return e.getKey();
		}
		return null;
	}

	@Override
	public ProviderDescriptor descriptor() {
		return DESCRIPTOR;
	}

	@Override
	public String serviceAddress() {
		return base.toString();
	}

	@Override
	public long maxInlineBytes() {
		return MAX_INLINE_BYTES;
	}

	/** 256 kB would leave little of a real image: larger ones belong in the bucket, as Replicate advises. */
	@Override
	public boolean shrinksToFitInline() {
		return false;
	}

	/**
	 * Replicate's Files API: any size, deleted after the job, readable only with this token meanwhile
	 * (see {@link ReplicateFilesStaging}).
	 */
	@Override
	public Optional<Staging> uploadStaging() {
		return Optional.of(new ReplicateFilesStaging(base, token));
	}

	@Override
	public Optional<Staging> stagedUploads(List<String> journalKeys, Http http) {
		if (journalKeys.stream().noneMatch(ReplicateFilesStaging::isFileKey)) return Optional.empty();
		return Optional.of(new ReplicateFilesStaging(base, token, journalKeys, http));
	}

	@Override
	public boolean isStagedUploadKey(String journalKey) {
		return ReplicateFilesStaging.isFileKey(journalKey);
	}

	private Request.Builder authorised(HttpUrl url) {
		return new Request.Builder().url(url).header("Authorization", "Bearer " + token);
	}

	/**
	 * The version that runs publishes its input schema (issue 18): a seed or an aspect ratio it does
	 * not take is refused before the paid call, and fields it does not list are not sent.
	 */
	@Override
	public java.util.Optional<String> checkPublishedSchema(EditRequest request, Http http) throws EditException {
		String model = request.options().model();
		PublishedSchemas.Lookup lookup = PublishedSchemas.lookup(displayName(), model, base.toString(), http,
			h -> ReplicateSchema.parse(PublishedSchemas.fetch(authorised(base.resolve("v1/models/qwen/" + model)), h, displayName())));
		if (lookup.schema().isPresent()) {
			PublishedSchema schema = lookup.schema().get();
			String where = displayName() + "'s schema for qwen/" + model;
			EditOptions o = request.options();
			if (o.seed().isPresent()) schema.requireField(where, "seed", "a seed", "leave the seed empty (or -1)");
			if (o.size().isPresent()) {
				schema.requireField(where, "aspect_ratio", "an output shape", "choose the size 'as input'");
				schema.requireValue(where, "aspect_ratio", aspectRatio(o.size().get()));
			}
		}
		return lookup.notice();
	}

	@Override
	public JobState submit(EditRequest request, List<String> imageUrls, Http http) throws EditException {
		HttpUrl url = base.resolve("v1/models/qwen/" + request.options().model() + "/predictions");
		ObjectNode body = Json.object();
		ObjectNode input = input(request, imageUrls);
		PublishedSchemas.known(displayName(), request.options().model(), base.toString())
			.ifPresent(schema -> schema.keepListed(input, "prompt", "image"));
		body.set("input", input);
		// No "Prefer: wait" (sync mode): while a create blocks for the result, the prediction exists and
		// is paid for at Replicate but its id is nowhere on this machine, so a kill, a cancel or a
		// deadline in those seconds left a prediction the next run could neither fetch nor stop, and that
		// run paid again (issue 15). "Async mode (default) ... returns immediately with a prediction ID"
		// (https://replicate.com/docs/topics/predictions/create-a-prediction): the id reaches the journal
		// within the create's round trip, and a quick edit costs a poll or two instead.
		HttpReply reply = http.send(authorised(url).post(RequestBody.create(Json.bytes(body), JSON)).build(),
			CallKind.CREATE, CREATE_TIMEOUT, displayName());
		if (!reply.isSuccessful()) throw error(reply);
		return state(JobCalls.acceptedAnswer(reply, displayName()), null);
	}

	static ObjectNode input(EditRequest request, List<String> imageUrls) {
		EditOptions o = request.options();
		ObjectNode input = Json.object();
		input.put("prompt", request.instruction().strip());
		if (o.model().equals("qwen-image-edit")) {
			input.put("image", imageUrls.get(0));
		}
		else {
			ArrayNode images = input.putArray("image");
			imageUrls.forEach(images::add);
		}
		input.put("aspect_ratio", o.size().map(ReplicateProvider::aspectRatio).orElse("match_input_image"));
		o.seed().ifPresent(seed -> input.put("seed", seed));
		input.put("output_format", "png");
		return input;
	}

	/** {@code GET /v1/account} answers the token's owner, and nothing is run. */
	@Override
	public String checkKey(Http http) throws EditException {
		return KeyCheck.probe(http, authorised(base.resolve("v1/account")).get().build(), displayName(), KEY_VARIABLE);
	}

	@Override
	public JobState poll(JobHandle job, Http http) throws EditException {
		return state(JobCalls.fetch(http, authorised(HttpUrl.get(job.pollUrl().orElseThrow())).get().build(), displayName(),
			this::error), job);
	}

	private JobState state(JsonNode prediction, JobHandle known) throws EditException {
		JobHandle job = known;
		if (job == null) {
			String id = Json.text(prediction, "id");
			String get = Json.text(prediction.path("urls"), "get");
			if (id == null || get == null) {
				throw JobCalls.withoutHandle(new EditException(ErrorKind.PROVIDER_FAILURE, "Replicate accepted the edit but " +
					"sent no prediction link, so its result cannot be fetched."), displayName());
			}
			// The key goes only to Replicate itself: links to another host give way to the documented paths.
			HttpUrl documented = base.newBuilder().addPathSegments("v1/predictions").addPathSegment(id).build();
			String cancel = Json.text(prediction.path("urls"), "cancel");
			job = new JobHandle(id, JobCalls.onConfiguredHost(base, get).orElse(documented).toString(),
				JobCalls.onConfiguredHost(base, cancel).orElse(documented.newBuilder().addPathSegment("cancel").build())
					.toString(), null);
		}
		JobHandle polled = job;
		return STATUS.read(job, Json.text(prediction, "status"),
			() -> JobState.succeeded(polled, JobCalls.links(prediction.get("output")), facts(prediction)),
			Json.text(prediction, "error"));
	}

	private static Map<String, String> facts(JsonNode prediction) {
		Map<String, String> facts = new LinkedHashMap<>();
		String ratio = Json.text(prediction.path("input"), "aspect_ratio");
		if (ratio != null) facts.put("AspectRatio", ratio);
		JsonNode predictTime = prediction.path("metrics").path("predict_time");
		if (!predictTime.isMissingNode()) facts.put("PredictTimeSeconds", predictTime.asText());
		return facts;
	}

	@Override
	public boolean cancel(JobHandle job, Http http) {
		return job.cancelUrl().isPresent() && JobCalls.requestCancel(http, authorised(HttpUrl.get(job.cancelUrl().get()))
			.post(RequestBody.create(new byte[0], JSON)).build(), displayName());
	}

	/**
	 * Problem details: {@code {"title", "detail", "status", "invalid_fields": [...]}}; 429s say when to
	 * come back in {@code detail} (docs/providers.md §5.1).
	 */
	private EditException error(HttpReply reply) {
		String detail = null;
		try {
			JsonNode body = Json.parse(reply.body(), displayName());
			detail = Json.text(body, "detail");
			JsonNode fields = body.path("invalid_fields");
			if (fields.isArray() && fields.size() > 0) {
				StringBuilder sb = new StringBuilder();
				for (JsonNode f : fields) {
					if (sb.length() > 0) sb.append("; ");
					sb.append(f.path("field").asText()).append(": ").append(f.path("description").asText());
				}
				detail = sb.toString();
			}
		}
		catch (EditException notJson) {
			// The status alone says enough.
		}
		return ProviderErrors.fromStatus(reply, displayName(), KEY_VARIABLE, detail);
	}
}
