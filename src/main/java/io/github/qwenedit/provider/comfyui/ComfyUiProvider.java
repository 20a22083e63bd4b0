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
import io.github.qwenedit.core.Deadline;
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
import io.github.qwenedit.provider.SettingsField;
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
	/** Several servers, comma-separated, used instead of {@link #BASE_URL_VARIABLE} and spread over by a batch. */
	public static final String BASE_URLS_VARIABLE = "COMFYUI_BASE_URLS";
	/** How long a server that could not be reached gets no new edits before it is tried again. */
	static final Duration DOWN_FOR = Duration.ofSeconds(60);
	/** How long after a lost answer to POST /prompt the server is asked whether it took the prompt. */
	static final Duration ANSWER_LOST_SETTLE = Duration.ofSeconds(2);
	/** Edits one server holds at once in a batch: one running and the next waiting keep its GPU busy. */
	static final int EDITS_PER_SERVER = 3;
	private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);
	/** The node types read once per batch rather than per job; a server's installed nodes rarely change. */
	private static final Duration NODES_KEPT = Duration.ofMinutes(2);

	static final List<ModelSpec> MODELS = ModelCatalogue.builtInModels(ID, Map.of());

	public static final ProviderDescriptor DESCRIPTOR = ProviderDescriptor.withOptionalKey(ID, "ComfyUI", MODELS,
		BASE_URL_VARIABLE, DEFAULT_BASE_URL, AUTH_HEADER_VARIABLE, "ComfyUI authentication header", ComfyUiProvider::new)
		// One GPU runs one prompt at a time and queues the rest; a few queued keep it busy between jobs
		// without parking a whole batch in a queue that a restart of the server empties.
		.withLimits(new ProviderLimits(EDITS_PER_SERVER, 600))
		.withSettings(List.of(WORKFLOW_FILE_VARIABLE, BASE_URLS_VARIABLE), List.of(BASE_URLS_VARIABLE),
			(baseUrl, authHeader, settings) -> new ComfyUiProvider(settings.getOrDefault(BASE_URLS_VARIABLE, baseUrl),
				authHeader, settings.get(WORKFLOW_FILE_VARIABLE)))
		// The address first: most servers need nothing else.
		.withSettingsFields(new SettingsField(BASE_URL_VARIABLE, "comfyuiBaseUrl", "ComfyUI server address"),
			new SettingsField(AUTH_HEADER_VARIABLE, "comfyuiAuthHeader", "ComfyUI auth header (only behind a proxy)"),
			new SettingsField(WORKFLOW_FILE_VARIABLE, "comfyuiWorkflowFile", "ComfyUI workflow file (API format, optional)"),
			new SettingsField(BASE_URLS_VARIABLE, "comfyuiBaseUrls", "ComfyUI servers for batches (comma-separated, optional)"));

	/** One of the configured servers, with what is known of it. */
	final class Server {
		final HttpUrl base;
		/** The address without a user name or password it may have been given with, for messages and provenance. */
		final String shownAddress;
		/** The node types read so far, by class, each with when it was read. */
		final Map<String, JsonNode> nodeInfo = new java.util.concurrent.ConcurrentHashMap<>();
		final Map<String, Instant> nodeInfoRead = new java.util.concurrent.ConcurrentHashMap<>();
		/** The sampler's steps of this client's prompts, from the server's WebSocket; polling does without it. */
		final ProgressSocket progressSocket = new ProgressSocket();
		/** Edits whose inputs went, or go, to this server and that are not over. */
		final java.util.concurrent.atomic.AtomicInteger editsHeld = new java.util.concurrent.atomic.AtomicInteger();
		volatile Instant downUntil = Instant.MIN;

		Server(HttpUrl base) {
			this.base = base;
			this.shownAddress = base.newBuilder().username("").password("").build().toString();
		}

		Request.Builder request(String path) {
			Request.Builder b = new Request.Builder().url(base.resolve(path));
			if (authName != null) b.header(authName, authValue);
			return b;
		}

		boolean holds(HttpUrl url) {
			return url != null && url.host().equalsIgnoreCase(base.host()) && url.port() == base.port();
		}

		boolean isDown() {
			return downUntil.isAfter(Instant.now());
		}
	}

	private final List<Server> servers;
	private final String authName;
	private final String authValue;
	/** Tells ComfyUI which of its clients sent a prompt; its WebSocket messages go to that client only. */
	private final String clientId = UUID.randomUUID().toString();
	/** The staging of each edit under way, by the name of an input it uploaded, for its submit to find. */
	private final Map<String, ComfyUiUploadStaging> stagings = new java.util.concurrent.ConcurrentHashMap<>();
	/** The prompt id {@link #plannedJob} chose for each edit, by the name of an input it uploaded. */
	private final Map<String, String> plannedPromptIds = new java.util.concurrent.ConcurrentHashMap<>();
	/** The user's own workflow file, or null for the built-in graph. */
	private final Path workflowFile;

	/** @param authHeader one whole header line, or null when the server needs none */
	public ComfyUiProvider(String baseUrl, String authHeader) throws EditException {
		this(baseUrl, authHeader, null);
	}

	/**
	 * @param baseUrls one server's address, or several, comma-separated
	 * @param workflowFile the path of the user's API-format workflow with marked inputs, or null for the
	 *          built-in graph
	 */
	public ComfyUiProvider(String baseUrls, String authHeader, String workflowFile) throws EditException {
		this.workflowFile = workflowFile == null || workflowFile.isBlank() ? null : Paths.get(workflowFile.strip());
		List<Server> configured = new ArrayList<>();
		boolean several = baseUrls.contains(",");
		for (String address : baseUrls.split(",")) {
			if (address.isBlank()) continue;
			Server server = new Server(ProviderDescriptor.resolve(address.strip(), several ? BASE_URLS_VARIABLE
				: BASE_URL_VARIABLE, ""));
			if (configured.stream().noneMatch(other -> other.holds(server.base))) configured.add(server);
		}
		if (configured.isEmpty()) {
			throw new EditException(ErrorKind.INVALID_INPUT, BASE_URLS_VARIABLE + " names no server: give one or more " +
				"addresses, comma-separated.");
		}
		this.servers = List.copyOf(configured);
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
		return servers.get(0).base.toString();
	}

	@Override
	public List<String> serviceAddresses() {
		List<String> all = new ArrayList<>();
		servers.forEach(s -> all.add(s.base.toString()));
		return all;
	}

	/**
	 * A model of the catalogue, or a Qwen-Image-Edit diffusion model file of the server by its name
	 * (qwen_image_edit_2511_bf16.safetensors), with the limits of the model it is a file of: a lab
	 * may keep several precisions of one model and choose. Whether the server has the file is checked
	 * before anything is uploaded ({@link #checkPublishedSchema}).
	 */
	@Override
	public ModelSpec model(String id) throws EditException {
		if (!aFileOfTheServer(id)) return EditProvider.super.model(id);
		Optional<String> fileOf = id == null ? Optional.empty() : QwenEditWorkflow.modelOf(id);
		if (fileOf.isPresent()) return EditProvider.super.model(fileOf.get()).named(id);
		try {
			return EditProvider.super.model(id);
		}
		catch (EditException unknown) {
			throw unknown.followedBy("A Qwen-Image-Edit 2509 or 2511 diffusion model file on the server is taken too, " +
				"by its file name (such as qwen_image_edit_2511_bf16.safetensors).");
		}
	}

	/** The server's Qwen-Image-Edit diffusion model files, read from its UNETLoader's choices. */
	@Override
	public List<String> installedModels(Http http) throws EditException {
		return QwenEditWorkflow.installed(serverNodes(preferred(), http, List.of(QwenEditWorkflow.UNET_LOADER))
			.choices(QwenEditWorkflow.UNET_LOADER, "unet_name"));
	}

	/** Whether {@code model} names a file of the server rather than a model of the catalogue. */
	private boolean aFileOfTheServer(String model) {
		return models().stream().noneMatch(m -> m.id().equals(model));
	}

	/** Each server holds a few edits at once, so a batch over several runs that many more at once. */
	@Override
	public ProviderLimits limits() {
		ProviderLimits one = DESCRIPTOR.limits();
		return new ProviderLimits(one.maxConcurrentJobs() * servers.size(), one.createsPerMinute())
			.over(servers.size() == 1 ? "on its server" : "on its " + servers.size() + " servers");
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

	/** The auth header, on the configured servers only: a link elsewhere gets nothing. */
	@Override
	public Headers downloadHeaders(String outputUrl) {
		HttpUrl url = HttpUrl.parse(outputUrl);
		boolean ours = servers.stream().anyMatch(s -> s.holds(url));
		return authName != null && ours ? Headers.of(authName, authValue) : Headers.of();
	}

	/**
	 * The server for a new edit: of those not found down, the one holding the fewest edits of this
	 * client (the first listed when they hold alike), so a batch spreads over them, one queue each.
	 */
	synchronized Server assign() {
		Server best = null;
		for (Server s : servers) {
			if (s.isDown()) continue;
			if (best == null || s.editsHeld.get() < best.editsHeld.get()) best = s;
		}
		if (best == null) {
			// All were found down: the one down longest is tried again.
			for (Server s : servers) {
				if (best == null || s.downUntil.isBefore(best.downUntil)) best = s;
			}
		}
		best.editsHeld.incrementAndGet();
		return best;
	}

	/**
	 * Marks {@code from} down and moves one edit it held to another server; empty when there is no
	 * other (a single server, or all of them found down just now).
	 */
	synchronized Optional<Server> handOver(Server from) {
		from.downUntil = Instant.now().plus(DOWN_FOR);
		Server best = null;
		for (Server s : servers) {
			if (s == from || s.isDown()) continue;
			if (best == null || s.editsHeld.get() < best.editsHeld.get()) best = s;
		}
		if (best == null) return Optional.empty();
		from.editsHeld.decrementAndGet();
		best.editsHeld.incrementAndGet();
		return Optional.of(best);
	}

	void release(Server server) {
		server.editsHeld.decrementAndGet();
	}

	void staged(String name, ComfyUiUploadStaging staging) {
		stagings.put(name, staging);
	}

	void unstaged(String name) {
		stagings.remove(name);
	}

	/**
	 * Whether a call never reached the server, so that an edit not yet queued there can go to another:
	 * the connection was refused or the host not found, so the request was never sent.
	 */
	static boolean neverReached(EditException e) {
		if (e.kind() != ErrorKind.NETWORK) return false;
		for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
			if (t instanceof java.net.ConnectException || t instanceof java.net.UnknownHostException ||
				t instanceof java.net.NoRouteToHostException)
			{
				return true;
			}
		}
		return false;
	}

	/** A proxy in front says the server behind it is gone or too slow: whether it took the prompt is unknown. */
	static boolean gatewayGone(HttpReply reply) {
		return reply.code() == 502 || reply.code() == 503 || reply.code() == 504;
	}

	/** A lab's servers come and go from the setting; a prompt waits on its own server until it is set again ({@link #serverOf}). */
	@Override
	public boolean keepsJobsOfOtherAddresses() {
		return true;
	}

	/** The server a journalled or running job was queued on, by its history link. */
	private Server serverOf(JobHandle job) throws EditException {
		HttpUrl queuedOn = job.pollUrl().map(HttpUrl::parse).orElse(null);
		if (queuedOn == null) return servers.get(0);
		for (Server s : servers) {
			if (s.holds(queuedOn)) return s;
		}
		// A prompt is known only to the server it was queued on: a journal's job from another address (the
		// setting changed since) is left for when that server is configured again, rather than asked of
		// these, which would not know it and so lose it.
		String link = queuedOn.newBuilder().username("").password("").build().toString();
		String other = link.contains("history/") ? link.substring(0, link.lastIndexOf("history/")) : link;
		String configured = servers.size() == 1 ? servers.get(0).shownAddress : "any of " + String.join(", ",
			servers.stream().map(s -> s.shownAddress).collect(java.util.stream.Collectors.toList()));
		throw new EditException(ErrorKind.INVALID_INPUT, "The edit " + job.id() + " was queued on the ComfyUI server at " +
			other + ", not on " + configured + ": set " + BASE_URL_VARIABLE + " to " + other + " (or add it to " +
			BASE_URLS_VARIABLE + ") to fetch its result.");
	}

	/**
	 * Reads the server's nodes and model files and refuses, before anything is uploaded or queued, a
	 * server that lacks a node type or a model file, in one sentence naming what to install; with the
	 * user's own workflow, reads and checks that whole graph, filled in as it will be sent.
	 */
	@Override
	public Optional<String> checkPublishedSchema(EditRequest request, Http http) throws EditException {
		List<String> placeholders = new ArrayList<>();
		for (int i = 0; i < request.images().size(); i++) {
			placeholders.add(ComfyUiUploadStaging.SUBFOLDER + "/image" + (i + 1) + ".png");
		}
		for (int tries = 0;; tries++) {
			Server server = preferred();
			// One short attempt: a server that takes connections and never answers (a frozen machine)
			// must not hold the edit, or a whole batch, for the call's full time-out and its retries.
			Http asking = http.forShortRead(SERVER_ANSWER_TIME);
			try {
				if (workflowFile != null) userGraph(server, request, placeholders, asking);
				else {
					String model = request.options().model();
					QwenEditWorkflow.modelFiles(serverNodes(server, asking, QwenEditWorkflow.NODE_TYPES), model,
						aFileOfTheServer(model), server.shownAddress);
				}
				return Optional.empty();
			}
			catch (EditException e) {
				http.cancellation().throwIfCancelled();
				boolean silent = e.kind() == ErrorKind.TIMED_OUT && !http.deadline().expired();
				EditException failure = !silent ? e : new EditException(ErrorKind.NETWORK, "The ComfyUI server at " +
					server.shownAddress + " took the connection but did not answer within " +
					Deadline.describe(SERVER_ANSWER_TIME) + ": check that it runs and is not stuck.", e);
				// A server found down gets no edit for a while; the next one up is asked instead.
				if (!(neverReached(failure) || silent) || servers.size() == 1 || tries >= servers.size()) throw failure;
				server.downUntil = Instant.now().plus(DOWN_FOR);
			}
		}
	}

	/** How long the check before an edit waits for a server to describe its nodes (it answers in milliseconds). */
	static final Duration SERVER_ANSWER_TIME = Duration.ofSeconds(20);

	/**
	 * The server the check before an edit asks: the one the edit will most likely go to. Several
	 * servers of one batch are meant to be alike; the graph is built again for the server that takes
	 * the edit, from that server's own nodes.
	 */
	private synchronized Server preferred() {
		Server best = null;
		for (Server s : servers) {
			if (!s.isDown() && (best == null || s.editsHeld.get() < best.editsHeld.get())) best = s;
		}
		return best == null ? servers.get(0) : best;
	}

	/**
	 * The server's descriptions of {@code classes}, one request per class: the whole {@code /object_info}
	 * of a server with many custom nodes runs to megabytes. A class read within {@link #NODES_KEPT} is
	 * not asked again, so a batch asks once; a server's installed nodes rarely change.
	 */
	private ServerNodes serverNodes(Server server, Http http, java.util.Collection<String> classes) throws EditException {
		ObjectNode info = Json.object();
		for (String node : classes) {
			Instant read = server.nodeInfoRead.get(node);
			if (read == null || !read.plus(NODES_KEPT).isAfter(Instant.now())) {
				JsonNode answer = JobCalls.fetch(http, server.request("object_info/" + node).get().build(), displayName(),
					reply -> error(server, reply, "ComfyUI did not describe its nodes"));
				// An unknown class answers {} (server.py, get_object_info_node).
				if (answer.has(node)) server.nodeInfo.put(node, answer.get(node));
				else server.nodeInfo.remove(node);
				server.nodeInfoRead.put(node, Instant.now());
			}
			JsonNode known = server.nodeInfo.get(node);
			if (known != null) info.set(node, known);
		}
		return ServerNodes.parse(info);
	}

	/** The user's workflow filled in for {@code request} with the uploaded {@code images}, checked against the server. */
	private ObjectNode userGraph(Server on, EditRequest request, List<String> images, Http http) throws EditException {
		UserWorkflow workflow = UserWorkflow.read(workflowFile);
		EditOptions o = request.options();
		workflow.checkAsked(o.seed().isPresent(), o.negativePrompt() != null && !o.negativePrompt().isBlank(),
			o.size().isPresent(), o.outputs());
		ServerNodes server = serverNodes(on, http, workflow.classTypes());
		List<String> names = images;
		if (request.images().isEmpty()) {
			// A check of the options alone, before a batch starts: the graph is filled as it will be, with
			// stand-ins for the images each edit uploads.
			names = new ArrayList<>();
			for (int i = 0; i < workflow.imageCount(); i++) {
				names.add(ComfyUiUploadStaging.SUBFOLDER + "/image" + (i + 1) + ".png");
			}
		}
		return workflow.fill(server, inputs(request, names), on.shownAddress);
	}

	/** The size a check of the options alone fills in where each edit will give its image's own. */
	private static final ImageSize SIZE_OF_AN_OPTIONS_CHECK = new ImageSize(1024, 1024);

	private QwenEditWorkflow.Inputs inputs(EditRequest request, List<String> images) throws EditException {
		EditOptions o = request.options();
		// "As input" is the first image's size within the model's sides: an input fitted to the larger
		// sides every provider takes (codec.InputFitting) would otherwise make a latent the model's
		// stated range does not cover, and a larger load on the lab's GPU than the user chose.
		ImageSize size = o.size().orElse(null);
		if (size == null) {
			size = request.images().isEmpty() ? SIZE_OF_AN_OPTIONS_CHECK : model(o.model()).sizeRule()
				.nearestAccepted(new ImageSize(request.images().get(0).width(), request.images().get(0).height()));
		}
		// KSampler takes seeds up to 2^64-1, but a seed chosen here is recorded so that the edit can be
		// repeated, and the dialog, macros and --seed take seeds up to 2^31-1 (core.OptionText).
		long seed = o.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong(0, Integer.MAX_VALUE + 1L));
		return new QwenEditWorkflow.Inputs(images, request.instruction().strip(),
			o.negativePrompt() == null ? "" : o.negativePrompt(), seed, side(size.width()), side(size.height()), o.outputs());
	}

	/**
	 * Queues the edit on the server its inputs went to. A server that cannot be reached before it took
	 * the prompt hands the edit to another: the inputs are uploaded there again and the prompt queued
	 * there, so a batch goes on over the servers still up.
	 */
	@Override
	public JobState submit(EditRequest request, List<String> imageUrls, Http http) throws EditException {
		ComfyUiUploadStaging staging = stagings.get(imageUrls.get(0));
		Server server = staging == null ? servers.get(0) : staging.server();
		String promptId = plannedPromptIds.remove(imageUrls.get(0));
		if (promptId == null) promptId = UUID.randomUUID().toString();
		for (int tries = 0;; tries++) {
			try {
				return submit(server, request, imageUrls, promptId, http);
			}
			catch (Unreached e) {
				Optional<Server> other = staging == null || tries >= servers.size() ? Optional.empty() : handOver(server);
				if (!other.isPresent()) throw e.failure;
				server = staging.moveTo(other.get(), http);
			}
		}
	}

	/**
	 * Our own prompt id (server.py takes the request's "prompt_id"), chosen before the create so that a
	 * journal holds it while the prompt is sent: an answer lost on the way back, or a run killed
	 * meanwhile, can then be asked about rather than the edit queued a second time.
	 */
	@Override
	public Optional<JobHandle> plannedJob(List<String> imageUrls) {
		ComfyUiUploadStaging staging = stagings.get(imageUrls.get(0));
		JobHandle ours = handleOn(staging == null ? servers.get(0) : staging.server(), UUID.randomUUID().toString());
		plannedPromptIds.put(imageUrls.get(0), ours.id());
		return Optional.of(ours);
	}

	/** A call that never reached the server (see {@link #neverReached}), with the failure to report if no other can take the edit. */
	static final class Unreached extends Exception {
		private static final long serialVersionUID = 1L;
		final transient EditException failure;

		Unreached(EditException failure) {
			super(failure.getMessage(), failure, false, false);
			this.failure = failure;
		}
	}

	private JobState submit(Server server, EditRequest request, List<String> imageUrls, String promptId, Http http)
		throws EditException, Unreached
	{
		ObjectNode body = Json.object();
		Map<String, String> submitFacts = new LinkedHashMap<>();
		if (workflowFile != null) {
			body.set("prompt", userGraph(server, request, imageUrls, http));
			submitFacts.put("ComfyUIWorkflowFile", String.valueOf(workflowFile.getFileName()));
		}
		else {
			ServerNodes nodes = serverNodes(server, http, QwenEditWorkflow.NODE_TYPES);
			String model = request.options().model();
			QwenEditWorkflow.ModelFiles files = QwenEditWorkflow.modelFiles(nodes, model, aFileOfTheServer(model),
				server.shownAddress);
			body.set("prompt", QwenEditWorkflow.build(nodes, files, inputs(request, imageUrls)));
		}
		body.put("client_id", clientId);
		JobHandle ours = handleOn(server, promptId);
		body.put("prompt_id", ours.id());
		// Opened before the prompt is queued: the server sends a prompt's messages only to the sockets
		// connected under its client_id at that moment (server.py, send_json).
		HttpUrl socketUrl = server.base.resolve("ws").newBuilder().addQueryParameter("clientId", clientId).build();
		if (http.follows(socketUrl.toString())) {
			server.progressSocket.open(Http.sharedClient(), server.request("ws").url(socketUrl).build());
		}
		String answeredId;
		try {
			HttpReply reply;
			try {
				reply = http.send(server.request("prompt").post(RequestBody.create(Json.bytes(body), JSON)).build(),
					CallKind.CREATE, CALL_TIMEOUT, displayName());
			}
			catch (EditException e) {
				if (neverReached(e)) throw new Unreached(e);
				if (e.kind() == ErrorKind.CANCELLED || !took(server, ours, e, http)) throw e;
				return queuedAs(server, ours, submitFacts);
			}
			if (!reply.isSuccessful()) {
				EditException refused = error(server, reply, "ComfyUI refused the workflow");
				if (gatewayGone(reply)) {
					if (!took(server, ours, refused, http)) throw new Unreached(refused);
					return queuedAs(server, ours, submitFacts);
				}
				// Broken, set up with other credentials, a proxy without the route, or busy: not this edit's
				// fault, so the server gets no edit for a while, and this one goes to another server unless,
				// behind a 5xx, it was queued here after all.
				boolean refusesEveryPrompt = reply.code() >= 500 || reply.code() == 401 || reply.code() == 403 ||
					reply.code() == 404 || reply.code() == 429;
				if (refusesEveryPrompt && servers.size() > 1) {
					server.downUntil = Instant.now().plus(DOWN_FOR);
					EditException rested = refused.followedBy("That was the server at " + server.shownAddress +
						", which gets no edit for the next " + DOWN_FOR.getSeconds() + " s.");
					if (reply.code() >= 500 && took(server, ours, rested, http)) return queuedAs(server, ours, submitFacts);
					throw new Unreached(rested);
				}
				throw refused;
			}
			EditException odd = null;
			try {
				answeredId = Json.text(Json.parse(reply.body(), displayName()), "prompt_id");
			}
			catch (EditException unreadable) {
				answeredId = null;
				odd = unreadable;
			}
			if (answeredId == null || !answeredId.matches("[A-Za-z0-9-]{1,64}")) {
				// A 2xx whose answer does not name the prompt: queued under ours if the server holds it.
				EditException noId = odd != null ? odd : new EditException(ErrorKind.PROVIDER_FAILURE, "ComfyUI " +
					"answered the prompt without its id.");
				if (!took(server, ours, noId, http)) throw noId;
				answeredId = ours.id();
			}
		}
		catch (EditException | Unreached | RuntimeException e) {
			server.progressSocket.closeIfIdle();
			throw e;
		}
		return queuedAs(server, handleOn(server, answeredId), submitFacts);
	}

	private JobState queuedAs(Server server, JobHandle job, Map<String, String> submitFacts) {
		server.progressSocket.follow(job.id());
		return JobState.queued(job.withSubmitFacts(submitFacts), null);
	}

	private static JobHandle handleOn(Server server, String promptId) {
		return new JobHandle(promptId, server.base.resolve("history/" + promptId).toString(), null, null);
	}

	/**
	 * Whether the server took the prompt {@code ours} although its answer was lost (a proxy's 502-504,
	 * a connection broken after the prompt was sent): asked after a moment, since a proxy may give
	 * up while the server still checks the graph.
	 *
	 * @return false when the server answered and does not hold it, so another may take the edit
	 * @throws EditException {@code failure}, carrying the prompt's handle, when the server cannot be
	 *           asked: the edit is then neither sent elsewhere nor forgotten (a journal keeps it)
	 */
	private boolean took(Server server, JobHandle ours, EditException failure, Http http) throws EditException {
		// The edit's time is spent, so asking would only meet the same deadline: the prompt is left to the
		// journal under our id, and the next run asks the server.
		if (failure.kind() == ErrorKind.TIMED_OUT) throw failure.leaving(EditException.Charge.RUNNING_JOB, ours, List.of());
		try {
			http.cancellation().sleep(ANSWER_LOST_SETTLE);
			return historyEntry(server, ours, http).isPresent() || inQueue(server, ours, http).isPresent() ||
				historyEntry(server, ours, http).isPresent();
		}
		catch (EditException unasked) {
			throw new EditException(failure.kind(), EditException.followedBy(failure.getMessage(), "The server at " +
				server.shownAddress + " could not be asked whether it took the edit (" + unasked.getMessage() + "), so it " +
				"is not sent to another server: it may run there as prompt " + ours.id() + "."), failure)
					.leaving(EditException.Charge.RUNNING_JOB, ours, List.of());
		}
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
		Server server = serverOf(job);
		JobState state;
		try {
			state = look(server, job, http);
		}
		catch (EditException e) {
			// New edits go elsewhere while it is unreachable; this one it holds is lost with it.
			if (neverReached(e) && servers.size() > 1) server.downUntil = Instant.now().plus(DOWN_FOR);
			throw e;
		}
		if (state.status().isFinal()) server.progressSocket.forget(job.id());
		return state;
	}

	/**
	 * The history first, always: it alone says how a prompt ended. While the WebSocket says the
	 * prompt runs, that and its steps stand in for the queue; otherwise the queue is asked.
	 */
	private JobState look(Server server, JobHandle job, Http http) throws EditException {
		Optional<JsonNode> entry = historyEntry(server, job, http);
		if (entry.isPresent()) return finished(server, job, entry.get());
		Optional<ProgressSocket.Seen> seen = server.progressSocket.seen(job.id());
		if (seen.isPresent() && seen.get().started && !seen.get().ended) return withSteps(JobState.running(job), seen.get());
		Optional<JobState> queued = inQueue(server, job, http);
		if (queued.isPresent()) return seen.isPresent() ? withSteps(queued.get(), seen.get()) : queued.get();
		// It may have finished between the two calls.
		entry = historyEntry(server, job, http);
		if (entry.isPresent()) return finished(server, job, entry.get());
		return JobState.failed(job, new EditException(ErrorKind.PROVIDER_FAILURE, "The ComfyUI server at " + server.shownAddress +
			" does not know the edit " + job.id() + " (it never arrived there, or the server was restarted or its history " +
			"cleared since), so no result can be fetched."));
	}

	private static JobState withSteps(JobState state, ProgressSocket.Seen seen) {
		int done = seen.stepsDone;
		int total = seen.stepsTotal;
		return state.status() == JobState.Status.RUNNING && done >= 0 && total > 0 ? state.withSteps(done, total) : state;
	}

	private Optional<JsonNode> historyEntry(Server server, JobHandle job, Http http) throws EditException {
		JsonNode history = JobCalls.fetch(http, server.request("history/" + job.id()).get().build(), displayName(),
			reply -> error(server, reply, "ComfyUI did not answer about the edit"));
		// ComfyUI answers {} for a prompt it does not hold and {id: {...}} for one it ran (server.py,
		// get_history). Anything else (a proxy's page in JSON, an array) says nothing of the prompt, and
		// taken for "not held" it would make a finished, fetched-for result look lost.
		JsonNode entry = history.get(job.id());
		if (!history.isObject() || entry == null && history.size() > 0 || entry != null && !entry.isObject()) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, "The ComfyUI server at " + server.shownAddress +
				" answered about the edit " + job.id() + " with something that is not its history.");
		}
		return Optional.ofNullable(entry);
	}

	private Optional<JobState> inQueue(Server server, JobHandle job, Http http) throws EditException {
		JsonNode queue = JobCalls.fetch(http, server.request("queue").get().build(), displayName(),
			reply -> error(server, reply, "ComfyUI did not show its queue"));
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

	private JobState finished(Server server, JobHandle job, JsonNode entry) {
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
				links.add(server.base.resolve("view").newBuilder().addQueryParameter("filename", image.path("filename").asText())
					.addQueryParameter("subfolder", image.path("subfolder").asText(""))
					.addQueryParameter("type", "output").build().toString());
			}
		}
		Map<String, String> facts = new LinkedHashMap<>();
		facts.put("ComfyUIServer", server.shownAddress);
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
		StringBuilder said = new StringBuilder();
		for (Server server : servers) {
			JsonNode stats = JobCalls.fetch(http, server.request("system_stats").get().build(), displayName(),
				reply -> error(server, reply, "ComfyUI did not answer"));
			String version = stats.path("system").path("comfyui_version").asText("");
			said.append(said.length() == 0 ? "" : " ").append("The ComfyUI server at ").append(server.shownAddress)
				.append(" answers").append(version.isEmpty() ? "" : " (version " + version + ")").append('.');
		}
		return said.toString();
	}

	/**
	 * {@code POST /interrupt} stops whatever the server runs, so it is sent only while the queue shows
	 * this prompt running (newer servers also take its {@code prompt_id}); a prompt still waiting is
	 * deleted from the queue instead.
	 */
	@Override
	public boolean cancel(JobHandle job, Http http) {
		try {
			Server server = serverOf(job);
			server.progressSocket.forget(job.id());
			JsonNode queue = queue(server, http);
			if (contains(queue.path("queue_running"), job.id())) return interrupt(server, job, http);
			if (contains(queue.path("queue_pending"), job.id())) {
				ObjectNode body = Json.object();
				body.putArray("delete").add(job.id());
				if (!JobCalls.requestCancel(http, server.request("queue").post(RequestBody.create(Json.bytes(body), JSON))
					.build(), displayName())) return false;
				// ComfyUI deletes only prompts still waiting, and answers 200 either way: one that started in
				// between (the running one was just interrupted, say) is interrupted too, not left to run.
				JsonNode after = queue(server, http);
				if (contains(after.path("queue_running"), job.id())) return interrupt(server, job, http);
				return !contains(after.path("queue_pending"), job.id());
			}
			return false;
		}
		catch (EditException e) {
			return false;
		}
	}

	private JsonNode queue(Server server, Http http) throws EditException {
		return JobCalls.fetch(http, server.request("queue").get().build(), displayName(),
			reply -> error(server, reply, "ComfyUI did not show its queue"));
	}

	/** Stops {@code job} while it runs, by its id, so that another user's prompt is never touched. */
	private boolean interrupt(Server server, JobHandle job, Http http) {
		ObjectNode body = Json.object();
		body.put("prompt_id", job.id());
		return JobCalls.requestCancel(http, server.request("interrupt").post(RequestBody.create(Json.bytes(body), JSON))
			.build(), displayName());
	}

	/**
	 * ComfyUI's refusals: {@code {"error": {"type", "message", "details"}, "node_errors": {id: {"errors":
	 * [{"message", "details"}], "class_type"}}}} from {@code POST /prompt} (server.py, execution.py
	 * {@code validate_prompt}); a proxy's 401 or 403 means the auth header.
	 */
	EditException error(Server server, HttpReply reply, String what) {
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
			return new EditException(ErrorKind.UNAUTHORIZED, "The ComfyUI server at " + server.shownAddress + " refused the request " +
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
