package io.github.qwenedit.provider.comfyui;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.http.Json;

/**
 * A ComfyUI graph in the API format that {@code POST /prompt} takes: node ids mapping to
 * {@code {"class_type", "inputs"}}, where a linked input is {@code [node_id, output_slot]}
 * (https://github.com/comfyanonymous/ComfyUI/blob/master/execution.py, {@code validate_inputs}). Built in
 * code as Krita AI Diffusion's {@code comfy_workflow.py} does: adding a node returns typed handles to
 * its outputs, which become the next nodes' inputs. Every node type, input name, choice and link type
 * is checked against the server's own {@code object_info} as it is added, so a graph the server would
 * refuse is refused here, before anything is uploaded or queued.
 */
final class ComfyWorkflow {

	/** One output slot of a node in this graph, with the type the server declares for it. */
	static final class Output {
		private final String nodeId;
		private final int slot;
		private final String type;

		private Output(String nodeId, int slot, String type) {
			this.nodeId = nodeId;
			this.slot = slot;
			this.type = type;
		}

		String type() {
			return type;
		}
	}

	/** A node being filled in. */
	final class Node {
		private final String id;
		private final ServerNodes.NodeType type;
		private final ObjectNode inputs;

		private Node(String id, ServerNodes.NodeType type, ObjectNode inputs) {
			this.id = id;
			this.type = type;
			this.inputs = inputs;
		}

		Node text(String input, String value) throws EditException {
			String kind = spec(input).type();
			if (!kind.equals("STRING") && !kind.equals("COMBO")) throw mismatch(input, "STRING", kind);
			if (kind.equals("COMBO") && !spec(input).choices().contains(value)) {
				throw new EditException(ErrorKind.INVALID_INPUT, "The ComfyUI server's " + type.name() + " node has no " +
					input + " \"" + value + "\" (it offers " + String.join(", ", spec(input).choices()) + ").");
			}
			inputs.put(input, value);
			return this;
		}

		/**
		 * A value the server checks by itself rather than against a choice list ({@code LoadImage}'s
		 * file name, validated by the node's own {@code VALIDATE_INPUTS}).
		 */
		Node raw(String input, String value) throws EditException {
			spec(input);
			inputs.put(input, value);
			return this;
		}

		Node number(String input, long value) throws EditException {
			String kind = spec(input).type();
			if (!kind.equals("INT")) throw mismatch(input, "INT", kind);
			inputs.put(input, value);
			return this;
		}

		Node decimal(String input, double value) throws EditException {
			String kind = spec(input).type();
			if (!kind.equals("FLOAT")) throw mismatch(input, "FLOAT", kind);
			inputs.put(input, value);
			return this;
		}

		Node link(String input, Output from) throws EditException {
			String kind = spec(input).type();
			if (!kind.equals(from.type)) throw mismatch(input, from.type, kind);
			ArrayNode link = inputs.putArray(input);
			link.add(from.nodeId).add(from.slot);
			return this;
		}

		/** Output {@code slot}; call once the inputs are set. */
		Output output(int slot) throws EditException {
			if (slot >= type.outputs().size()) {
				throw new EditException(ErrorKind.PROVIDER_FAILURE, "The ComfyUI server's " + type.name() + " node has " +
					type.outputs().size() + " outputs, not " + (slot + 1) + ".");
			}
			return new Output(id, slot, type.outputs().get(slot));
		}

		/** Checks that every input the server requires is set, taking the server's defaults for those left out. */
		Node complete() throws EditException {
			for (Map.Entry<String, ServerNodes.InputSpec> e : type.inputs().entrySet()) {
				ServerNodes.InputSpec spec = e.getValue();
				if (!spec.required() || inputs.has(e.getKey())) continue;
				if (spec.defaultValue().isPresent()) inputs.set(e.getKey(), spec.defaultValue().get());
				else if (!spec.choices().isEmpty()) inputs.put(e.getKey(), spec.choices().get(0));
				else {
					throw new EditException(ErrorKind.PROVIDER_FAILURE, "The ComfyUI server's " + type.name() + " node " +
						"requires the input " + e.getKey() + ", which this plugin does not fill: update the plugin, or " +
						"use a ComfyUI version whose node matches.");
				}
			}
			return this;
		}

		private ServerNodes.InputSpec spec(String input) throws EditException {
			ServerNodes.InputSpec spec = type.inputs().get(input);
			if (spec == null) {
				throw new EditException(ErrorKind.PROVIDER_FAILURE, "The ComfyUI server's " + type.name() + " node has no " +
					"input " + input + ": update ComfyUI (the nodes of Qwen-Image-Edit are in ComfyUI's own " +
					"comfy_extras/nodes_qwen.py).");
			}
			return spec;
		}

		private EditException mismatch(String input, String given, String declared) {
			return new EditException(ErrorKind.PROVIDER_FAILURE, "The ComfyUI server's " + type.name() + " node takes " +
				declared + " as its input " + input + ", not " + given + ": update ComfyUI or the plugin so that they match.");
		}
	}

	private final ServerNodes server;
	private final ObjectNode prompt = Json.object();
	private int nextId = 1;

	ComfyWorkflow(ServerNodes server) {
		this.server = server;
	}

	/** A new node of {@code classType}, refused when the server does not have that node type. */
	Node add(String classType) throws EditException {
		ServerNodes.NodeType type = server.type(classType).orElseThrow(() -> new EditException(ErrorKind.INVALID_INPUT,
			"The ComfyUI server has no node " + classType + ": update ComfyUI to a version that has it (see the README, " +
				"\"ComfyUI\")."));
		String id = String.valueOf(nextId++);
		ObjectNode node = prompt.putObject(id);
		node.put("class_type", classType);
		return new Node(id, type, node.putObject("inputs"));
	}

	/** The graph as {@code POST /prompt} takes it in its {@code prompt} field. */
	ObjectNode toJson() {
		return prompt.deepCopy();
	}

	/**
	 * SHA-256 of the graph with its keys sorted, so that the same graph hashes the same whether read
	 * from this builder or from the server's history, whatever order either keeps.
	 */
	static String sha256(JsonNode graph) {
		try {
			byte[] digest = MessageDigest.getInstance("SHA-256").digest(Json.MAPPER.writeValueAsString(sorted(graph))
				.getBytes(StandardCharsets.UTF_8));
			StringBuilder hex = new StringBuilder();
			for (byte b : digest) {
				hex.append(String.format("%02x", b));
			}
			return hex.toString();
		}
		catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
			throw new IllegalStateException("SHA-256 of a JSON tree", e);
		}
	}

	private static Object sorted(JsonNode node) {
		if (node.isObject()) {
			Map<String, Object> map = new TreeMap<>();
			for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
				Map.Entry<String, JsonNode> e = it.next();
				map.put(e.getKey(), sorted(e.getValue()));
			}
			return map;
		}
		if (node.isArray()) {
			List<Object> list = new ArrayList<>();
			node.forEach(item -> list.add(sorted(item)));
			return list;
		}
		return node;
	}
}
