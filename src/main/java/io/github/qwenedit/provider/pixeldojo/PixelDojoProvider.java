package io.github.qwenedit.provider.pixeldojo;

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
import io.github.qwenedit.provider.PollSchedule;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderErrors;
import io.github.qwenedit.provider.ProviderLimits;
import io.github.qwenedit.provider.PublishedChoices;
import io.github.qwenedit.provider.PublishedSchema;
import io.github.qwenedit.provider.PublishedSchemas;
import io.github.qwenedit.provider.RequestWindow;
import io.github.qwenedit.provider.StatusWords;
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
	/** One schema covers both variants, told apart by its {@code model} field. */
	static final String SCHEMA_SUBJECT = "qwen-image-2-edit";
	static final String SCHEMA_PATH = "api/v1/models/qwen-image-2-edit/schema";
	private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

	/** The "Standard and Pro variants" of the page, chosen with the {@code model} field: {@value io.github.qwenedit.provider.ModelCatalogue#RESOURCE}. */
	static final List<ModelSpec> MODELS = ModelCatalogue.builtInModels(ID, Map.of());

	/**
	 * Only {@code pending} and {@code completed} are documented (docs/providers.md §3.3); the others are
	 * the words the SDK and similar job APIs use.
	 */
	private static final StatusWords STATUS = StatusWords.of("PixelDojo").queued("pending", "queued")
		.running("processing", "running", "in_progress").succeeded("completed", "succeeded").failed("failed", "error")
		.cancelled("cancelled", "canceled").expired("expired").build();

	/**
	 * PixelDojo allows 60 requests a minute per key, status requests included (legacy docs,
	 * docs/providers.md §3.3): polling every 2 s leaves half of that for the creates and a second edit,
	 * where the default half second alone would be twice the limit.
	 */
	public static final PollSchedule POLL_SCHEDULE = new PollSchedule(Duration.ofSeconds(1), Duration.ofSeconds(2),
		Duration.ofMillis(100), 3);

	public static final ProviderDescriptor DESCRIPTOR = new ProviderDescriptor(ID, "PixelDojo", MODELS,
		BASE_URL_VARIABLE, DEFAULT_BASE_URL, KEY_VARIABLE, "PixelDojo API key", PixelDojoProvider::new)
		// "60 requests per minute" in its legacy docs (docs/providers.md §3), status requests included;
		// another source says 10, but 60 is PixelDojo's own. A job polled every 2 s takes half of that:
		// one job at once, and the other half for creates. Every request also waits for its turn in the
		// key's window.
		.withLimits(new ProviderLimits(ProviderLimits.jobsWithin(60, POLL_SCHEDULE), 30, 60));

	private final HttpUrl base;
	private final HttpUrl run;
	private final String apiKey;

	public PixelDojoProvider(String baseUrl, String apiKey) throws EditException {
		this.base = ProviderDescriptor.resolve(baseUrl, BASE_URL_VARIABLE, "");
		this.run = ProviderDescriptor.resolve(baseUrl, BASE_URL_VARIABLE, RUN_PATH);
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

	/** Whether PixelDojo reads data URIs is not documented (docs/providers.md §3.2): links only. */
	@Override
	public long maxInlineBytes() {
		return 0;
	}

	private Request.Builder authorised(HttpUrl url) {
		return new Request.Builder().url(url).header("Authorization", "Bearer " + apiKey);
	}

	/**
	 * PixelDojo counts every request with the key, status requests too (docs/providers.md §3.3): each call
	 * waits for its turn in the key's window, shared by every edit and batch of the program.
	 */
	private void awaitTurn(Http http) throws EditException {
		RequestWindow.shared(requestWindowScope(base.toString(), apiKey), DESCRIPTOR.limits().requestsPerMinute())
			.acquire(http.cancellation());
	}

	/** What the request window of a key is known by: the service's address and the key. */
	public static String requestWindowScope(String baseUrl, String apiKey) {
		return HttpUrl.get(baseUrl) + "\n" + apiKey;
	}

	/**
	 * The page prints no values for {@code size} and only guesses the Pro variant's name (issue 18):
	 * the model's schema, documented beside the run endpoint, says which are allowed.
	 */
	@Override
	public Optional<String> checkPublishedSchema(EditRequest request, Http http) throws EditException {
		PublishedSchemas.Lookup lookup = PublishedSchemas.lookup(displayName(), SCHEMA_SUBJECT, base.toString(), http,
			h -> {
				awaitTurn(h);
				return PixelDojoSchema.parse(PublishedSchemas.fetch(authorised(base.resolve(SCHEMA_PATH)), h, displayName()));
			});
		if (lookup.schema().isPresent()) {
			PublishedSchema schema = lookup.schema().get();
			schema.requireValue(displayName() + "'s schema for " + SCHEMA_SUBJECT, "model", request.options().model());
			schema.check(displayName(), request.options().model(), request.options());
		}
		return lookup.notice();
	}

	/** One schema serves both variants, so the choices are the same for each. */
	@Override
	public Optional<PublishedChoices> publishedChoices(String model) throws EditException {
		int builtIn = model(model).maxOutputs();
		return PublishedSchemas.known(displayName(), SCHEMA_SUBJECT, base.toString())
			.map(schema -> PublishedChoices.of(schema, "size", "n", builtIn));
	}

	@Override
	public JobState submit(EditRequest request, List<String> imageUrls, Http http) throws EditException {
		awaitTurn(http);
		ObjectNode body = body(request, imageUrls);
		PublishedSchemas.known(displayName(), SCHEMA_SUBJECT, base.toString())
			.ifPresent(schema -> schema.keepListed(body, "prompt", "image"));
		HttpReply reply = http.send(authorised(run).post(RequestBody.create(Json.bytes(body), JSON))
			.build(), CallKind.CREATE, CALL_TIMEOUT, displayName());
		if (!reply.isSuccessful()) throw error(reply);
		JsonNode answer = JobCalls.acceptedAnswer(reply, displayName());
		String jobId = Json.text(answer, "jobId");
		if (jobId == null || jobId.isBlank()) {
			throw JobCalls.withoutHandle(new EditException(ErrorKind.PROVIDER_FAILURE, "PixelDojo accepted the edit but " +
				"sent no job id, so its result cannot be fetched."), displayName());
		}
		// statusUrl is followed as given (docs/providers.md §3.3), but the key only goes to PixelDojo itself;
		// otherwise the documented job path on the configured address is asked instead.
		HttpUrl poll = JobCalls.onConfiguredHost(base, Json.text(answer, "statusUrl"))
			.orElse(base.newBuilder().addPathSegments("api/v1/jobs").addPathSegment(jobId).build());
		// Credits remaining are only in this answer; the final one repeats the cost at most.
		return JobState.queued(new JobHandle(jobId, poll.toString(), null, null).withSubmitFacts(credits(answer)), null);
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
		awaitTurn(http);
		return KeyCheck.probe(http, authorised(base.resolve("api/v1/jobs/key-check")).get().build(), displayName(),
			KEY_VARIABLE);
	}

	@Override
	public PollSchedule pollSchedule() {
		return POLL_SCHEDULE;
	}

	@Override
	public JobState poll(JobHandle job, Http http) throws EditException {
		awaitTurn(http);
		JsonNode answer = JobCalls.fetch(http, authorised(HttpUrl.get(job.pollUrl().orElseThrow())).get().build(),
			displayName(), this::error);
		return STATUS.read(job, Json.text(answer, "status"), () -> JobState.succeeded(job, outputs(answer),
			credits(answer)), ProviderErrors.ErrorBody.of(answer).message());
	}

	/**
	 * {@code output.images} holds the links, or {@code output.image} the one link of a single output
	 * (issue 18); the SDK's newer shape has {@code assets[].url} (docs/providers.md §3.3).
	 */
	static List<String> outputs(JsonNode answer) {
		List<String> urls = JobCalls.links(answer.path("output").path("images"));
		if (urls.isEmpty()) urls = JobCalls.links(answer.path("output").path("image"));
		return urls.isEmpty() ? JobCalls.links(answer.path("assets")) : urls;
	}

	/** Credits used and left, for the provenance and the status line. */
	private static Map<String, String> credits(JsonNode answer) {
		Map<String, String> facts = new LinkedHashMap<>();
		if (answer.hasNonNull("creditCost")) facts.put("CreditsUsed", answer.get("creditCost").asText());
		if (answer.hasNonNull("creditsRemaining")) facts.put("CreditsRemaining", answer.get("creditsRemaining").asText());
		return facts;
	}

	/** No cancel call is documented: the job runs on and may be charged. */
	@Override
	public boolean cancel(JobHandle job, Http http) {
		return false;
	}

	/**
	 * Errors come as {@code {"error": {"code", "message", "status"}}}; out of credit is 402 or 403
	 * {@code insufficient_credits} depending on the source (docs/providers.md §3.3).
	 */
	private EditException error(HttpReply reply) {
		ProviderErrors.ErrorBody body = ProviderErrors.ErrorBody.of(reply, displayName());
		if (reply.code() == 402 || "insufficient_credits".equals(body.code())) {
			return new EditException(ErrorKind.INSUFFICIENT_CREDIT, "Your PixelDojo account has too few credits for this " +
				"edit: each output image costs 1 credit. Buy credits on pixeldojo.ai, or ask for fewer outputs, then run " +
				"the edit again." +
				(body.message() == null ? "" : " PixelDojo said: " + ProviderErrors.clip(body.message())));
		}
		return ProviderErrors.fromStatus(reply, displayName(), KEY_VARIABLE, body.message());
	}
}
