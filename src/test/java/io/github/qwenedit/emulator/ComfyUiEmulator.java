package io.github.qwenedit.emulator;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.imageio.ImageIO;

import org.java_websocket.WebSocket;
import org.java_websocket.drafts.Draft;
import org.java_websocket.exceptions.InvalidDataException;
import org.java_websocket.framing.CloseFrame;
import org.java_websocket.handshake.ClientHandshake;
import org.java_websocket.handshake.ServerHandshakeBuilder;
import org.java_websocket.server.WebSocketServer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * ComfyUI's HTTP API as https://github.com/comfyanonymous/ComfyUI/blob/master/server.py serves it, with
 * the validation of execution.py's {@code validate_prompt}: {@code /object_info[/{class}]} from a
 * table of the nodes a Qwen-Image-Edit server has, shaped as ComfyUI describes them;
 * {@code POST /upload/image} (multipart) into an input folder; {@code POST /prompt}, which checks every
 * node type, every required input, every link (an existing node, an output of the right type), numbers
 * against their bounds and choices against their lists, and answers ComfyUI's 400 with
 * {@code error} and {@code node_errors} otherwise; a queue run one prompt at a time; {@code /history},
 * {@code /queue}, {@code /interrupt}, {@code /view}, {@code /system_stats}. A prompt "runs" by
 * rendering {@link FakeEdit} of its first {@code LoadImage} at the latent's size, {@code batch_size}
 * times. With an auth header set, every request without it gets 401, as from a proxy in front.
 */
public final class ComfyUiEmulator extends EmulatorServer<ComfyUiEmulator> {

	public static final List<String> DIFFUSION_MODELS = List.of("qwen_image_edit_2509_fp8_e4m3fn.safetensors",
		"qwen_image_edit_2511_fp8mixed.safetensors", "flux1-dev.safetensors");
	public static final List<String> TEXT_ENCODERS = List.of("qwen_2.5_vl_7b_fp8_scaled.safetensors",
		"t5xxl_fp16.safetensors");
	public static final List<String> VAES = List.of("ae.safetensors", "qwen_image_vae.safetensors");

	/** A prompt in the queue, as ComfyUI keeps it: {@code [number, prompt_id, prompt, extra_data, outputs]}. */
	public static final class Prompt {
		public final int number;
		public final String id;
		public final ObjectNode graph;
		public final String clientId;
		public final List<String> outputNodes;
		final int generation;

		Prompt(int number, String id, ObjectNode graph, String clientId, List<String> outputNodes, int generation) {
			this.generation = generation;
			this.number = number;
			this.id = id;
			this.graph = graph;
			this.clientId = clientId;
			this.outputNodes = outputNodes;
		}

		ArrayNode asQueueItem() {
			ArrayNode item = JSON.createArrayNode();
			item.add(number).add(id).add(graph.deepCopy());
			item.addObject().put("client_id", clientId);
			ArrayNode outputs = item.addArray();
			outputNodes.forEach(outputs::add);
			return item;
		}
	}

	private final String authName;
	private final String authValue;
	/** ComfyUI's {@code /ws}: this client's sockets by client id, as server.py keeps {@code self.sockets}. */
	private final Sockets sockets;
	private final WebSocketFrontDoor frontDoor;
	private volatile boolean webSockets = true;
	private volatile boolean breakUploads;
	private final List<String> socketClients = new java.util.concurrent.CopyOnWriteArrayList<>();
	private final Map<String, byte[]> inputFiles = new ConcurrentHashMap<>();
	/** ComfyUI's output files by {@code subfolder/name}, each the name under which {@link #publishPng} keeps it. */
	private final Map<String, String> outputFiles = new ConcurrentHashMap<>();
	private final List<Prompt> pending = new ArrayList<>();
	private final Map<String, ObjectNode> history = new ConcurrentHashMap<>();
	private final List<Prompt> submitted = new java.util.concurrent.CopyOnWriteArrayList<>();
	private final Thread worker;
	private volatile Prompt running;
	private volatile boolean interruptRequested;
	private volatile boolean startsWhatIsDeleted;
	private volatile int promptsRefusedWith;
	private volatile int promptsTakenThenAnsweredWith;
	private volatile boolean promptAnswersHeld;
	private volatile boolean promptsAnsweredWithoutId;
	private volatile boolean closed;
	private volatile String nextExecutionError;
	private volatile List<String> diffusionModels = DIFFUSION_MODELS;
	private volatile Set<String> missingNodes = Set.of();
	private volatile boolean forgetUploads;
	private volatile boolean paused;
	private int number;
	private int outputCounter;
	/** Counts restarts; a prompt from before one leaves no history. */
	private volatile int generation;

	/** A server open to anyone, as ComfyUI is on its own. */
	public ComfyUiEmulator() {
		this(null);
	}

	/** A server behind a proxy that lets through only requests with {@code authHeader} ("Name: value"). */
	public ComfyUiEmulator(String authHeader) {
		if (authHeader == null) {
			authName = null;
			authValue = null;
		}
		else {
			int colon = authHeader.indexOf(':');
			authName = authHeader.substring(0, colon).trim();
			authValue = authHeader.substring(colon + 1).trim();
		}
		try {
			ServerSocketChannel channel = ServerSocketChannel.open();
			channel.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
			sockets = new Sockets(channel);
			sockets.setDaemon(true);
			sockets.start();
			frontDoor = new WebSocketFrontDoor(super.port(), channel.socket().getLocalPort(), () -> webSockets);
		}
		catch (IOException e) {
			throw new java.io.UncheckedIOException(e);
		}
		worker = new Thread(this::work, "emulator-ComfyUI-queue");
		worker.setDaemon(true);
		worker.start();
	}

	/** The one address of both the HTTP API and {@code /ws}, as on ComfyUI. */
	@Override
	public String baseUrl() {
		return "http://127.0.0.1:" + frontDoor.port();
	}

	/**
	 * ComfyUI's WebSocket endpoint ({@code GET /ws?clientId=}, server.py {@code websocket_handler}): a
	 * reconnect under the same client id replaces the old socket; the first message is {@code status}.
	 */
	private final class Sockets extends WebSocketServer {
		private final Map<String, WebSocket> byClient = new ConcurrentHashMap<>();

		Sockets(ServerSocketChannel channel) {
			super(channel);
		}

		@Override
		public ServerHandshakeBuilder onWebsocketHandshakeReceivedAsServer(WebSocket conn, Draft draft,
			ClientHandshake request) throws InvalidDataException
		{
			if (authName != null && !authValue.equals(request.getFieldValue(authName))) {
				throw new InvalidDataException(CloseFrame.POLICY_VALIDATION, "401 Unauthorized");
			}
			return super.onWebsocketHandshakeReceivedAsServer(conn, draft, request);
		}

		@Override
		public void onOpen(WebSocket conn, ClientHandshake handshake) {
			String query = java.net.URI.create(handshake.getResourceDescriptor()).getRawQuery();
			String sid = "";
			for (String pair : query == null ? new String[0] : query.split("&")) {
				if (pair.startsWith("clientId=")) sid = URLDecoder.decode(pair.substring(9), StandardCharsets.UTF_8);
			}
			if (sid.isEmpty()) sid = UUID.randomUUID().toString().replace("-", "");
			conn.setAttachment(sid);
			WebSocket old = byClient.put(sid, conn);
			if (old != null && old != conn) old.close();
			socketClients.add(sid);
			ObjectNode data = JSON.createObjectNode();
			int remaining;
			synchronized (pending) {
				remaining = pending.size() + (running == null ? 0 : 1);
			}
			data.putObject("status").putObject("exec_info").put("queue_remaining", remaining);
			data.put("sid", sid);
			send(sid, "status", data);
		}

		@Override
		public void onClose(WebSocket conn, int code, String reason, boolean remote) {
			String sid = conn.getAttachment();
			if (sid != null) byClient.remove(sid, conn);
		}

		@Override
		public void onMessage(WebSocket conn, String message) {
			// ComfyUI reads nothing a client sends but feature flags.
		}

		@Override
		public void onError(WebSocket conn, Exception ex) {
			// A client gone; its socket is removed on close.
		}

		@Override
		public void onStart() {
			// Bound before the start.
		}

		/** As server.py's {@code send_json}: {@code {"type", "data"}} to the client's socket, if it has one. */
		void send(String sid, String type, ObjectNode data) {
			WebSocket conn = sid == null ? null : byClient.get(sid);
			if (conn == null || !conn.isOpen()) return;
			ObjectNode message = JSON.createObjectNode();
			message.put("type", type).set("data", data);
			try {
				conn.send(message.toString());
			}
			catch (RuntimeException gone) {
				// Closed meanwhile: ComfyUI logs and drops the message (send_socket_catch_exception).
			}
		}

		void dropAll() {
			for (WebSocket conn : byClient.values()) {
				conn.closeConnection(CloseFrame.ABNORMAL_CLOSE, "dropped");
			}
		}
	}

	// ---- switches for tests ----

	/** The diffusion model files the server has in models/diffusion_models. */
	public ComfyUiEmulator diffusionModels(List<String> files) {
		diffusionModels = List.copyOf(files);
		return this;
	}

	/** Node types this server lacks (an older ComfyUI). */
	public ComfyUiEmulator withoutNodes(String... types) {
		missingNodes = Set.of(types);
		return this;
	}

	/** The next prompt to run fails in its KSampler with {@code message}, as ComfyUI reports an exception. */
	public ComfyUiEmulator failNextExecution(String message) {
		nextExecutionError = message;
		return this;
	}

	/** Uploads are answered but not kept, as on a second server behind a load balancer. */
	public ComfyUiEmulator forgetUploads() {
		forgetUploads = true;
		return this;
	}

	/** Prompts stay queued (the GPU is busy with someone else's work) until {@link #resume()}. */
	public ComfyUiEmulator pause() {
		paused = true;
		return this;
	}

	/**
	 * A delete from the queue comes too late: the paused prompt it names starts instead, and the
	 * delete is answered 200 as ComfyUI answers one that found nothing.
	 */
	public ComfyUiEmulator startsWhatIsDeleted() {
		startsWhatIsDeleted = true;
		return this;
	}

	/** Every prompt is answered with this status (a server broken inside), queueing nothing. */
	public ComfyUiEmulator refusePromptsWith(int status) {
		promptsRefusedWith = status;
		return this;
	}

	/**
	 * Every prompt is queued, and then answered with this status in place of the server's answer:
	 * a proxy in front that gave up waiting (504) while the server took the prompt.
	 */
	public ComfyUiEmulator takePromptsThenAnswer(int status) {
		promptsTakenThenAnsweredWith = status;
		return this;
	}

	/**
	 * While on, every prompt is queued and its answer held back (for a minute at most, or until the
	 * emulator closes): a server slow to answer, so that a run can be killed while its create is in
	 * flight.
	 */
	public ComfyUiEmulator takePromptsThenHold(boolean on) {
		promptAnswersHeld = on;
		return this;
	}

	/** Every prompt is queued and answered without its prompt_id, as a proxy that trims answers might. */
	public ComfyUiEmulator answerPromptsWithoutId() {
		promptsAnsweredWithoutId = true;
		return this;
	}

	public ComfyUiEmulator resume() {
		paused = false;
		return this;
	}

	/** A server without {@code /ws} (an old ComfyUI, or a proxy that passes no WebSockets): the upgrade gets 404. */
	public ComfyUiEmulator withoutWebSocket() {
		webSockets = false;
		return this;
	}

	/** Every upload loses its connection before an answer, as when the server dies while it is sent. */
	public ComfyUiEmulator breakUploads() {
		breakUploads = true;
		return this;
	}

	/** Every open WebSocket breaks off at once, as when a proxy or the network drops them. */
	public void dropWebSockets() {
		sockets.dropAll();
	}

	/** The client ids of every WebSocket opened so far, in order. */
	public List<String> socketClients() {
		return List.copyOf(socketClients);
	}

	/** A restart: the queue, the history and the prompt running are gone. */
	public void restart() {
		synchronized (pending) {
			generation++;
			pending.clear();
			history.clear();
			interruptRequested = running != null;
		}
	}

	public List<Prompt> prompts() {
		return List.copyOf(submitted);
	}

	public Prompt lastPrompt() {
		return submitted.get(submitted.size() - 1);
	}

	/** The files in the server's input folder, by {@code subfolder/name}. */
	public Set<String> inputFiles() {
		return Set.copyOf(inputFiles.keySet());
	}

	/** The bytes of a file in the input folder, by {@code subfolder/name}. */
	public byte[] uploadedBytes(String name) {
		return inputFiles.get(name);
	}

	public boolean isRunning(String promptId) {
		Prompt p = running;
		return p != null && p.id.equals(promptId);
	}

	public boolean isPending(String promptId) {
		synchronized (pending) {
			return pending.stream().anyMatch(p -> p.id.equals(promptId));
		}
	}

	public boolean inHistory(String promptId) {
		return history.containsKey(promptId);
	}

	// ---- the API ----

	private static String path(RecordedRequest request) {
		return request.path().startsWith("/api/") ? request.path().substring(4) : request.path();
	}

	private Reply unauthorised(RecordedRequest request) {
		boolean denied = authName != null && !authValue.equals(request.header(authName));
		return denied ? Reply.text(401, "text/plain", "401 Unauthorized") : null;
	}

	/**
	 * The server's descriptions of its nodes, the uploads and the result files, answered before the
	 * one-shot faults: those stand for failures of the job's own calls (prompt, history, queue), as
	 * the fault matrix aims them at the other providers' job APIs, while the uploads take the place
	 * the bucket has elsewhere and the results are served with the output switches of every emulator.
	 */
	@Override
	protected Reply published(RecordedRequest request) throws Exception {
		String path = path(request);
		String method = request.method();
		boolean document = method.equals("GET") && (path.equals("/object_info") || path.startsWith("/object_info/") ||
			path.equals("/view")) || method.equals("POST") && path.equals("/upload/image");
		if (!document) return null;
		Reply denied = unauthorised(request);
		if (denied != null) return denied;
		if (path.equals("/object_info")) return Reply.json(200, objectInfo());
		if (path.startsWith("/object_info/")) {
			String type = path.substring("/object_info/".length());
			ObjectNode all = objectInfo();
			ObjectNode one = JSON.createObjectNode();
			if (all.has(type)) one.set(type, all.get(type));
			return Reply.json(200, one);
		}
		if (path.equals("/view")) return view(request);
		if (breakUploads) return NO_ANSWER;
		return upload(request);
	}

	@Override
	protected Reply respond(RecordedRequest request) throws Exception {
		Reply denied = unauthorised(request);
		if (denied != null) return denied;
		String path = path(request);
		String method = request.method();
		if (path.equals("/prompt") && method.equals("POST")) {
			if (promptsRefusedWith > 0) return Reply.text(promptsRefusedWith, "text/plain", promptsRefusedWith + " Server Error");
			if (promptsTakenThenAnsweredWith > 0) {
				Reply taken = submit(request);
				if (taken.status() == 200) {
					return Reply.text(promptsTakenThenAnsweredWith, "text/html", "<html><body>" + promptsTakenThenAnsweredWith +
						" Gateway Time-out</body></html>");
				}
				return taken;
			}
			if (promptsAnsweredWithoutId) {
				Reply taken = submit(request);
				return taken.status() == 200 ? Reply.json(200, JSON.createObjectNode().put("number", number)
					.set("node_errors", JSON.createObjectNode())) : taken;
			}
			if (promptAnswersHeld) {
				Reply taken = submit(request);
				holdUnanswered(Duration.ofMinutes(1));
				return taken;
			}
			return submit(request);
		}
		if (path.startsWith("/history/") && method.equals("GET")) {
			String id = path.substring("/history/".length());
			ObjectNode answer = JSON.createObjectNode();
			ObjectNode entry = history.get(id);
			if (entry != null) answer.set(id, entry.deepCopy());
			return Reply.json(200, answer);
		}
		if (path.equals("/queue") && method.equals("GET")) return Reply.json(200, queue());
		if (path.equals("/queue") && method.equals("POST")) {
			JsonNode body = request.json();
			if (body == null) return Reply.text(500, "text/plain", "500 Internal Server Error");
			if (startsWhatIsDeleted) {
				// The race of a real server: the prompt started just before the delete arrived, which then
				// finds nothing to delete and is answered 200 all the same.
				synchronized (pending) {
					paused = false;
					pending.notifyAll();
				}
				long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
				while (running == null && System.nanoTime() < until) {
					try {
						Thread.sleep(5);
					}
					catch (InterruptedException e) {
						Thread.currentThread().interrupt();
						break;
					}
				}
				return Reply.raw(200, "text/plain", new byte[0]);
			}
			synchronized (pending) {
				for (JsonNode id : body.path("delete")) {
					pending.removeIf(p -> p.id.equals(id.asText()));
				}
			}
			return Reply.raw(200, "text/plain", new byte[0]);
		}
		if (path.equals("/interrupt") && method.equals("POST")) {
			// Newer ComfyUI interrupts only the given prompt_id when one is sent, and whatever runs without one.
			JsonNode body = request.json();
			String only = body == null ? null : body.path("prompt_id").asText(null);
			Prompt now = running;
			if (now != null && (only == null || only.equals(now.id))) interruptRequested = true;
			return Reply.raw(200, "text/plain", new byte[0]);
		}
		if (path.equals("/system_stats") && method.equals("GET")) {
			ObjectNode stats = JSON.createObjectNode();
			stats.putObject("system").put("comfyui_version", "0.3.75").put("os", "posix");
			stats.putArray("devices").addObject().put("name", "emulated").put("type", "cpu");
			return Reply.json(200, stats);
		}
		return Reply.text(404, "text/plain", "404: Not Found");
	}

	private Reply upload(RecordedRequest request) {
		String type = request.header("Content-Type");
		Matcher boundary = type == null ? null : Pattern.compile("boundary=\"?([^\";]+)\"?").matcher(type);
		if (type == null || !type.startsWith("multipart/form-data") || !boundary.find()) {
			return Reply.text(500, "text/plain", "500 Internal Server Error");
		}
		Map<String, String> headers = new java.util.HashMap<>();
		byte[] image = multipartPart(request.body(), boundary.group(1), "image", headers);
		if (image == null) return Reply.raw(400, "text/plain", new byte[0]);
		Matcher name = Pattern.compile("filename=\"([^\"]*)\"").matcher(headers.getOrDefault("content-disposition", ""));
		if (!name.find() || name.group(1).isEmpty()) return Reply.raw(400, "text/plain", new byte[0]);
		String subfolder = field(request, boundary.group(1), "subfolder", "");
		String uploadType = field(request, boundary.group(1), "type", "input");
		String fileName = name.group(1);
		if (subfolder.contains("..") || fileName.contains("/") || fileName.contains("..")) {
			return Reply.raw(400, "text/plain", new byte[0]);
		}
		if (!uploadType.equals("input")) return Reply.raw(400, "text/plain", new byte[0]);
		String key = subfolder.isEmpty() ? fileName : subfolder + "/" + fileName;
		boolean overwrite = Set.of("true", "1").contains(field(request, boundary.group(1), "overwrite", ""));
		if (!overwrite && inputFiles.containsKey(key)) {
			int dot = fileName.lastIndexOf('.');
			for (int i = 1; i < 1000 && inputFiles.containsKey(key); i++) {
				fileName = fileName.substring(0, dot) + " (" + i + ")" + fileName.substring(dot);
				key = subfolder.isEmpty() ? fileName : subfolder + "/" + fileName;
			}
		}
		if (!forgetUploads) inputFiles.put(key, image);
		ObjectNode answer = JSON.createObjectNode();
		answer.put("name", fileName).put("subfolder", subfolder).put("type", uploadType);
		return Reply.json(200, answer);
	}

	private static String field(RecordedRequest request, String boundary, String field, String otherwise) {
		byte[] value = multipartPart(request.body(), boundary, field, new java.util.HashMap<>());
		return value == null ? otherwise : new String(value, StandardCharsets.UTF_8);
	}

	private Reply view(RecordedRequest request) {
		Map<String, String> query = new LinkedHashMap<>();
		for (String pair : request.query() == null ? new String[0] : request.query().split("&")) {
			int eq = pair.indexOf('=');
			if (eq > 0) {
				query.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
					URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
			}
		}
		String filename = query.get("filename");
		if (filename == null) return Reply.text(404, "text/plain", "404: Not Found");
		if (filename.startsWith("/") || filename.contains("..")) return Reply.raw(400, "text/plain", new byte[0]);
		if (!"output".equals(query.getOrDefault("type", "output"))) return Reply.text(404, "text/plain", "404: Not Found");
		String subfolder = query.getOrDefault("subfolder", "");
		String published = outputFiles.get(subfolder.isEmpty() ? filename : subfolder + "/" + filename);
		if (published == null) return Reply.text(404, "text/plain", "404: Not Found");
		return serveOutput(published);
	}

	private ObjectNode queue() {
		ObjectNode q = JSON.createObjectNode();
		ArrayNode runningNow = q.putArray("queue_running");
		Prompt now = running;
		if (now != null) runningNow.add(now.asQueueItem());
		ArrayNode waiting = q.putArray("queue_pending");
		synchronized (pending) {
			pending.forEach(p -> waiting.add(p.asQueueItem()));
		}
		return q;
	}

	// ---- validation, as execution.py's validate_prompt ----

	private Reply submit(RecordedRequest request) {
		JsonNode body = request.json();
		if (body == null || !body.path("prompt").isObject()) {
			return Reply.json(400, error("no_prompt", "No prompt provided", "", JSON.createObjectNode()));
		}
		ObjectNode graph = (ObjectNode) body.get("prompt").deepCopy();
		ObjectNode info = objectInfo();
		List<String> outputs = new ArrayList<>();
		for (Iterator<Map.Entry<String, JsonNode>> it = graph.fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> node = it.next();
			String classType = node.getValue().path("class_type").asText(null);
			if (classType == null) {
				return Reply.json(400, error("invalid_prompt", "Cannot execute because a node is missing the class_type " +
					"property.", "Node ID '#" + node.getKey() + "'", JSON.createObjectNode()));
			}
			if (!info.has(classType)) {
				return Reply.json(400, error("invalid_prompt", "Cannot execute because node " + classType + " does not " +
					"exist.", "Node ID '#" + node.getKey() + "'", JSON.createObjectNode()));
			}
			if (info.get(classType).path("output_node").asBoolean()) outputs.add(node.getKey());
		}
		if (outputs.isEmpty()) {
			return Reply.json(400, error("prompt_no_outputs", "Prompt has no outputs", "", JSON.createObjectNode()));
		}
		ObjectNode nodeErrors = JSON.createObjectNode();
		Map<String, Boolean> validated = new LinkedHashMap<>();
		List<String> details = new ArrayList<>();
		for (String output : outputs) {
			validate(graph, info, output, validated, nodeErrors, output, details, 0);
		}
		if (nodeErrors.size() > 0) {
			return Reply.json(400, error("prompt_outputs_failed_validation", "Prompt outputs failed validation",
				String.join("\n", details), nodeErrors));
		}
		Prompt prompt;
		synchronized (pending) {
			// server.py: prompt_id = str(json_data.get("prompt_id", uuid.uuid4()))
			String id = body.hasNonNull("prompt_id") ? body.get("prompt_id").asText() : UUID.randomUUID().toString();
			prompt = new Prompt(number++, id, graph, body.path("client_id").asText(""), outputs, generation);
			pending.add(prompt);
			pending.notifyAll();
		}
		submitted.add(prompt);
		ObjectNode answer = JSON.createObjectNode();
		answer.put("prompt_id", prompt.id).put("number", prompt.number);
		answer.putObject("node_errors");
		return Reply.json(200, answer);
	}

	/** A node whose links lead back to itself, found depth-first; empty for a graph without a cycle. */
	static Optional<String> cycleIn(ObjectNode graph) {
		Map<String, Boolean> done = new HashMap<>();
		for (Iterator<String> ids = graph.fieldNames(); ids.hasNext();) {
			Optional<String> found = cycleFrom(graph, ids.next(), done);
			if (found.isPresent()) return found;
		}
		return Optional.empty();
	}

	private static Optional<String> cycleFrom(ObjectNode graph, String id, Map<String, Boolean> done) {
		Boolean state = done.get(id);
		if (state != null) return state ? Optional.empty() : Optional.of(id);
		done.put(id, false);
		for (JsonNode value : graph.path(id).path("inputs")) {
			if (!value.isArray() || value.size() != 2 || !graph.has(value.get(0).asText())) continue;
			Optional<String> found = cycleFrom(graph, value.get(0).asText(), done);
			if (found.isPresent()) return found;
		}
		done.put(id, true);
		return Optional.empty();
	}

	private static ObjectNode error(String type, String message, String details, ObjectNode nodeErrors) {
		ObjectNode answer = JSON.createObjectNode();
		answer.putObject("error").put("type", type).put("message", message).put("details", details)
			.putObject("extra_info");
		answer.set("node_errors", nodeErrors);
		return answer;
	}

	private boolean validate(ObjectNode graph, ObjectNode info, String id, Map<String, Boolean> validated,
		ObjectNode nodeErrors, String output, List<String> details, int depth)
	{
		if (validated.containsKey(id)) return validated.get(id);
		if (depth > 100) return false;
		JsonNode node = graph.get(id);
		String classType = node.path("class_type").asText();
		JsonNode spec = info.get(classType).path("input");
		JsonNode inputs = node.path("inputs");
		ArrayNode errors = JSON.createArrayNode();
		boolean valid = true;
		for (String group : List.of("required", "optional")) {
			for (Iterator<Map.Entry<String, JsonNode>> it = spec.path(group).fields(); it.hasNext();) {
				Map.Entry<String, JsonNode> input = it.next();
				String name = input.getKey();
				JsonNode declared = input.getValue();
				if (!inputs.has(name)) {
					if (group.equals("required")) errors.add(reason("required_input_missing", "Required input is missing", name));
					continue;
				}
				JsonNode value = inputs.get(name);
				JsonNode type = declared.path(0);
				JsonNode options = declared.path(1);
				if (value.isArray()) {
					if (value.size() != 2 || !graph.has(value.path(0).asText())) {
						errors.add(reason("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, " +
							"slot_index]", name));
						continue;
					}
					JsonNode from = graph.get(value.path(0).asText());
					JsonNode returned = info.path(from.path("class_type").asText()).path("output").path(value.path(1).asInt());
					if (!returned.asText("?").equals(type.asText("COMBO"))) {
						errors.add(reason("return_type_mismatch", "Return type mismatch between linked nodes",
							name + ", received_type(" + returned.asText("?") + ") mismatch input_type(" + type.asText() + ")"));
						continue;
					}
					if (!validate(graph, info, value.path(0).asText(), validated, nodeErrors, output, details, depth + 1)) {
						valid = false;
					}
					continue;
				}
				if (type.isArray() || "COMBO".equals(type.asText())) {
					if (classType.equals("LoadImage")) {
						// LoadImage has VALIDATE_INPUTS: the file must exist in the input folder, subfolders included.
						if (!inputFiles.containsKey(value.asText())) {
							errors.add(reason("custom_validation_failed", "Custom validation failed for node",
								name + " - Invalid image file: " + value.asText()));
						}
						continue;
					}
					boolean found = false;
					for (JsonNode choice : type) {
						if (choice.asText().equals(value.asText())) found = true;
					}
					if (!found) {
						errors.add(reason("value_not_in_list", "Value not in list", name + ": '" + value.asText() + "' not in " +
							(type.size() > 20 ? "(list of length " + type.size() + ")" : type.toString())));
					}
					continue;
				}
				String t = type.asText();
				if (t.equals("INT") || t.equals("FLOAT")) {
					if (!value.isNumber()) {
						errors.add(reason("invalid_input_type", "Failed to convert an input value to a " + t + " value",
							name + ", " + value.asText()));
						continue;
					}
					BigInteger asInteger = value.bigIntegerValue();
					double asDouble = value.asDouble();
					if (options.has("min") && (t.equals("INT") ? asInteger.compareTo(options.get("min").bigIntegerValue()) < 0
						: asDouble < options.get("min").asDouble()))
					{
						errors.add(reason("value_smaller_than_min", "Value " + value.asText() + " smaller than min of " +
							options.get("min").asText(), name));
					}
					else if (options.has("max") && (t.equals("INT") ? asInteger.compareTo(options.get("max").bigIntegerValue()) > 0
						: asDouble > options.get("max").asDouble()))
					{
						errors.add(reason("value_bigger_than_max", "Value " + value.asText() + " bigger than max of " +
							options.get("max").asText(), name));
					}
					continue;
				}
				if (t.equals("STRING") && !value.isTextual()) {
					errors.add(reason("invalid_input_type", "Failed to convert an input value to a STRING value", name));
				}
				if (!t.equals("STRING") && !t.equals("INT") && !t.equals("FLOAT") && !t.equals("BOOLEAN")) {
					// A typed socket (MODEL, IMAGE, ...) takes only a link.
					errors.add(reason("invalid_input_type", "Input " + name + " of type " + t + " must be linked", name));
				}
			}
		}
		if (errors.size() > 0) {
			ObjectNode entry = nodeErrors.has(id) ? (ObjectNode) nodeErrors.get(id) : nodeErrors.putObject(id);
			entry.set("errors", errors);
			entry.withArray("dependent_outputs").add(output);
			entry.put("class_type", classType);
			errors.forEach(e -> details.add(e.path("message").asText() + ": " + e.path("details").asText()));
			valid = false;
		}
		validated.put(id, valid);
		return valid;
	}

	private static ObjectNode reason(String type, String message, String details) {
		ObjectNode r = JSON.createObjectNode();
		r.put("type", type).put("message", message).put("details", details);
		r.putObject("extra_info");
		return r;
	}

	// ---- the queue, one prompt at a time ----

	private void work() {
		while (!closed) {
			Prompt next;
			synchronized (pending) {
				if (pending.isEmpty() || paused) {
					try {
						pending.wait(50);
					}
					catch (InterruptedException e) {
						return;
					}
					continue;
				}
				next = pending.stream().min((a, b) -> Integer.compare(a.number, b.number)).get();
				pending.remove(next);
				running = next;
				interruptRequested = false;
			}
			try {
				run(next);
			}
			finally {
				running = null;
			}
		}
	}

	/**
	 * Runs a prompt: the outputs are made first and the rest of the processing delay waited out after,
	 * so that the emulator's own drawing counts as the server's processing time, not the plugin's.
	 */
	private void run(Prompt prompt) {
		long begin = System.nanoTime();
		long total = currentProcessingDelay().toNanos();
		long deadline = begin + total;
		ArrayNode messages = JSON.createArrayNode();
		messages.addArray().add("execution_start").addObject().put("prompt_id", prompt.id);
		tell(prompt, "execution_start", JSON.createObjectNode().put("prompt_id", prompt.id));
		String sampler = samplerId(prompt.graph);
		tell(prompt, "executing", JSON.createObjectNode().put("node", sampler).put("display_node", sampler)
			.put("prompt_id", prompt.id));
		int steps = Math.max(1, prompt.graph.path(sampler).path("inputs").path("steps").asInt(20));
		ObjectNode outputs = JSON.createObjectNode();
		Map<String, byte[]> made = new LinkedHashMap<>();
		String failedNode = null;
		String failure = nextExecutionError;
		Optional<String> looped = cycleIn(prompt.graph);
		if (looped.isPresent()) {
			// comfy_execution/graph.py: ExecutionList finds no node ready to run and raises DependencyCycleError.
			failure = "Dependency cycle detected";
			failedNode = prompt.graph.path(looped.get()).path("class_type").asText();
		}
		else if (failure != null) {
			nextExecutionError = null;
			failedNode = "KSampler";
		}
		else {
			try {
				render(prompt, outputs, made);
			}
			catch (IOException | RuntimeException e) {
				failedNode = "LoadImage";
				failure = String.valueOf(e);
			}
		}
		// The sampler's steps, spread over the processing time (main.py's hijack_progress sends one per step).
		int stepsSent = 0;
		while (!interruptRequested && !closed) {
			long now = System.nanoTime();
			int due = failure != null ? 0 : (int) Math.min(steps, steps * (now - begin + 1) / Math.max(1, total));
			for (; stepsSent < due; stepsSent++) {
				tell(prompt, "progress", JSON.createObjectNode().put("value", stepsSent + 1).put("max", steps)
					.put("prompt_id", prompt.id).put("node", sampler));
			}
			if (now >= deadline) break;
			try {
				long untilNextStep = failure != null ? Long.MAX_VALUE : begin + total * (stepsSent + 1) / steps - now;
				TimeUnit.NANOSECONDS.sleep(Math.max(1_000_000, Math.min(Math.min(20_000_000, deadline - now), untilNextStep)));
			}
			catch (InterruptedException e) {
				return;
			}
		}
		if (closed) return;
		// As ComfyUI: the outcome's message first, then the history entry, then "executing" with no node
		// (execution.py, then main.py's prompt_worker after task_done).
		if (interruptRequested) {
			ObjectNode data = JSON.createObjectNode().put("prompt_id", prompt.id).put("node_id", sampler)
				.put("node_type", "KSampler");
			messages.addArray().add("execution_interrupted").add(data);
			tell(prompt, "execution_interrupted", data);
			record(prompt, "error", messages, JSON.createObjectNode());
		}
		else if (failure != null) {
			ObjectNode data = JSON.createObjectNode().put("prompt_id", prompt.id).put("node_id", sampler)
				.put("node_type", failedNode).put("exception_message", failure).put("exception_type", "RuntimeError");
			messages.addArray().add("execution_error").add(data);
			tell(prompt, "execution_error", data);
			record(prompt, "error", messages, JSON.createObjectNode());
		}
		else {
			made.forEach((file, png) -> {
				String link = publishPng(png);
				String stored = link.substring(link.indexOf("/outputs/") + "/outputs/".length(), link.indexOf('?'));
				outputFiles.put(file, stored);
			});
			messages.addArray().add("execution_success").addObject().put("prompt_id", prompt.id);
			tell(prompt, "execution_success", JSON.createObjectNode().put("prompt_id", prompt.id));
			record(prompt, "success", messages, outputs);
		}
		ObjectNode done = JSON.createObjectNode().put("prompt_id", prompt.id);
		done.putNull("node");
		tell(prompt, "executing", done);
		markCompleted();
	}

	/** A message to the socket of the client that queued {@code prompt}, as ComfyUI sends its progress. */
	private void tell(Prompt prompt, String type, ObjectNode data) {
		sockets.send(prompt.clientId, type, data);
	}

	/** Draws each SaveImage's images ({@link FakeEdit} of the encoder's images at the latent's size, batch_size of them). */
	private void render(Prompt prompt, ObjectNode outputs, Map<String, byte[]> made) throws IOException {
		for (String saveId : prompt.outputNodes) {
			JsonNode decode = prompt.graph.get(prompt.graph.get(saveId).path("inputs").path("images").path(0).asText());
			JsonNode sampler = prompt.graph.get(decode.path("inputs").path("samples").path(0).asText());
			JsonNode latent = prompt.graph.get(sampler.path("inputs").path("latent_image").path(0).asText());
			JsonNode positive = prompt.graph.get(sampler.path("inputs").path("positive").path(0).asText());
			List<BufferedImage> images = new ArrayList<>();
			for (int i = 1; i <= 3; i++) {
				JsonNode link = positive.path("inputs").path("image" + i);
				if (!link.isArray()) continue;
				String file = prompt.graph.get(link.path(0).asText()).path("inputs").path("image").asText();
				images.add(ImageIO.read(new ByteArrayInputStream(inputFiles.get(file))));
			}
			int width = latent.path("inputs").path("width").asInt();
			int height = latent.path("inputs").path("height").asInt();
			String prefix = prompt.graph.get(saveId).path("inputs").path("filename_prefix").asText("ComfyUI");
			int slash = prefix.lastIndexOf('/');
			String subfolder = slash < 0 ? "" : prefix.substring(0, slash);
			String stem = prefix.substring(slash + 1);
			ArrayNode saved = outputs.putObject(saveId).putArray("images");
			for (int i = 0; i < latent.path("inputs").path("batch_size").asInt(1); i++) {
				String name;
				synchronized (this) {
					name = String.format("%s_%05d_.png", stem, ++outputCounter);
				}
				made.put(subfolder.isEmpty() ? name : subfolder + "/" + name, FakeEdit.renderPng(images, width, height, i));
				saved.addObject().put("filename", name).put("subfolder", subfolder).put("type", "output");
			}
		}
	}

	private static String samplerId(ObjectNode graph) {
		for (Iterator<Map.Entry<String, JsonNode>> it = graph.fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> e = it.next();
			if ("KSampler".equals(e.getValue().path("class_type").asText())) return e.getKey();
		}
		return "";
	}

	/** As execution.py's {@code task_done}: the prompt, its outputs and its status go into the history. */
	private void record(Prompt prompt, String status, ArrayNode messages, ObjectNode outputs) {
		synchronized (pending) {
			if (prompt.generation != generation) return; // the server restarted while it ran: the prompt is lost
			ObjectNode entry = JSON.createObjectNode();
			entry.set("prompt", prompt.asQueueItem());
			entry.set("outputs", outputs);
			entry.putObject("status").put("status_str", status).put("completed", status.equals("success"))
				.set("messages", messages);
			entry.putObject("meta");
			history.put(prompt.id, entry);
		}
	}

	@Override
	public void close() {
		closed = true;
		synchronized (pending) {
			pending.notifyAll();
		}
		frontDoor.close();
		try {
			sockets.stop(1000);
		}
		catch (InterruptedException e) {
			Thread.currentThread().interrupt();
		}
		super.close();
		try {
			worker.join(5000);
		}
		catch (InterruptedException e) {
			Thread.currentThread().interrupt();
		}
	}

	// ---- object_info, as ComfyUI's nodes describe themselves ----

	private ObjectNode objectInfo() {
		ObjectNode info = JSON.createObjectNode();
		ObjectNode unet = node(info, "UNETLoader", "MODEL");
		choice(unet, "required", "unet_name", diffusionModels);
		choice(unet, "required", "weight_dtype", List.of("default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"));
		ObjectNode clip = node(info, "CLIPLoader", "CLIP");
		choice(clip, "required", "clip_name", TEXT_ENCODERS);
		choice(clip, "required", "type", List.of("stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi",
			"ltxv", "pixart", "cosmos", "lumina2", "wan", "hidream", "chroma", "ace", "omnigen2", "qwen_image",
			"hunyuan_image", "flux2", "ovis"));
		choice(clip, "optional", "device", List.of("default", "cpu"));
		ObjectNode vae = node(info, "VAELoader", "VAE");
		choice(vae, "required", "vae_name", VAES);
		ObjectNode load = node(info, "LoadImage", "IMAGE", "MASK");
		// Only the top of the input folder is listed; files in subfolders still load (VALIDATE_INPUTS).
		List<String> top = new ArrayList<>();
		inputFiles.keySet().stream().filter(k -> !k.contains("/")).sorted().forEach(top::add);
		choice(load, "required", "image", top).add(JSON.createObjectNode().put("image_upload", true));
		ObjectNode encode = node(info, "TextEncodeQwenImageEditPlus", "CONDITIONING");
		typed(encode, "required", "clip", "CLIP");
		typed(encode, "required", "prompt", "STRING").add(JSON.createObjectNode().put("multiline", true)
			.put("dynamicPrompts", true));
		typed(encode, "optional", "vae", "VAE");
		for (int i = 1; i <= 3; i++) {
			typed(encode, "optional", "image" + i, "IMAGE");
		}
		ObjectNode latent = node(info, "EmptySD3LatentImage", "LATENT");
		typed(latent, "required", "width", "INT").add(bounds(1024, 16, 16384));
		typed(latent, "required", "height", "INT").add(bounds(1024, 16, 16384));
		typed(latent, "required", "batch_size", "INT").add(bounds(1, 1, 4096));
		ObjectNode sampler = node(info, "KSampler", "LATENT");
		typed(sampler, "required", "model", "MODEL");
		ObjectNode seed = JSON.createObjectNode().put("default", 0).put("min", 0);
		seed.put("max", new BigInteger("18446744073709551615"));
		typed(sampler, "required", "seed", "INT").add(seed);
		typed(sampler, "required", "steps", "INT").add(bounds(20, 1, 10000));
		typed(sampler, "required", "cfg", "FLOAT").add(JSON.createObjectNode().put("default", 8.0).put("min", 0.0)
			.put("max", 100.0).put("step", 0.1).put("round", 0.01));
		choice(sampler, "required", "sampler_name", List.of("euler", "euler_ancestral", "heun", "dpmpp_2m", "res_multistep"));
		choice(sampler, "required", "scheduler", List.of("simple", "sgm_uniform", "karras", "exponential", "normal"));
		typed(sampler, "required", "positive", "CONDITIONING");
		typed(sampler, "required", "negative", "CONDITIONING");
		typed(sampler, "required", "latent_image", "LATENT");
		typed(sampler, "required", "denoise", "FLOAT").add(JSON.createObjectNode().put("default", 1.0).put("min", 0.0)
			.put("max", 1.0).put("step", 0.01));
		ObjectNode decode = node(info, "VAEDecode", "IMAGE");
		typed(decode, "required", "samples", "LATENT");
		typed(decode, "required", "vae", "VAE");
		ObjectNode save = node(info, "SaveImage");
		typed(save, "required", "images", "IMAGE");
		typed(save, "required", "filename_prefix", "STRING").add(JSON.createObjectNode().put("default", "ComfyUI"));
		save.put("output_node", true);
		missingNodes.forEach(info::remove);
		return info;
	}

	private static ObjectNode node(ObjectNode info, String name, String... outputs) {
		ObjectNode n = info.putObject(name);
		n.putObject("input").putObject("required");
		ArrayNode out = n.putArray("output");
		for (String o : outputs) {
			out.add(o);
		}
		n.put("name", name).put("display_name", name).put("output_node", false);
		return n;
	}

	private static ArrayNode typed(ObjectNode node, String group, String name, String type) {
		ArrayNode spec = ((ObjectNode) node.path("input")).with(group).putArray(name);
		spec.add(type);
		return spec;
	}

	private static ArrayNode choice(ObjectNode node, String group, String name, List<String> values) {
		ArrayNode spec = ((ObjectNode) node.path("input")).with(group).putArray(name);
		ArrayNode list = spec.addArray();
		values.forEach(list::add);
		return spec;
	}

	private static ObjectNode bounds(long defaultValue, long min, long max) {
		return JSON.createObjectNode().put("default", defaultValue).put("min", min).put("max", max);
	}

	/** Waits, at most {@code within}, until nothing is queued or running. */
	public boolean awaitIdle(Duration within) throws InterruptedException {
		long end = System.nanoTime() + within.toNanos();
		while (System.nanoTime() < end) {
			boolean idle;
			synchronized (pending) {
				idle = pending.isEmpty() && running == null;
			}
			if (idle) return true;
			TimeUnit.MILLISECONDS.sleep(20);
		}
		return false;
	}
}
