package io.github.qwenedit.provider.fal;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.JobCalls;
import io.github.qwenedit.provider.KeyCheck;
import io.github.qwenedit.provider.ModelCatalogue;
import io.github.qwenedit.provider.Observation;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderErrors;
import io.github.qwenedit.provider.ProviderLimits;
import io.github.qwenedit.provider.SettingsField;
import io.github.qwenedit.provider.PublishedChoices;
import io.github.qwenedit.provider.PublishedSchema;
import io.github.qwenedit.provider.PublishedSchemas;
import io.github.qwenedit.provider.StatusWords;
import io.github.qwenedit.staging.Staging;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * fal.ai's queue (https://docs.fal.ai/model-endpoints/queue): submit, then follow the
 * {@code status_url}, {@code response_url} and {@code cancel_url} it returns verbatim, since they drop
 * the model's sub-path. The queue has no failed status: a failure shows only when the result is
 * fetched. The status is read from the status stream, which tells of completion the moment it
 * happens in one call; polling the status remains the fall-back when the stream cannot be read.
 */
public final class FalProvider implements EditProvider {

	public static final String ID = "fal";
	public static final String KEY_VARIABLE = "FAL_KEY";
	public static final String BASE_URL_VARIABLE = "FAL_QUEUE_BASE_URL";
	public static final String DEFAULT_BASE_URL = "https://queue.fal.run";
	/** fal's REST host, where its storage takes uploads (getRestApiUrl in https://github.com/fal-ai/fal-js/blob/main/libs/client/src/config.ts). */
	public static final String REST_BASE_URL_VARIABLE = "FAL_REST_BASE_URL";
	public static final String DEFAULT_REST_BASE_URL = "https://rest.fal.ai";
	/** Where fal publishes each endpoint's OpenAPI document (see {@link FalSchema}). */
	public static final String SCHEMA_BASE_URL_VARIABLE = "FAL_SCHEMA_BASE_URL";
	public static final String DEFAULT_SCHEMA_BASE_URL = "https://fal.ai";
	private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);
	/**
	 * One status stream is read this long at most, then opened again at once: the progress shown
	 * between the two stays fresh, and fal's keep-alive comments come every 15 s.
	 */
	static final Duration STREAM_WINDOW = Duration.ofSeconds(20);

	/**
	 * Models, limits and prices: {@value io.github.qwenedit.provider.ModelCatalogue#RESOURCE}. fal has
	 * no watermark option on any of these (docs/providers.md §4.2); the qwen-image-2 endpoints answer at
	 * "the size of the final input image" when given none, qwen-image-edit-plus falls back to its
	 * {@code square_hd} preset, 1024×1024 (issue 18).
	 */
	static final List<ModelSpec> MODELS = ModelCatalogue.builtInModels(ID, Map.of());

	/** The queue's statuses (docs/providers.md §4.1): none tells of a failure, which shows in the result. */
	private static final StatusWords STATUS = StatusWords.of("fal.ai").queued("IN_QUEUE").running("IN_PROGRESS")
		.succeeded("COMPLETED").build();

	public static final ProviderDescriptor DESCRIPTOR = new ProviderDescriptor(ID, "fal.ai", MODELS, BASE_URL_VARIABLE,
		DEFAULT_BASE_URL, REST_BASE_URL_VARIABLE, DEFAULT_REST_BASE_URL, SCHEMA_BASE_URL_VARIABLE, DEFAULT_SCHEMA_BASE_URL,
		KEY_VARIABLE, "fal key", FalProvider::new)
		// New accounts run 2 at once and up to 40 later; more only wait in fal's queue, never refused
		// (docs/providers.md §4).
		.withLimits(ProviderLimits.UNDOCUMENTED)
		.withSettingsFields(new SettingsField(KEY_VARIABLE, "falKey", "fal key"),
			new SettingsField(BASE_URL_VARIABLE, "falBaseUrl", "fal queue base URL"));

	private final HttpUrl base;
	private final HttpUrl restBase;
	private final HttpUrl schemaBase;
	private final String key;
	private final Duration streamWindow;
	/** Jobs whose status stream failed once: they are polled from then on. */
	private final Set<String> polledJobs = ConcurrentHashMap.newKeySet();

	public FalProvider(String baseUrl, String restBaseUrl, String schemaBaseUrl, String key) throws EditException {
		this(baseUrl, restBaseUrl, schemaBaseUrl, key, STREAM_WINDOW);
	}

	FalProvider(String baseUrl, String restBaseUrl, String schemaBaseUrl, String key, Duration streamWindow)
		throws EditException
	{
		this.base = ProviderDescriptor.resolve(baseUrl, BASE_URL_VARIABLE, "");
		this.restBase = ProviderDescriptor.resolve(restBaseUrl, REST_BASE_URL_VARIABLE, "");
		this.schemaBase = ProviderDescriptor.resolve(schemaBaseUrl, SCHEMA_BASE_URL_VARIABLE, "");
		this.key = key;
		this.streamWindow = streamWindow;
	}

	@Override
	public ProviderDescriptor descriptor() {
		return DESCRIPTOR;
	}

	@Override
	public String serviceAddress() {
		return base.toString();
	}

	/** The queue is reported not to read data URIs for the Qwen models (docs/providers.md §4.1): links only. */
	@Override
	public long maxInlineBytes() {
		return 0;
	}

	@Override
	public Optional<Staging> uploadStaging() {
		return Optional.of(new FalUploadStaging(restBase, key));
	}

	private Request.Builder authorised(HttpUrl url) {
		return new Request.Builder().url(url).header("Authorization", "Key " + key);
	}

	/**
	 * Each endpoint's OpenAPI document is the source of truth over the built-in table (issue 18): an
	 * option it has no field for, or more outputs than its {@code num_images} allows, is refused
	 * before any upload or paid call, and fields it does not list are not sent.
	 */
	@Override
	public Optional<String> checkPublishedSchema(EditRequest request, Http http) throws EditException {
		String model = request.options().model();
		PublishedSchemas.Lookup lookup = PublishedSchemas.lookup(displayName(), model, base.toString(), http,
			h -> FalSchema.read(schemaBase, model, h, displayName()));
		if (lookup.schema().isPresent()) {
			PublishedSchema schema = lookup.schema().get();
			String where = displayName() + "'s schema for " + model;
			EditOptions o = request.options();
			if (!o.negativePrompt().isBlank()) {
				schema.requireField(where, "negative_prompt", "a negative prompt", "leave the negative prompt empty");
			}
			if (o.seed().isPresent()) schema.requireField(where, "seed", "a seed", "leave the seed empty (or -1)");
			if (o.size().isPresent()) schema.requireField(where, "image_size", "a custom size", "choose the size 'as input'");
			schema.requireOutputs(where, "num_images", o.outputs());
		}
		return lookup.notice();
	}

	/** fal takes a size as width and height, or one of its presets: the dialog keeps its free field. */
	@Override
	public Optional<PublishedChoices> publishedChoices(String model) throws EditException {
		int builtIn = model(model).maxOutputs();
		return PublishedSchemas.known(displayName(), model, base.toString())
			.map(schema -> PublishedChoices.of(schema, null, "num_images", builtIn));
	}

	@Override
	public JobState submit(EditRequest request, List<String> imageUrls, Http http) throws EditException {
		ModelSpec model = model(request.options().model());
		HttpUrl url = ProviderDescriptor.resolve(base.toString(), BASE_URL_VARIABLE, model.id());
		ObjectNode input = input(request, model, imageUrls);
		PublishedSchemas.known(displayName(), model.id(), base.toString())
			.ifPresent(schema -> schema.keepListed(input, "prompt", "image_urls"));
		HttpReply reply = http.send(authorised(url).post(RequestBody.create(Json.bytes(input), JSON)).build(),
			CallKind.CREATE, CALL_TIMEOUT, displayName());
		if (!reply.isSuccessful()) throw error(reply);
		JsonNode answer = JobCalls.acceptedAnswer(reply, displayName());
		String id = Json.text(answer, "request_id");
		if (id == null || Json.text(answer, "status_url") == null || Json.text(answer, "response_url") == null) {
			throw JobCalls.withoutHandle(new EditException(ErrorKind.PROVIDER_FAILURE, "fal.ai accepted the edit but " +
				"sent no status links, so its result cannot be fetched."), displayName());
		}
		// A link to another host would hand it the key: the documented path on the configured host instead.
		HttpUrl requestUrl = base.resolve(FalProvider.app(model.id()) + "/requests/" + id);
		String response = link(Json.text(answer, "response_url"), requestUrl);
		String status = link(Json.text(answer, "status_url"), requestUrl.newBuilder().addPathSegment("status").build());
		String cancel = link(Json.text(answer, "cancel_url"), requestUrl.newBuilder().addPathSegment("cancel").build());
		JobHandle handle = new JobHandle(id, status, cancel, response);
		if (request.options().size().isEmpty() && input.has("image_size")) {
			JsonNode sent = input.get("image_size");
			handle = handle.withSubmitFacts(Map.of("SizeSent", sent.path("width").asInt() + "*" +
				sent.path("height").asInt()));
		}
		return JobState.queued(handle, answer.has("queue_position") ? answer.get("queue_position").asInt() : null);
	}

	private String link(String given, HttpUrl documented) {
		return JobCalls.onConfiguredHost(base, given).orElse(documented).toString();
	}

	/** "The subpath ... should be used when making the request, but not when getting request status or results." */
	static String app(String model) {
		String[] parts = model.split("/");
		return parts.length < 2 ? model : parts[0] + "/" + parts[1];
	}

	/** fal's own names for the plugin's options (docs/providers.md §4.2). */
	static ObjectNode input(EditRequest request, ModelSpec model, List<String> imageUrls) {
		EditOptions o = request.options();
		ObjectNode input = Json.object();
		input.put("prompt", request.instruction().strip());
		ArrayNode urls = input.putArray("image_urls");
		imageUrls.forEach(urls::add);
		input.put("num_images", o.outputs());
		ImageSize size = o.size().orElse(model.defaultSizeFollowsInput() ? null : asInput(request, model));
		if (size != null) input.putObject("image_size").put("width", size.width()).put("height", size.height());
		if (model.supportsPromptExtend()) input.put("enable_prompt_expansion", o.promptExtend());
		if (!o.negativePrompt().isBlank()) input.put("negative_prompt", o.negativePrompt());
		o.seed().ifPresent(seed -> input.put("seed", seed));
		input.put("output_format", "png");
		return input;
	}

	/**
	 * "As input" for a model that would otherwise answer a square: the last image's size, as the
	 * qwen-image-2 endpoints take it, brought within the model's sizes at the same aspect ratio.
	 */
	private static ImageSize asInput(EditRequest request, ModelSpec model) {
		InputImage last = request.images().get(request.images().size() - 1);
		return model.sizeRule().nearestAccepted(new ImageSize(last.width(), last.height()));
	}

	/** Asks for the status of a request that does not exist: 401 for a wrong key, 404 for a good one. */
	@Override
	public String checkKey(Http http) throws EditException {
		return KeyCheck.probe(http, authorised(base.resolve("fal-ai/qwen-image-2/requests/key-check/status")).get()
			.build(), displayName(), KEY_VARIABLE);
	}

	/**
	 * A job is followed on its status stream, which waits for news instead of asking for it, until the
	 * stream fails for it; then by status requests.
	 */
	@Override
	public Observation observation(JobHandle job) {
		return polledJobs.contains(job.id()) ? Observation.POLL : Observation.STREAM;
	}

	/**
	 * Reads the status stream until the job completes or the stream's window ends; when the stream
	 * cannot be read (refused, broken, cut before completion), asks for the status instead, and keeps
	 * polling that job.
	 */
	@Override
	public JobState poll(JobHandle job, Http http) throws EditException {
		if (!polledJobs.contains(job.id())) {
			JobState streamed = streamed(job, http);
			if (streamed != null) return streamed;
			polledJobs.add(job.id());
		}
		JsonNode answer = JobCalls.fetch(http, authorised(HttpUrl.get(job.pollUrl().orElseThrow())).get().build(),
			displayName(), this::error);
		JobState state = state(job, answer, http);
		if (state.status().isFinal()) polledJobs.remove(job.id());
		return state;
	}

	/** The state the status stream ends on, or null when it told nothing usable. */
	private JobState streamed(JobHandle job, Http http) throws EditException {
		HttpUrl url = HttpUrl.get(job.pollUrl().orElseThrow()).newBuilder().addPathSegment("stream").build();
		JsonNode[] last = new JsonNode[1];
		boolean[] unreadable = new boolean[1];
		Http.StreamEnd end = http.readEvents(authorised(url).get().build(), streamWindow, displayName(), event -> {
			try {
				last[0] = Json.parse(event.data().getBytes(StandardCharsets.UTF_8), displayName());
			}
			catch (EditException notJson) {
				unreadable[0] = true;
				return false;
			}
			return STATUS.unfinished(Json.text(last[0], "status"));
		});
		if (unreadable[0] || last[0] == null) return null;
		switch (end) {
			case STOPPED:
				return state(job, last[0], http);
			case WINDOW_OVER:
				return state(job, last[0], http);
			default:
				return null;
		}
	}

	private JobState state(JobHandle job, JsonNode answer, Http http) throws EditException {
		Integer queuePosition = answer.has("queue_position") ? answer.get("queue_position").asInt() : null;
		return STATUS.read(job, Json.text(answer, "status"), queuePosition, () -> result(job, http, answer.path("metrics")),
			null);
	}

	private JobState result(JobHandle job, Http http, JsonNode metrics) throws EditException {
		HttpReply reply = http.send(authorised(HttpUrl.get(job.resultUrl().orElseThrow())).get().build(),
			CallKind.IDEMPOTENT, CALL_TIMEOUT, displayName());
		if (!reply.isSuccessful()) {
			// A rate limit or a server error says nothing of the job, which is done and paid for: it is
			// asked again (or kept for a later run), never taken as the job's own failure.
			if (reply.code() == 429 || reply.code() >= 500) throw error(reply);
			return JobState.failed(job, error(reply));
		}
		JsonNode answer = Json.parse(reply.body(), displayName());
		if (!answer.path("images").isArray()) {
			// Not a result at all (a gateway's 200 with an error body, say): the job is done and paid
			// for, so this is a reply that cannot be read, not a job that returned no image.
			throw new EditException(ErrorKind.PROVIDER_FAILURE, displayName() + " answered the request for the result " +
				"without its images.");
		}
		List<String> urls = new ArrayList<>();
		int returned = 0;
		JsonNode flags = answer.path("has_nsfw_concepts");
		for (JsonNode image : answer.path("images")) {
			String url = Json.text(image, "url");
			// The safety checker returns a flagged image black, in its place (issue 18): never worth showing.
			if (url != null && !flags.path(returned).asBoolean(false)) urls.add(url);
			returned++;
		}
		int withheld = returned - urls.size();
		if (returned > 0 && urls.isEmpty()) {
			return JobState.failed(job, new EditException(ErrorKind.CONTENT_REJECTED, "fal.ai's safety checker flagged " +
				(returned == 1 ? "the result" : "all " + returned + " results") + " and blanked " +
				(returned == 1 ? "it" : "them") + ", so there is nothing to show. Change the instruction or the image."));
		}
		Map<String, String> facts = new LinkedHashMap<>();
		if (answer.has("seed")) facts.put("SeedUsed", answer.get("seed").asText());
		if (metrics.has("inference_time")) facts.put("InferenceTimeSeconds", metrics.get("inference_time").asText());
		if (withheld == 0) return JobState.succeeded(job, urls, facts);
		facts.put("OutputsWithheld", withheld + " of " + returned);
		return JobState.succeeded(job, urls, facts).withNotice(withheld + " of " + returned + " results " +
			(withheld == 1 ? "was" : "were") + " withheld: fal.ai's safety checker flagged " + (withheld == 1 ? "it" : "them") +
			" and returns such images blank. The other " + urls.size() + (urls.size() == 1 ? " is" : " are") + " shown.");
	}

	/** Only a job still in the queue can be cancelled (docs/providers.md §4.1). */
	@Override
	public boolean cancel(JobHandle job, Http http) {
		polledJobs.remove(job.id());
		return job.cancelUrl().isPresent() && JobCalls.requestCancel(http, authorised(HttpUrl.get(job.cancelUrl().get()))
			.put(RequestBody.create(new byte[0], JSON)).build(), displayName());
	}

	/**
	 * Model errors: {@code {"detail": [{"loc", "msg", "type"}]}}; infrastructure errors:
	 * {@code {"detail": "text", "error_type": ...}} (https://docs.fal.ai/errors).
	 */
	private EditException error(HttpReply reply) {
		String detail = null;
		String type = null;
		try {
			JsonNode body = Json.parse(reply.body(), displayName());
			JsonNode d = body.path("detail");
			if (d.isTextual()) {
				detail = d.asText();
				type = Json.text(body, "error_type");
			}
			else if (d.isArray() && d.size() > 0) {
				StringBuilder sb = new StringBuilder();
				for (JsonNode item : d) {
					if (sb.length() > 0) sb.append("; ");
					JsonNode loc = item.path("loc");
					if (loc.isArray() && loc.size() > 0) sb.append(loc.get(loc.size() - 1).asText()).append(": ");
					sb.append(item.path("msg").asText());
					if (type == null) type = Json.text(item, "type");
				}
				detail = sb.toString();
			}
		}
		catch (EditException notJson) {
			// The status alone says enough.
		}
		if (type != null && type.contains("content_policy")) {
			return new EditException(ErrorKind.CONTENT_REJECTED, "fal.ai's content check refused the input or the result." +
				" Change the instruction or the image." + (detail == null ? "" : " fal.ai said: " + ProviderErrors.clip(detail)));
		}
		EditException mapped = ProviderErrors.fromStatus(reply, displayName(), KEY_VARIABLE, detail);
		if (!"true".equalsIgnoreCase(reply.header("X-Fal-Retryable"))) return mapped;
		return new EditException(mapped.kind(), mapped.getMessage() + " fal.ai marks this failure as worth retrying.",
			mapped.retryAfter().orElse(null), null);
	}
}
