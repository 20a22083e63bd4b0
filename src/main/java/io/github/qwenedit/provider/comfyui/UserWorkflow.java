package io.github.qwenedit.provider.comfyui;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.http.Json;

/**
 * A workflow of the user's own, exported from ComfyUI with "Save (API format)": node ids mapping to
 * {@code {"class_type", "inputs", "_meta": {"title"}}}, where the frontend writes each node's title
 * into {@code _meta.title} and the server ignores it
 * (https://github.com/Comfy-Org/ComfyUI_frontend/blob/main/src/utils/executionUtil.ts,
 * {@code graphToPrompt}). The user marks the nodes the plugin fills in by putting a marker in their
 * titles, such as {@code qwen-edit:image1} on a {@code LoadImage} node; a marker may name the input to
 * fill after a second colon ({@code qwen-edit:prompt:text_g}). The graph is checked against the
 * server's {@code object_info} as execution.py's {@code validate_prompt} checks a prompt
 * (https://github.com/comfyanonymous/ComfyUI/blob/master/execution.py): every node type installed,
 * required inputs present, every link pointing at an existing node's output of the right type, choices
 * in their lists, so a file the server would refuse is refused before anything is uploaded or queued.
 */
final class UserWorkflow {

	/** What a marker asks the plugin to fill in. */
	enum Role {
		IMAGE1, IMAGE2, IMAGE3, PROMPT, NEGATIVE, SEED, SIZE, OUTPUT;

		String marker() {
			return MARKER + name().toLowerCase(Locale.ROOT);
		}

		static Optional<Role> of(String word) {
			for (Role r : values()) {
				if (r.name().equalsIgnoreCase(word)) return Optional.of(r);
			}
			return Optional.empty();
		}
	}

	static final String MARKER = "qwen-edit:";
	private static final Pattern MARKS = Pattern.compile("(?i)qwen-edit:([a-z0-9]+)(?::([A-Za-z0-9_]+))?");
	/** A file larger than this is not a workflow (ComfyUI's own exports are kilobytes). */
	private static final long MAX_BYTES = 4L * 1024 * 1024;

	/** One marked node and, when the marker names it, the input to fill. */
	static final class Mark {
		final String nodeId;
		final String input;

		Mark(String nodeId, String input) {
			this.nodeId = nodeId;
			this.input = input;
		}
	}

	private final String fileName;
	private final ObjectNode graph;
	private final Map<Role, Mark> marks;

	private UserWorkflow(String fileName, ObjectNode graph, Map<Role, Mark> marks) {
		this.fileName = fileName;
		this.graph = graph;
		this.marks = marks;
	}

	/** The file read and its markers found, or one sentence naming the file and what is wrong with it. */
	static UserWorkflow read(Path file) throws EditException {
		String name = String.valueOf(file.getFileName());
		String where = "The ComfyUI workflow file " + file + " (" + ComfyUiProvider.WORKFLOW_FILE_VARIABLE + ")";
		byte[] bytes;
		try {
			if (Files.isDirectory(file)) throw refused(where + " is a folder, not a file.");
			if (Files.size(file) > MAX_BYTES) throw refused(where + " is larger than 4 MiB, so it is no workflow.");
			bytes = Files.readAllBytes(file);
		}
		catch (NoSuchFileException e) {
			throw refused(where + " does not exist.");
		}
		catch (IOException e) {
			throw refused(where + " cannot be read (" + e.getClass().getSimpleName() + ").");
		}
		JsonNode tree;
		try {
			tree = Json.MAPPER.readTree(bytes);
		}
		catch (IOException e) {
			throw refused(where + " is not JSON: export it from ComfyUI with Save (API format).");
		}
		if (tree == null || !tree.isObject()) throw refused(where + " is not a JSON object of nodes.");
		if (tree.has("nodes") && tree.has("links")) {
			throw refused(where + " is a workflow saved for ComfyUI's editor, not for its API: export it with " +
				"Save (API format) instead.");
		}
		// Some tools save {"prompt": graph}, as POST /prompt takes it.
		if (tree.size() == 1 && tree.path("prompt").isObject()) tree = tree.get("prompt");
		if (tree.size() == 0) throw refused(where + " holds no nodes.");
		Map<Role, Mark> marks = new EnumMap<>(Role.class);
		for (Iterator<Map.Entry<String, JsonNode>> it = tree.fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> node = it.next();
			JsonNode value = node.getValue();
			if (!value.isObject() || !value.path("class_type").isTextual() || !value.path("inputs").isObject()) {
				throw refused(where + " is not in ComfyUI's API format: its node " + node.getKey() + " has no class_type " +
					"and inputs (export it with Save (API format)).");
			}
			Matcher m = MARKS.matcher(value.path("_meta").path("title").asText(""));
			while (m.find()) {
				Optional<Role> role = Role.of(m.group(1));
				if (!role.isPresent()) {
					throw refused(where + " marks its node " + node.getKey() + " with " + m.group() + ", which is no marker " +
						"of this plugin (it knows " + known() + ").");
				}
				Mark before = marks.put(role.get(), new Mark(node.getKey(), m.group(2)));
				if (before != null) {
					throw refused(where + " has the marker " + role.get().marker() + " on two nodes, " + before.nodeId +
						" and " + node.getKey() + ": keep it on one.");
				}
			}
		}
		if (!marks.containsKey(Role.IMAGE1)) {
			throw refused(where + " has no node marked " + Role.IMAGE1.marker() + ": put that in the title of the " +
				"LoadImage node that takes the first image, and export the workflow again.");
		}
		if (!marks.containsKey(Role.PROMPT)) {
			throw refused(where + " has no node marked " + Role.PROMPT.marker() + ": put that in the title of the " +
				"node whose text is the instruction, and export the workflow again.");
		}
		if (marks.containsKey(Role.IMAGE3) && !marks.containsKey(Role.IMAGE2)) {
			throw refused(where + " marks " + Role.IMAGE3.marker() + " but not " + Role.IMAGE2.marker() + ".");
		}
		return new UserWorkflow(name, (ObjectNode) tree, marks);
	}

	private static String known() {
		List<String> all = new ArrayList<>();
		for (Role r : Role.values()) {
			all.add(r.marker());
		}
		return String.join(", ", all);
	}

	private static EditException refused(String sentence) {
		return new EditException(ErrorKind.INVALID_INPUT, sentence);
	}

	String fileName() {
		return fileName;
	}

	/** How many images the workflow takes: one per image marker. */
	int imageCount() {
		return marks.containsKey(Role.IMAGE3) ? 3 : marks.containsKey(Role.IMAGE2) ? 2 : 1;
	}

	boolean marks(Role role) {
		return marks.containsKey(role);
	}

	/**
	 * Refuses what the request asks that the workflow has no marker for, instead of silently running
	 * the graph's own value: a seed, a negative prompt, a size or more than one output.
	 */
	void checkAsked(boolean seedGiven, boolean negativeGiven, boolean sizeGiven, int outputs) throws EditException {
		String where = "The ComfyUI workflow " + fileName + " has no node marked ";
		if (seedGiven && !marks.containsKey(Role.SEED)) {
			throw refused(where + Role.SEED.marker() + ", so the seed asked for cannot be used: mark the sampler, or " +
				"leave the seed random (the workflow's own is used).");
		}
		if (negativeGiven && !marks.containsKey(Role.NEGATIVE)) {
			throw refused(where + Role.NEGATIVE.marker() + ", so the negative prompt cannot be used: mark the node of " +
				"the negative prompt, or leave it empty.");
		}
		if ((sizeGiven || outputs > 1) && !marks.containsKey(Role.SIZE)) {
			throw refused(where + Role.SIZE.marker() + ", so " + (sizeGiven ? "the size" : "the number of outputs") +
				" asked for cannot be used: mark the node with width and height (such as EmptySD3LatentImage), or leave " +
				"the size to the workflow and ask for 1 output.");
		}
	}

	/** The node types the workflow uses, for reading their descriptions from the server. */
	Set<String> classTypes() {
		Set<String> types = new LinkedHashSet<>();
		graph.forEach(node -> types.add(node.path("class_type").asText()));
		return types;
	}

	/**
	 * Checks the whole graph, as filled in, against the server's nodes, and returns it as
	 * {@code POST /prompt} takes it; one sentence naming the node and input otherwise.
	 */
	ObjectNode fill(ServerNodes server, QwenEditWorkflow.Inputs in, String serverAddress) throws EditException {
		String where = "The ComfyUI workflow " + fileName;
		List<String> missing = new ArrayList<>();
		for (String type : classTypes()) {
			if (!server.type(type).isPresent()) missing.add(type);
		}
		if (!missing.isEmpty()) {
			throw refused(where + " uses node " + (missing.size() == 1 ? "type " : "types ") + String.join(", ", missing) +
				", which the ComfyUI server at " + serverAddress + " does not have: install " +
				(missing.size() == 1 ? "it" : "them") + " there (custom nodes through ComfyUI-Manager) and restart ComfyUI.");
		}
		if (in.images.size() != imageCount()) {
			throw refused(where + " takes " + count(imageCount()) + " (its markers " + imageMarkers() + "), not " +
				in.images.size() + ": choose " + count(imageCount()) + ", or mark more LoadImage nodes.");
		}
		ObjectNode filled = graph.deepCopy();
		for (int i = 0; i < in.images.size(); i++) {
			Role role = Role.values()[Role.IMAGE1.ordinal() + i];
			set(filled, server, role, in.images.get(i));
		}
		set(filled, server, Role.PROMPT, in.instruction);
		if (marks.containsKey(Role.NEGATIVE)) set(filled, server, Role.NEGATIVE, in.negativePrompt);
		if (marks.containsKey(Role.SEED)) set(filled, server, Role.SEED, in.seed);
		if (marks.containsKey(Role.SIZE)) {
			Mark size = marks.get(Role.SIZE);
			ServerNodes.NodeType type = typeOf(filled, server, size.nodeId);
			for (String input : List.of("width", "height")) {
				requireKind(type, size.nodeId, Role.SIZE, input, "INT");
			}
			ObjectNode inputs = (ObjectNode) filled.get(size.nodeId).get("inputs");
			inputs.put("width", in.width).put("height", in.height);
			if (type.inputs().containsKey("batch_size")) inputs.put("batch_size", in.outputs);
		}
		if (marks.containsKey(Role.OUTPUT)) {
			Mark output = marks.get(Role.OUTPUT);
			if (!typeOf(filled, server, output.nodeId).outputNode()) {
				throw refused(where + " marks its node " + output.nodeId + " (" + classOf(filled, output.nodeId) + ") as " +
					Role.OUTPUT.marker() + ", but that node saves nothing: mark a SaveImage node.");
			}
		}
		check(filled, server, where);
		return filled;
	}

	private String imageMarkers() {
		List<String> names = new ArrayList<>();
		for (int i = 0; i < imageCount(); i++) {
			names.add(Role.values()[Role.IMAGE1.ordinal() + i].marker());
		}
		return String.join(", ", names);
	}

	private static String count(int images) {
		return images == 1 ? "1 image" : images + " images";
	}

	private void set(ObjectNode filled, ServerNodes server, Role role, Object value) throws EditException {
		Mark mark = marks.get(role);
		ServerNodes.NodeType type = typeOf(filled, server, mark.nodeId);
		String input = mark.input != null ? mark.input : defaultInput(type, role, mark.nodeId);
		ObjectNode inputs = (ObjectNode) filled.get(mark.nodeId).get("inputs");
		switch (role) {
			case SEED:
				requireKind(type, mark.nodeId, role, input, "INT");
				inputs.put(input, (Long) value);
				break;
			case PROMPT:
			case NEGATIVE:
				requireKind(type, mark.nodeId, role, input, "STRING");
				inputs.put(input, (String) value);
				break;
			default:
				ServerNodes.InputSpec spec = type.inputs().get(input);
				if (spec == null || !spec.type().equals("COMBO") && !spec.type().equals("STRING")) {
					throw refused("The ComfyUI workflow " + fileName + " marks its node " + mark.nodeId + " (" +
						type.name() + ") as " + role.marker() + ", but that node has no input " + input + " naming an image " +
						"file: mark a LoadImage node.");
				}
				inputs.put(input, (String) value);
				break;
		}
	}

	/** The input a marker without one fills: the name ComfyUI's own nodes give it. */
	private String defaultInput(ServerNodes.NodeType type, Role role, String nodeId) throws EditException {
		List<String> candidates;
		switch (role) {
			case PROMPT:
			case NEGATIVE:
				// TextEncodeQwenImageEditPlus has "prompt", CLIPTextEncode "text" (nodes.py, comfy_extras/nodes_qwen.py).
				candidates = List.of("prompt", "text");
				break;
			case SEED:
				// KSampler has "seed"; KSamplerAdvanced and RandomNoise have "noise_seed" (nodes.py, comfy_extras/nodes_custom_sampler.py).
				candidates = List.of("seed", "noise_seed");
				break;
			default:
				candidates = List.of("image");
				break;
		}
		for (String c : candidates) {
			if (type.inputs().containsKey(c)) return c;
		}
		throw refused("The ComfyUI workflow " + fileName + " marks its node " + nodeId + " (" + type.name() + ") as " +
			role.marker() + ", but that node has no input " + String.join(" or ", candidates) + ": name the input in " +
			"the marker, such as " + role.marker() + ":<input>.");
	}

	private void requireKind(ServerNodes.NodeType type, String nodeId, Role role, String input, String kind)
		throws EditException
	{
		ServerNodes.InputSpec spec = type.inputs().get(input);
		if (spec == null || !spec.type().equals(kind)) {
			throw refused("The ComfyUI workflow " + fileName + " marks its node " + nodeId + " (" + type.name() + ") as " +
				role.marker() + ", but that node has no " + kind + " input " + input + ".");
		}
	}

	private static ServerNodes.NodeType typeOf(ObjectNode graph, ServerNodes server, String nodeId) throws EditException {
		return server.type(classOf(graph, nodeId)).orElseThrow(() -> new IllegalStateException("checked before"));
	}

	private static String classOf(ObjectNode graph, String nodeId) {
		return graph.path(nodeId).path("class_type").asText();
	}

	/**
	 * As execution.py's {@code validate_prompt}: an output node to run, and for every node its required
	 * inputs, its links (to an existing node, an output slot it has, of the type the input takes) and
	 * its choices. Numbers are left to the server, which names the bound it holds them to.
	 */
	private static void check(ObjectNode graph, ServerNodes server, String where) throws EditException {
		boolean anyOutput = false;
		for (Iterator<Map.Entry<String, JsonNode>> it = graph.fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> node = it.next();
			String id = node.getKey();
			ServerNodes.NodeType type = server.type(node.getValue().path("class_type").asText()).get();
			anyOutput |= type.outputNode();
			JsonNode inputs = node.getValue().path("inputs");
			String named = where + "'s node " + id + " (" + type.name() + ")";
			for (Map.Entry<String, ServerNodes.InputSpec> declared : type.inputs().entrySet()) {
				String input = declared.getKey();
				ServerNodes.InputSpec spec = declared.getValue();
				JsonNode value = inputs.get(input);
				if (value == null || value.isNull()) {
					if (spec.required()) throw refused(named + " lacks its required input " + input + ".");
					continue;
				}
				if (value.isArray()) {
					checkLink(graph, server, named, input, spec, value);
					continue;
				}
				boolean literal = !value.isObject() || value.has("__value__");
				if (!literal) throw refused(named + " has an input " + input + " that is neither a value nor a link.");
				if (spec.type().equals("COMBO") && !spec.namesUploadedFile() && !spec.choices().isEmpty() &&
					!spec.choices().contains(value.asText()))
				{
					throw refused(named + " asks for " + input + " \"" + value.asText() + "\", which the ComfyUI server does " +
						"not have (it offers " + clip(spec.choices()) + ").");
				}
			}
		}
		if (!anyOutput) {
			throw refused(where + " has no output node (such as SaveImage), so ComfyUI would run nothing of it.");
		}
		Optional<String> looped = nodeInACycle(graph);
		if (looped.isPresent()) {
			throw refused(where + "'s node " + looped.get() + " (" + classOf(graph, looped.get()) + ") takes an input, " +
				"through its links, from its own output: ComfyUI runs no graph with a cycle (its comfy_execution/graph.py " +
				"stops one with \"Dependency cycle detected\").");
		}
	}

	/**
	 * A node whose inputs lead, link by link, back to itself; empty when the links form no cycle.
	 * Depth-first over the links with a stack of its own, so that a graph of thousands of nodes in a
	 * chain is no deeper for the check than for ComfyUI; each node is finished once.
	 */
	static Optional<String> nodeInACycle(JsonNode graph) {
		Map<String, Boolean> finished = new java.util.HashMap<>();
		for (Iterator<String> ids = graph.fieldNames(); ids.hasNext();) {
			String start = ids.next();
			if (finished.containsKey(start)) continue;
			// Each frame: a node, and the links of its inputs still to follow.
			java.util.Deque<Map.Entry<String, Iterator<JsonNode>>> path = new java.util.ArrayDeque<>();
			finished.put(start, false);
			path.push(Map.entry(start, graph.path(start).path("inputs").elements()));
			while (!path.isEmpty()) {
				Map.Entry<String, Iterator<JsonNode>> top = path.peek();
				if (!top.getValue().hasNext()) {
					finished.put(top.getKey(), true);
					path.pop();
					continue;
				}
				JsonNode value = top.getValue().next();
				if (!value.isArray() || value.size() != 2 || !graph.has(value.get(0).asText())) continue;
				String from = value.get(0).asText();
				Boolean state = finished.get(from);
				if (state == null) {
					finished.put(from, false);
					path.push(Map.entry(from, graph.path(from).path("inputs").elements()));
				}
				else if (!state) {
					return Optional.of(from);
				}
			}
		}
		return Optional.empty();
	}

	private static void checkLink(ObjectNode graph, ServerNodes server, String named, String input,
		ServerNodes.InputSpec spec, JsonNode link) throws EditException
	{
		if (link.size() != 2 || !link.get(1).canConvertToInt()) {
			throw refused(named + " has a link in " + input + " that is not [node id, output slot].");
		}
		String from = link.get(0).asText();
		JsonNode source = graph.get(from);
		if (source == null) throw refused(named + " takes " + input + " from node " + from + ", which the workflow lacks.");
		ServerNodes.NodeType sourceType = server.type(source.path("class_type").asText()).get();
		int slot = link.get(1).asInt();
		if (slot < 0 || slot >= sourceType.outputs().size()) {
			throw refused(named + " takes " + input + " from output " + slot + " of node " + from + " (" + sourceType.name() +
				"), which has " + sourceType.outputs().size() + " outputs.");
		}
		String given = sourceType.outputs().get(slot);
		// ComfyUI's "*" matches any type, and a choice input may be fed by a node that outputs a COMBO.
		boolean fits = given.equals(spec.type()) || given.equals("*") || spec.type().equals("*") ||
			Set.of(given.split(",")).contains(spec.type());
		if (!fits) {
			throw refused(named + " takes " + input + " (" + spec.type() + ") from node " + from + " (" + sourceType.name() +
				"), whose output is " + given + ".");
		}
	}

	private static String clip(List<String> choices) {
		if (choices.size() <= 6) return String.join(", ", choices);
		return String.join(", ", choices.subList(0, 6)) + " and " + (choices.size() - 6) + " more";
	}

	/** The ids of the marked nodes by role, read back from a graph the server keeps in its history. */
	static Map<Role, String> markedNodes(JsonNode graph) {
		Map<Role, String> found = new EnumMap<>(Role.class);
		for (Iterator<Map.Entry<String, JsonNode>> it = graph.fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> node = it.next();
			Matcher m = MARKS.matcher(node.getValue().path("_meta").path("title").asText(""));
			while (m.find()) {
				Role.of(m.group(1)).ifPresent(role -> found.putIfAbsent(role, node.getKey()));
			}
		}
		return found;
	}
}
