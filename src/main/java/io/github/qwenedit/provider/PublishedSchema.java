package io.github.qwenedit.provider;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.ErrorKind;

/**
 * The JSON Schema of a model's input as its provider publishes it ({@code type: object} with
 * {@code properties}): which fields the model takes and, where it says, which values. Where a
 * provider publishes one, it is the source of truth over the built-in table.
 */
public final class PublishedSchema {

	private final ObjectNode properties;

	private PublishedSchema(ObjectNode properties) {
		this.properties = properties;
	}

	/** The schema in {@code node}, or empty when {@code node} is not an object schema with properties. */
	public static Optional<PublishedSchema> of(JsonNode node) {
		return of(node, node);
	}

	/**
	 * As {@link #of(JsonNode)}, where a field's enum may be a reference into {@code document}, as in
	 * the OpenAPI documents Cog writes for Replicate models
	 * ({@code "aspect_ratio": {"allOf": [{"$ref": "#/components/schemas/aspect_ratio"}]}}).
	 */
	public static Optional<PublishedSchema> of(JsonNode node, JsonNode document) {
		if (node == null || !node.path("properties").isObject() || node.path("properties").size() == 0) {
			return Optional.empty();
		}
		ObjectNode properties = (ObjectNode) node.get("properties").deepCopy();
		properties.fields().forEachRemaining(field -> {
			if (!field.getValue().isObject() || field.getValue().has("enum")) return;
			JsonNode target = referenced(field.getValue(), document);
			if (target != null && target.path("enum").isArray()) {
				((ObjectNode) field.getValue()).set("enum", target.get("enum").deepCopy());
			}
		});
		return Optional.of(new PublishedSchema(properties));
	}

	/** The schema a field points to with {@code $ref}, directly or as the first of {@code allOf}/{@code anyOf}. */
	private static JsonNode referenced(JsonNode field, JsonNode document) {
		String ref = field.path("$ref").asText(null);
		if (ref == null) ref = field.path("allOf").path(0).path("$ref").asText(null);
		if (ref == null) ref = field.path("anyOf").path(0).path("$ref").asText(null);
		if (ref == null || !ref.startsWith("#/")) return null;
		JsonNode target = document.at(ref.substring(1));
		return target.isMissingNode() ? null : target;
	}

	public boolean has(String field) {
		return properties.has(field);
	}

	public Set<String> fields() {
		Set<String> names = new LinkedHashSet<>();
		properties.fieldNames().forEachRemaining(names::add);
		return names;
	}

	/** The values an {@code enum} of the field allows, in the schema's order; empty when it lists none. */
	public List<String> allowedValues(String field) {
		List<String> values = new ArrayList<>();
		properties.path(field).path("enum").forEach(v -> {
			if (v.isValueNode() && !v.isNull()) values.add(v.asText());
		});
		return values;
	}

	/** The largest value the field allows ({@code maximum}), or empty when the schema sets none. */
	public OptionalInt maximum(String field) {
		JsonNode max = properties.path(field).path("maximum");
		return max.isNumber() ? OptionalInt.of((int) Math.floor(max.asDouble())) : OptionalInt.empty();
	}

	/**
	 * The most outputs one edit may ask for under this schema: none beyond 1 without {@code countField},
	 * else its {@code maximum}, or {@code builtIn} when it sets none.
	 */
	public int maxOutputs(String countField, int builtIn) {
		return has(countField) ? maximum(countField).orElse(builtIn) : 1;
	}

	/** Refuses more outputs than {@link #maxOutputs} allows, naming how many may be asked for. */
	public void requireOutputs(String where, String countField, int outputs) throws EditException {
		if (outputs <= 1) return;
		requireField(where, countField, "more than 1 output", "set outputs to 1");
		OptionalInt max = maximum(countField);
		if (max.isPresent() && outputs > max.getAsInt()) {
			throw new EditException(ErrorKind.INVALID_INPUT, where + " allows at most " + max.getAsInt() + " outputs (" +
				countField + "): set outputs to " + max.getAsInt() + " or fewer, then run the edit again.");
		}
	}

	/**
	 * Refuses the options the user set that the schema has no field for, or a value outside a
	 * field's enum, so that nothing the model would reject is paid for. The field names are the
	 * DashScope-style ones eachlabs and PixelDojo share.
	 */
	public void check(String service, String model, EditOptions options) throws EditException {
		String where = service + "'s schema for " + model;
		if (!options.negativePrompt().isBlank()) requireField(where, "negative_prompt", "a negative prompt",
			"leave the negative prompt empty");
		if (options.seed().isPresent()) requireField(where, "seed", "a seed", "leave the seed empty (or -1)");
		if (options.watermark()) requireField(where, "watermark", "a watermark", "untick 'watermark'");
		if (!options.promptExtend()) requireField(where, "prompt_extend", "turning prompt extension off",
			"tick 'prompt extend'");
		requireOutputs(where, "n", options.outputs());
		if (options.size().isPresent()) {
			requireField(where, "size", "a custom size", "choose the size 'as input'");
			requireValue(where, "size", options.size().get().toString());
		}
	}

	/** Refuses {@code value} when the field's enum does not list it, naming the values it does list. */
	public void requireValue(String where, String field, String value) throws EditException {
		List<String> allowed = allowedValues(field);
		if (!allowed.isEmpty() && !allowed.contains(value)) {
			throw new EditException(ErrorKind.INVALID_INPUT, where + " does not allow " + field + " \"" + value +
				"\": choose one of " + String.join(", ", allowed) + ".");
		}
	}

	/** Refuses an option the user set when the schema has no field for it, saying what to change. */
	public void requireField(String where, String field, String what, String change) throws EditException {
		if (!has(field)) {
			throw new EditException(ErrorKind.INVALID_INPUT, where + " has no field for " + what + " (" + field +
				"): " + change + ", then run the edit again.");
		}
	}

	/**
	 * Removes from {@code body} every field the schema does not list, so none is refused for being
	 * unknown; the {@code essential} ones (prompt, images) stay, as an edit without them means nothing.
	 */
	public ObjectNode keepListed(ObjectNode body, String... essential) {
		Set<String> kept = new LinkedHashSet<>(List.of(essential));
		for (Iterator<String> names = body.fieldNames(); names.hasNext();) {
			String name = names.next();
			if (!has(name) && !kept.contains(name)) names.remove();
		}
		return body;
	}
}
