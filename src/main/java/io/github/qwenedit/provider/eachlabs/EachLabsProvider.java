package io.github.qwenedit.provider.eachlabs;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

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
import io.github.qwenedit.provider.JobCalls;
import io.github.qwenedit.provider.KeyCheck;
import io.github.qwenedit.provider.ModelCatalogue;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderErrors;
import io.github.qwenedit.provider.ProviderLimits;
import io.github.qwenedit.provider.PublishedChoices;
import io.github.qwenedit.provider.PublishedSchemas;
import io.github.qwenedit.provider.StatusWords;
import io.github.qwenedit.staging.Staging;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * each::labs' prediction API: create, then poll until final (https://docs.eachlabs.ai/api/predictions).
 * The Qwen Image 2.0 edit model takes DashScope-style inputs with the images in {@code image_urls}.
 */
public final class EachLabsProvider implements EditProvider {

	public static final String ID = "eachlabs";
	public static final String KEY_VARIABLE = "EACHLABS_API_KEY";
	public static final String BASE_URL_VARIABLE = "EACHLABS_BASE_URL";
	public static final String DEFAULT_BASE_URL = "https://api.eachlabs.ai";
	static final String MODEL_SLUG = "alibaba-qwen-image-2-0-image-edit";
	/** Older docs require a version, newer ones ignore it (docs/providers.md §2.2): sending it is safe. */
	static final String MODEL_VERSION = "0.0.1";
	static final MediaType JSON = MediaType.get("application/json; charset=utf-8");
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

	/** Models, limits and prices: {@value io.github.qwenedit.provider.ModelCatalogue#RESOURCE}. */
	static final List<ModelSpec> MODELS = ModelCatalogue.builtInModels(ID, Map.of());

	/**
	 * The documentation spells final states differently on different pages (docs/providers.md §2.4):
	 * {@code success}, {@code failed} and {@code cancelled} on the API reference, {@code error} on the
	 * model's page and in client code. All are accepted.
	 */
	private static final StatusWords STATUS = StatusWords.of("eachlabs").queued("starting", "queued")
		.running("processing", "running").succeeded("success", "succeeded").failed("failed", "error")
		.cancelled("cancelled", "canceled").build();

	public static final ProviderDescriptor DESCRIPTOR = new ProviderDescriptor(ID, "eachlabs", MODELS,
		BASE_URL_VARIABLE, DEFAULT_BASE_URL, KEY_VARIABLE, "eachlabs API key", EachLabsProvider::new)
		// Per-key limits from the project's issue tracker; docs/providers.md §2 found none published.
		.withLimits(new ProviderLimits(10, 100));

	private final HttpUrl create;
	private final HttpUrl base;
	private final String apiKey;

	public EachLabsProvider(String baseUrl, String apiKey) throws EditException {
		this.base = ProviderDescriptor.resolve(baseUrl, BASE_URL_VARIABLE, "");
		this.create = ProviderDescriptor.resolve(baseUrl, BASE_URL_VARIABLE, "v1/prediction/");
		this.apiKey = apiKey;
	}

	@Override
	public ProviderDescriptor descriptor() {
		return DESCRIPTOR;
	}

	@Override
	public String serviceAddress() {
		return base.toString();
	}

	/** No evidence that eachlabs reads data URIs (docs/providers.md §2.3): links only. */
	@Override
	public long maxInlineBytes() {
		return 0;
	}

	@Override
	public Optional<Staging> uploadStaging() {
		return Optional.of(new EachLabsUploadStaging(base.resolve("v1/upload/presign"), apiKey));
	}

	Request.Builder authorised(HttpUrl url) {
		return new Request.Builder().url(url).header("X-API-Key", apiKey);
	}

	/**
	 * eachlabs documents no input for the Qwen models beyond their {@code request_schema} (issue 18):
	 * the options are checked against it, and only the fields it lists are sent.
	 */
	@Override
	public Optional<String> checkPublishedSchema(EditRequest request, Http http) throws EditException {
		String model = request.options().model();
		PublishedSchemas.Lookup lookup = PublishedSchemas.lookup(displayName(), model, base.toString(), http,
			h -> EachLabsSchema.parse(PublishedSchemas.fetch(authorised(EachLabsSchema.address(base, model)), h, displayName())));
		if (lookup.schema().isPresent()) lookup.schema().get().check(displayName(), model, request.options());
		return lookup.notice();
	}

	@Override
	public Optional<PublishedChoices> publishedChoices(String model) throws EditException {
		int builtIn = model(model).maxOutputs();
		return PublishedSchemas.known(displayName(), model, base.toString())
			.map(schema -> PublishedChoices.of(schema, "size", "n", builtIn));
	}

	@Override
	public JobState submit(EditRequest request, List<String> imageUrls, Http http) throws EditException {
		ObjectNode body = Json.object();
		String model = request.options().model();
		body.put("model", model);
		body.put("version", MODEL_VERSION);
		ObjectNode input = input(request, imageUrls);
		PublishedSchemas.known(displayName(), model, base.toString()).ifPresent(schema -> schema.keepListed(input, "prompt", "image_urls"));
		body.set("input", input);
		HttpReply reply = http.send(authorised(create).post(RequestBody.create(Json.bytes(body), JSON)).build(),
			CallKind.CREATE, CALL_TIMEOUT, displayName());
		if (!reply.isSuccessful()) throw error(reply);
		JsonNode answer = JobCalls.acceptedAnswer(reply, displayName());
		String id = Json.text(answer, "predictionID");
		if (id == null || id.isBlank()) {
			String detail = explanation(answer);
			throw JobCalls.withoutHandle(new EditException(ErrorKind.PROVIDER_FAILURE, "eachlabs accepted the edit but " +
				"sent no prediction id, so its result cannot be fetched." + (detail == null ? "" : " eachlabs said: " +
					ProviderErrors.clip(detail))), displayName());
		}
		// The documented links (docs/providers.md §2.4) until a status answer gives its urls.cancel.
		HttpUrl poll = base.newBuilder().addPathSegments("v1/prediction").addPathSegment(id).build();
		HttpUrl cancel = poll.newBuilder().addPathSegment("cancel").build();
		return JobState.queued(new JobHandle(id, poll.toString(), cancel.toString(), null), null);
	}

	static ObjectNode input(EditRequest request, List<String> imageUrls) {
		EditOptions o = request.options();
		ObjectNode input = Json.object();
		input.put("prompt", request.instruction().strip());
		ArrayNode urls = input.putArray("image_urls");
		imageUrls.forEach(urls::add);
		input.put("n", o.outputs());
		input.put("prompt_extend", o.promptExtend());
		o.size().ifPresent(size -> input.put("size", size.toString()));
		if (!o.negativePrompt().isBlank()) input.put("negative_prompt", o.negativePrompt());
		o.seed().ifPresent(seed -> input.put("seed", seed));
		if (o.watermark()) input.put("watermark", true);
		return input;
	}

	/** Asks for a prediction that does not exist: 401 for a wrong key, 404 for a good one. */
	@Override
	public String checkKey(Http http) throws EditException {
		return KeyCheck.probe(http, authorised(base.resolve("v1/prediction/key-check")).get().build(), displayName(),
			KEY_VARIABLE);
	}

	@Override
	public JobState poll(JobHandle job, Http http) throws EditException {
		JsonNode answer = JobCalls.fetch(http, authorised(HttpUrl.get(job.pollUrl().orElseThrow())).get().build(),
			displayName(), this::error);
		// Cancel where the answer says to (urls.cancel), as long as that is eachlabs itself.
		JobHandle seen = JobCalls.onConfiguredHost(base, Json.text(answer.path("urls"), "cancel"))
			.map(link -> job.withCancelUrl(link.toString())).orElse(job);
		return STATUS.read(seen, Json.text(answer, "status"),
			() -> JobState.succeeded(seen, JobCalls.links(answer.get("output")), facts(answer.path("metrics"))),
			explanation(answer));
	}

	private static Map<String, String> facts(JsonNode metrics) {
		Map<String, String> facts = new LinkedHashMap<>();
		if (metrics.hasNonNull("cost")) facts.put("CostUsd", metrics.get("cost").asText());
		if (metrics.hasNonNull("predict_time")) facts.put("PredictTimeSeconds", metrics.get("predict_time").asText());
		return facts;
	}

	/**
	 * eachlabs explains a failure in {@code message} and {@code details} (the model's page), or in
	 * {@code logs} and {@code error} (the API reference): every one given is shown, each once.
	 */
	static String explanation(JsonNode answer) {
		Set<String> said = new LinkedHashSet<>();
		for (String field : new String[] { "message", "details", "error", "logs" }) {
			String text = Json.text(answer, field);
			if (text != null && !text.isBlank()) said.add(text.strip());
		}
		return said.isEmpty() ? null : String.join(" / ", said);
	}

	/** Before the first status answer, the cancel link is the documented one. */
	@Override
	public boolean cancel(JobHandle job, Http http) {
		return job.cancelUrl().isPresent() && JobCalls.requestCancel(http, authorised(HttpUrl.get(job.cancelUrl().get()))
			.post(RequestBody.create(new byte[0], JSON)).build(), displayName());
	}

	/**
	 * Errors are {@code {"error": "text"}} (docs/providers.md §2.2). A 429 means one of the per-key limits:
	 * 100 new predictions a minute, or 10 running at once.
	 */
	EditException error(HttpReply reply) {
		String detail = ProviderErrors.ErrorBody.of(reply, displayName()).message();
		EditException mapped = ProviderErrors.fromStatus(reply, displayName(), KEY_VARIABLE, detail);
		if (reply.code() != 429) return mapped;
		return new EditException(ErrorKind.RATE_LIMITED, EditException.followedBy(mapped.getMessage(), "eachlabs allows " +
			"each key " + DESCRIPTOR.limits().createsPerMinute() + " new predictions a minute and " +
			DESCRIPTOR.limits().maxConcurrentJobs() + " running at once: " +
			"wait for running edits to finish, or lower the batch concurrency."), mapped.retryAfter().orElse(null), null);
	}
}
