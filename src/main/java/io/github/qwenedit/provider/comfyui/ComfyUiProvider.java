package io.github.qwenedit.provider.comfyui;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.Configuration;
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
import io.github.qwenedit.provider.ModelCatalogue;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderLimits;
import io.github.qwenedit.provider.ProviderErrors;
import io.github.qwenedit.staging.Staging;
import okhttp3.Headers;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * A ComfyUI server of the user's own running the open Qwen-Image-Edit weights, driven through its HTTP
 * API as https://github.com/comfyanonymous/ComfyUI/blob/master/server.py defines it: {@code GET
 * /object_info/{class}} for the installed nodes and model files, {@code POST /upload/image} for the
 * inputs, {@code POST /prompt} with a {@code client_id}, {@code GET /history/{prompt_id}} until the
 * prompt has run, {@code GET /view} for the results, {@code GET /queue}, {@code POST /interrupt} and
 * {@code POST /queue {"delete": [...]}} to stop it, and its WebSocket {@code /ws?clientId=} for the
 * sampler's steps while a prompt runs ({@link ProgressSocket}). The prompt id is the job id, so a run killed
 * while the server works is fetched later by a recovery like any cloud job.
 */
public final class ComfyUiProvider implements EditProvider {

	public static final String ID = "comfyui";
	public static final String BASE_URL_VARIABLE = "COMFYUI_BASE_URL";
	/** ComfyUI's own default address (its {@code --listen 127.0.0.1 --port 8188}). */
	public static final String DEFAULT_BASE_URL = "http://127.0.0.1:8188";
	/** One whole header, such as {@code Authorization: Bearer ...}, for a server behind an authenticating proxy. */
	public static final String AUTH_HEADER_VARIABLE = "COMFYUI_AUTH_HEADER";
	/** A workflow of the user's own in ComfyUI's API format, with marked inputs ({@link UserWorkflow}), run instead of the built-in graph. */
	public static final String WORKFLOW_FILE_VARIABLE = "COMFYUI_WORKFLOW_FILE";
	private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);
	/** The node types read once per batch rather than per job; a server's installed nodes rarely change. */
	private static final Duration NODES_KEPT = Duration.ofMinutes(2);

	static final List<ModelSpec> MODELS = ModelCatalogue.builtInModels(ID, Map.of());

	public static final ProviderDescriptor DESCRIPTOR = ProviderDescriptor.withOptionalKey(ID, "ComfyUI", MODELS,
		BASE_URL_VARIABLE, DEFAULT_BASE_URL, AUTH_HEADER_VARIABLE, "ComfyUI authentication header", ComfyUiProvider::new)
		// One GPU runs one prompt at a time and queues the rest; a few queued keep it busy between jobs
		// without parking a whole batch in a queue that a restart of the server empties.
		.withLimits(new ProviderLimits(3, 600))
		.withSettings(List.of(WORKFLOW_FILE_VARIABLE), (baseUrl, authHeader, settings) ->
			new ComfyUiProvider(baseUrl, authHeader, settings.get(WORKFLOW_FILE_VARIABLE)));

	private final HttpUrl base;
	/** The address without a user name or password it may have been given with, for messages and provenance. */
	private final String shownAddress;
	private final String authName;
	private final String authValue;
	/** Tells ComfyUI which of its clients sent a prompt; its WebSocket messages go to that client only. */
	private final String clientId = UUID.randomUUID().toString();
	/** The sampler's steps of this client's prompts, from the server's WebSocket; polling does without it. */
	private final ProgressSocket progressSocket = new ProgressSocket();
	/** The node types read so far, by class, each with when it was read. */
	private final Map<String, JsonNode> nodeInfo = new java.util.concurrent.ConcurrentHashMap<>();
	private final Map<String, Instant> nodeInfoRead = new java.util.concurrent.ConcurrentHashMap<>();
	/** The user's own workflow file, or null for the built-in graph. */
	private final Path workflowFile;

	/** @param authHeader one whole header line, or null when the server needs none */
	public ComfyUiProvider(String baseUrl, String authHeader) throws EditException {
		this(baseUrl, authHeader, null);
	}

	/**
	 * @param workflowFile the path of the user's API-format workflow with marked inputs, or null for the
	 *          built-in graph
	 */
	public ComfyUiProvider(String baseUrl, String authHeader, String workflowFile) throws EditException {
		this.workflowFile = workflowFile == null || workflowFile.isBlank() ? null : Paths.get(workflowFile.strip());
		this.base = ProviderDescriptor.resolve(baseUrl, BASE_URL_VARIABLE, "");
		this.shownAddress = base.newBuilder().username("").password("").build().toString();
		if (authHeader == null) {
			authName = null;
			authValue = null;
		}
		else {
			int colon = authHeader.indexOf(':');
			String name = colon < 1 ? "" : authHeader.substring(0, colon).trim();
			if (!name.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+")) {
				// The value is a secret: the message names the setting and the expected shape, never what was given.
				throw new EditException(ErrorKind.UNAUTHORIZED, AUTH_HEADER_VARIABLE + " must be one whole header, " +
					"a name, a colon and the value, such as \"Authorization: Bearer <token>\".");
			}
			Configuration.checkSendableInHeader(AUTH_HEADER_VARIABLE, authHeader);
			authName = name;
			authValue = authHeader.substring(colon + 1).trim();
		}
	}

	@Override
	public ProviderDescriptor descriptor() {
		return DESCRIPTOR;
	}

	@Override
	public String serviceAddress() {
		return base.toString();
	}

	/** Images go to the server's own input folder only; it reads no links. */
	@Override
	public long maxInlineBytes() {
		return 0;
	}

	@Override
	public boolean readsOnlyOwnUploads() {
		return true;
	}

	@Override
	public Optional<Staging> uploadStaging() {
		return Optional.of(new ComfyUiUploadStaging(this));
	}

	/** The auth header, on the configured server only: a link elsewhere gets nothing. */
	@Override
	public Headers downloadHeaders(String outputUrl) {
		HttpUrl url = HttpUrl.parse(outputUrl);
		boolean ours = url != null && url.host().equalsIgnoreCase(base.host()) && url.port() == base.port();
		return authName != null && ours ? Headers.of(authName, authValue) : Headers.of();
	}

	Request.Builder request(String path) {
		Request.Builder b = new Request.Builder().url(base.resolve(path));
		if (authName != null) b.header(authName, authValue);
		return b;
	}

	/**
	 * Reads the server's nodes and model files and refuses, before anything is uploaded or queued, a
	 * server that lacks a node type or a model file, in one sentence naming what to install; with the
	 * user's own workflow, reads and checks that whole graph, filled in as it will be sent.
	 */
	@Override
	public Optional<String> checkPublishedSchema(EditRequest request, Http http) throws EditException {
		if (workflowFile != null) {
			List<String> placeholders = new ArrayList<>();
			for (int i = 0; i < request.images().size(); i++) {
				placeholders.add(ComfyUiUploadStaging.SUBFOLDER + "/image" + (i + 1) + ".png");
			}
			userGraph(request, placeholders, http);
			return Optional.empty();
		}
		QwenEditWorkflow.modelFiles(serverNodes(http, QwenEditWorkflow.NODE_TYPES), request.options().model(), shownAddress);
		return Optional.empty();
	}

	/**
	 * The server's descriptions of {@code classes}, one request per class: the whole {@code /object_info}
	 * of a server with many custom nodes runs to megabytes. A class read within {@link #NODES_KEPT} is
	 * not asked again, so a batch asks once; a server's installed nodes rarely change.
	 */
	private ServerNodes serverNodes(Http http, java.util.Collection<String> classes) throws EditException {
		ObjectNode info = Json.object();
		for (String node : classes) {
			Instant read = nodeInfoRead.get(node);
			if (read == null || !read.plus(NODES_KEPT).isAfter(Instant.now())) {
				JsonNode answer = JobCalls.fetch(http, request("object_info/" + node).get().build(), displayName(),
					reply -> error(reply, "ComfyUI did not describe its nodes"));
				// An unknown class answers {} (server.py, get_object_info_node).
				if (answer.has(node)) nodeInfo.put(node, answer.get(node));
				else nodeInfo.remove(node);
				nodeInfoRead.put(node, Instant.now());
			}
			JsonNode known = nodeInfo.get(node);
			if (known != null) info.set(node, known);
		}
		return ServerNodes.parse(info);
	}

	/** The user's workflow filled in for {@code request} with the uploaded {@code images}, checked against the server. */
	private ObjectNode userGraph(EditRequest request, List<String> images, Http http) throws EditException {
		UserWorkflow workflow = UserWorkflow.read(workflowFile);
		EditOptions o = request.options();
		workflow.checkAsked(o.seed().isPresent(), o.negativePrompt() != null && !o.negativePrompt().isBlank(),
			o.size().isPresent(), o.outputs());
		ServerNodes server = serverNodes(http, workflow.classTypes());
		return workflow.fill(server, inputs(request, images), shownAddress);
	}

	private static QwenEditWorkflow.Inputs inputs(EditRequest request, List<String> images) {
		EditOptions o = request.options();
		InputImage first = request.images().get(0);
		ImageSize size = o.size().orElse(new ImageSize(first.width(), first.height()));
		// KSampler takes seeds up to 2^64-1; a seed chosen here is recorded, so the edit can be repeated.
		long seed = o.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong(0, 1L << 50));
		return new QwenEditWorkflow.Inputs(images, request.instruction().strip(),
			o.negativePrompt() == null ? "" : o.negativePrompt(), seed, side(size.width()), side(size.height()), o.outputs());
	}

	@Override
	public JobState submit(EditRequest request, List<String> imageUrls, Http http) throws EditException {
		ObjectNode body = Json.object();
		Map<String, String> submitFacts = new LinkedHashMap<>();
		if (workflowFile != null) {
			body.set("prompt", userGraph(request, imageUrls, http));
			submitFacts.put("ComfyUIWorkflowFile", String.valueOf(workflowFile.getFileName()));
		}
		else {
			ServerNodes server = serverNodes(http, QwenEditWorkflow.NODE_TYPES);
			QwenEditWorkflow.ModelFiles files = QwenEditWorkflow.modelFiles(server, request.options().model(), shownAddress);
			body.set("prompt", QwenEditWorkflow.build(server, files, inputs(request, imageUrls)));
		}
		body.put("client_id", clientId);
		// Opened before the prompt is queued: the server sends a prompt's messages only to the sockets
		// connected under its client_id at that moment (server.py, send_json).
		HttpUrl socketUrl = base.resolve("ws").newBuilder().addQueryParameter("clientId", clientId).build();
		if (http.follows(socketUrl.toString())) progressSocket.open(Http.sharedClient(), request("ws").url(socketUrl).build());
		String promptId;
		try {
			HttpReply reply = http.send(request("prompt").post(RequestBody.create(Json.bytes(body), JSON)).build(),
				CallKind.CREATE, CALL_TIMEOUT, displayName());
			if (!reply.isSuccessful()) throw error(reply, "ComfyUI refused the workflow");
			promptId = Json.text(Json.parse(reply.body(), displayName()), "prompt_id");
			if (promptId == null || !promptId.matches("[A-Za-z0-9-]{1,64}")) {
				throw new EditException(ErrorKind.PROVIDER_FAILURE, "ComfyUI queued the edit but sent no prompt id, so its " +
					"result cannot be fetched.");
			}
		}
		catch (EditException | RuntimeException e) {
			progressSocket.closeIfIdle();
			throw e;
		}
		progressSocket.follow(promptId);
		return JobState.queued(new JobHandle(promptId, base.resolve("history/" + promptId).toString(), null, null)
			.withSubmitFacts(submitFacts), null);
	}

	/** The nearest multiple of 16 ({@code EmptySD3LatentImage}'s step), at least 16. */
	static int side(int pixels) {
		int step = QwenEditWorkflow.SIDE_STEP;
		return Math.max(step, Math.round(pixels / (float) step) * step);
	}

	/**
	 * The prompt's history entry once it has run ({@code {prompt_id: {"prompt": [number, id, graph,
	 * extra, outputs], "outputs": {node: {"images": [...]}}, "status": {"status_str", "completed",
	 * "messages"}}}}, execution.py {@code PromptQueue.task_done}); before that the history is empty, and
	 * the queue tells whether the prompt still waits or runs.
	 */
	@Override
	public JobState poll(JobHandle job, Http http) throws EditException {
		requireSameServer(job);
		JobState state = look(job, http);
		if (state.status().isFinal()) progressSocket.forget(job.id());
		return state;
	}

	/**
	 * The history first, always: it alone says how a prompt ended. While the WebSocket says the
	 * prompt runs, that and its steps stand in for the queue; otherwise the queue is asked.
	 */
	private JobState look(JobHandle job, Http http) throws EditException {
		Optional<JsonNode> entry = historyEntry(job, http);
		if (entry.isPresent()) return finished(job, entry.get());
		Optional<ProgressSocket.Seen> seen = progressSocket.seen(job.id());
		if (seen.isPresent() && seen.get().started && !seen.get().ended) return withSteps(JobState.running(job), seen.get());
		Optional<JobState> queued = inQueue(job, http);
		if (queued.isPresent()) return seen.isPresent() ? withSteps(queued.get(), seen.get()) : queued.get();
		// It may have finished between the two calls.
		entry = historyEntry(job, http);
		if (entry.isPresent()) return finished(job, entry.get());
		return JobState.failed(job, new EditException(ErrorKind.PROVIDER_FAILURE, "The ComfyUI server at " + shownAddress +
			" no longer knows the edit " + job.id() + " (it was restarted, or its history cleared), so its result is lost."));
	}

	private static JobState withSteps(JobState state, ProgressSocket.Seen seen) {
		int done = seen.stepsDone;
		int total = seen.stepsTotal;
		return state.status() == JobState.Status.RUNNING && done >= 0 && total > 0 ? state.withSteps(done, total) : state;
	}

	/**
	 * A prompt is known only to the server it was queued on: a journal's job from another address (the
	 * setting changed since) is left for when that server is configured again, rather than asked of this
	 * one, which would not know it and so lose it.
	 */
	private void requireSameServer(JobHandle job) throws EditException {
		HttpUrl queuedOn = job.pollUrl().map(HttpUrl::parse).orElse(null);
		if (queuedOn == null || queuedOn.host().equalsIgnoreCase(base.host()) && queuedOn.port() == base.port()) return;
		String link = queuedOn.newBuilder().username("").password("").build().toString();
		String other = link.contains("history/") ? link.substring(0, link.lastIndexOf("history/")) : link;
		throw new EditException(ErrorKind.INVALID_INPUT, "The edit " + job.id() + " was queued on the ComfyUI server at " +
			other + ", not on " + shownAddress + ": set " + BASE_URL_VARIABLE + " to " + other + " to fetch its result.");
	}

	private Optional<JsonNode> historyEntry(JobHandle job, Http http) throws EditException {
		JsonNode history = JobCalls.fetch(http, request("history/" + job.id()).get().build(), displayName(),
			reply -> error(reply, "ComfyUI did not answer about the edit"));
		JsonNode entry = history.get(job.id());
		return entry == null || !entry.isObject() ? Optional.empty() : Optional.of(entry);
	}

	private Optional<JobState> inQueue(JobHandle job, Http http) throws EditException {
		JsonNode queue = JobCalls.fetch(http, request("queue").get().build(), displayName(),
			reply -> error(reply, "ComfyUI did not show its queue"));
		if (contains(queue.path("queue_running"), job.id())) return Optional.of(JobState.running(job));
		JsonNode pending = queue.path("queue_pending");
		if (contains(pending, job.id())) {
			// Items are [number, prompt_id, ...]; the server runs the lowest number first.
			double ours = Double.NaN;
			for (JsonNode item : pending) {
				if (job.id().equals(item.path(1).asText())) ours = item.path(0).asDouble();
			}
			int ahead = 0;
			for (JsonNode item : pending) {
				if (item.path(0).asDouble() < ours) ahead++;
			}
			return Optional.of(JobState.queued(job, ahead + queue.path("queue_running").size()));
		}
		return Optional.empty();
	}

	private static boolean contains(JsonNode items, String promptId) {
		for (JsonNode item : items) {
			if (promptId.equals(item.path(1).asText())) return true;
		}
		return false;
	}

	private JobState finished(JobHandle job, JsonNode entry) {
		JsonNode status = entry.path("status");
		String statusWord = status.path("status_str").asText("success");
		JsonNode graph = entry.path("prompt").path(2);
		if (!"success".equals(statusWord)) return JobState.failed(job, executionError(status));
		String saveNode = QwenEditWorkflow.saveNodeId(graph);
		List<String> links = new ArrayList<>();
		for (Iterator<Map.Entry<String, JsonNode>> it = entry.path("outputs").fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> output = it.next();
			if (saveNode != null && !saveNode.equals(output.getKey())) continue;
			for (JsonNode image : output.getValue().path("images")) {
				if (!"output".equals(image.path("type").asText())) continue;
				links.add(base.resolve("view").newBuilder().addQueryParameter("filename", image.path("filename").asText())
					.addQueryParameter("subfolder", image.path("subfolder").asText(""))
					.addQueryParameter("type", "output").build().toString());
			}
		}
		Map<String, String> facts = new LinkedHashMap<>();
		facts.put("ComfyUIServer", shownAddress);
		if (graph.isObject()) facts.putAll(QwenEditWorkflow.facts(graph));
		return JobState.succeeded(job, links, facts);
	}

	/** The sentence of a run that failed: ComfyUI's {@code execution_error} message names the node and the exception. */
	private EditException executionError(JsonNode status) {
		for (JsonNode message : status.path("messages")) {
			String kind = message.path(0).asText();
			JsonNode data = message.path(1);
			if ("execution_error".equals(kind)) {
				String reason = ProviderErrors.clip(data.path("exception_message").asText("no reason given").strip());
				return new EditException(ErrorKind.PROVIDER_FAILURE, "ComfyUI failed in its " +
					data.path("node_type").asText("?") + " node: " + reason + (reason.matches(".*[.!?]$") ? "" : "."));
			}
			if ("execution_interrupted".equals(kind)) {
				return new EditException(ErrorKind.CANCELLED, "The edit was interrupted on the ComfyUI server.");
			}
		}
		return new EditException(ErrorKind.PROVIDER_FAILURE, "ComfyUI reports that the edit failed, without a reason.");
	}

	/** {@code GET /system_stats} answers with the server's version, and runs nothing. */
	@Override
	public String checkKey(Http http) throws EditException {
		JsonNode stats = JobCalls.fetch(http, request("system_stats").get().build(), displayName(),
			reply -> error(reply, "ComfyUI did not answer"));
		String version = stats.path("system").path("comfyui_version").asText("");
		return "The ComfyUI server at " + shownAddress + " answers" + (version.isEmpty() ? "" : " (version " + version + ")") + ".";
	}

	/**
	 * {@code POST /interrupt} stops whatever the server runs, so it is sent only while the queue shows
	 * this prompt running (newer servers also take its {@code prompt_id}); a prompt still waiting is
	 * deleted from the queue instead.
	 */
	@Override
	public boolean cancel(JobHandle job, Http http) {
		progressSocket.forget(job.id());
		try {
			JsonNode queue = JobCalls.fetch(http, request("queue").get().build(), displayName(),
				reply -> error(reply, "ComfyUI did not show its queue"));
			ObjectNode body = Json.object();
			if (contains(queue.path("queue_running"), job.id())) {
				body.put("prompt_id", job.id());
				return JobCalls.requestCancel(http, request("interrupt").post(RequestBody.create(Json.bytes(body), JSON))
					.build(), displayName());
			}
			if (contains(queue.path("queue_pending"), job.id())) {
				body.putArray("delete").add(job.id());
				return JobCalls.requestCancel(http, request("queue").post(RequestBody.create(Json.bytes(body), JSON))
					.build(), displayName());
			}
			return false;
		}
		catch (EditException e) {
			return false;
		}
	}

	/**
	 * ComfyUI's refusals: {@code {"error": {"type", "message", "details"}, "node_errors": {id: {"errors":
	 * [{"message", "details"}], "class_type"}}}} from {@code POST /prompt} (server.py, execution.py
	 * {@code validate_prompt}); a proxy's 401 or 403 means the auth header.
	 */
	EditException error(HttpReply reply, String what) {
		StringBuilder said = new StringBuilder();
		try {
			JsonNode body = Json.parse(reply.body(), displayName());
			for (Iterator<Map.Entry<String, JsonNode>> it = body.path("node_errors").fields(); it.hasNext();) {
				Map.Entry<String, JsonNode> node = it.next();
				for (JsonNode e : node.getValue().path("errors")) {
					said.append(said.length() == 0 ? "" : "; ").append(node.getValue().path("class_type").asText("node"))
						.append(' ').append(node.getKey()).append(": ").append(e.path("message").asText(""));
					String details = e.path("details").asText("");
					if (!details.isEmpty()) said.append(" (").append(details).append(')');
				}
			}
			// The nodes' own errors say what is wrong; the overall one only that validation failed.
			JsonNode error = body.path("error");
			if (said.length() == 0 && error.isTextual()) said.append(error.asText());
			if (said.length() == 0 && error.isObject()) {
				said.append(error.path("message").asText(""));
				String details = error.path("details").asText("");
				if (!details.isEmpty()) said.append(" (").append(details).append(')');
			}
		}
		catch (EditException notJson) {
			// The status alone says enough.
		}
		int code = reply.code();
		if (code == 401 || code == 403) {
			return new EditException(ErrorKind.UNAUTHORIZED, "The ComfyUI server at " + shownAddress + " refused the request " +
				"(HTTP " + code + "): check " + AUTH_HEADER_VARIABLE + " in the environment or in Plugins > Qwen Image " +
				"Edit > Settings.");
		}
		if (code == 400 && said.length() > 0) {
			String reason = ProviderErrors.clip(said.toString());
			return new EditException(ErrorKind.INVALID_INPUT, what + ": " + reason + (reason.matches(".*[.!?]$") ? "" : "."));
		}
		return ProviderErrors.fromStatus(reply, displayName(), AUTH_HEADER_VARIABLE, said.toString());
	}
}
