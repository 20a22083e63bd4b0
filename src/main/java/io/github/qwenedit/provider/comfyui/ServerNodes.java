package io.github.qwenedit.provider.comfyui;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The node types a ComfyUI server has, as its {@code GET /object_info} describes them
 * (https://github.com/comfyanonymous/ComfyUI/blob/master/server.py, {@code node_info}): per class, its
 * {@code input.required} and {@code input.optional} inputs, each {@code [type, options]} where the type
 * is a name such as {@code MODEL} or {@code INT}, or the list of allowed values (the model files a
 * loader can load); newer servers spell such a list {@code ["COMBO", {"options": [...]}]}. And its
 * {@code output} types, in slot order, and whether it is an {@code output_node}.
 */
final class ServerNodes {

	/** One input of a node type. */
	static final class InputSpec {
		private final String type;
		private final List<String> choices;
		private final boolean required;
		private final JsonNode options;

		InputSpec(String type, List<String> choices, boolean required, JsonNode options) {
			this.type = type;
			this.choices = choices;
			this.required = required;
			this.options = options;
		}

		/** The type name of a linked input, or {@code COMBO} for a choice. */
		String type() {
			return type;
		}

		/** The values a choice allows, empty for a typed input. */
		List<String> choices() {
			return choices;
		}

		boolean required() {
			return required;
		}

		/**
		 * Whether the input names a file of the server's input folder that the node checks by itself
		 * ({@code LoadImage}'s {@code image_upload}), so its choice list shows only part of what it loads.
		 */
		boolean namesUploadedFile() {
			return options != null && options.path("image_upload").asBoolean(false);
		}

		/** The default the server declares for this input, if any. */
		Optional<JsonNode> defaultValue() {
			JsonNode d = options == null ? null : options.get("default");
			return d == null || d.isNull() ? Optional.empty() : Optional.of(d);
		}
	}

	/** One node type. */
	static final class NodeType {
		private final String name;
		private final Map<String, InputSpec> inputs;
		private final List<String> outputs;
		private final boolean outputNode;

		NodeType(String name, Map<String, InputSpec> inputs, List<String> outputs, boolean outputNode) {
			this.name = name;
			this.inputs = inputs;
			this.outputs = outputs;
			this.outputNode = outputNode;
		}

		/** An output node (such as {@code SaveImage}): the server runs a prompt only for such nodes and what feeds them. */
		boolean outputNode() {
			return outputNode;
		}

		String name() {
			return name;
		}

		Map<String, InputSpec> inputs() {
			return inputs;
		}

		List<String> outputs() {
			return outputs;
		}
	}

	private final Map<String, NodeType> types;

	private ServerNodes(Map<String, NodeType> types) {
		this.types = types;
	}

	static ServerNodes parse(JsonNode objectInfo) {
		Map<String, NodeType> types = new LinkedHashMap<>();
		for (Iterator<Map.Entry<String, JsonNode>> it = objectInfo.fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> e = it.next();
			JsonNode info = e.getValue();
			Map<String, InputSpec> inputs = new LinkedHashMap<>();
			readInputs(info.path("input").path("required"), true, inputs);
			readInputs(info.path("input").path("optional"), false, inputs);
			List<String> outputs = new ArrayList<>();
			for (JsonNode o : info.path("output")) {
				outputs.add(o.isTextual() ? o.asText() : "COMBO");
			}
			types.put(e.getKey(), new NodeType(e.getKey(), inputs, outputs, info.path("output_node").asBoolean(false)));
		}
		return new ServerNodes(types);
	}

	private static void readInputs(JsonNode group, boolean required, Map<String, InputSpec> into) {
		for (Iterator<Map.Entry<String, JsonNode>> it = group.fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> e = it.next();
			JsonNode spec = e.getValue();
			JsonNode first = spec.path(0);
			JsonNode options = spec.path(1).isObject() ? spec.path(1) : null;
			List<String> choices = new ArrayList<>();
			String type;
			if (first.isArray()) {
				type = "COMBO";
				first.forEach(v -> choices.add(v.asText()));
			}
			else {
				type = first.asText();
				if ("COMBO".equals(type) && options != null) options.path("options").forEach(v -> choices.add(v.asText()));
			}
			into.put(e.getKey(), new InputSpec(type, List.copyOf(choices), required, options));
		}
	}

	Optional<NodeType> type(String name) {
		return Optional.ofNullable(types.get(name));
	}

	/** The values the input {@code input} of {@code nodeType} allows; empty when either is unknown. */
	List<String> choices(String nodeType, String input) {
		NodeType t = types.get(nodeType);
		InputSpec spec = t == null ? null : t.inputs().get(input);
		return spec == null ? List.of() : spec.choices();
	}
}
