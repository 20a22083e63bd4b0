package io.github.qwenedit.emulator;

import java.time.Duration;
import java.util.Iterator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A model's input JSON Schema as an emulated provider publishes it and enforces it: a request with a
 * field the schema does not list, or a value outside a field's enum, is refused as the real service
 * would ({@code additionalProperties: false}, docs/providers.md §3.2). Tests replace it with one that
 * disagrees with the plugin's built-in table, or make its endpoint fail or hang.
 */
public final class EmulatedSchema {

	/** How the schema endpoint answers. */
	public enum Served {
		/** The schema, as published. */
		ANSWER,
		/** HTTP 500. */
		FAILS,
		/** No answer until the emulator closes (longer than any client waits). */
		HANGS
	}

	private volatile ObjectNode schema;
	private volatile Served served = Served.ANSWER;

	EmulatedSchema(ObjectNode schema) {
		this.schema = schema;
	}

	/** An object schema without extra properties, its fields to be added with {@link #field}. */
	public static ObjectNode objectSchema() {
		ObjectNode s = EmulatorServer.JSON.createObjectNode();
		s.put("type", "object");
		s.put("additionalProperties", false);
		s.putObject("properties");
		return s;
	}

	/** Adds a field of {@code type} to {@code schema}, with an enum when {@code values} are given. */
	public static ObjectNode field(ObjectNode schema, String name, String type, String... values) {
		ObjectNode f = ((ObjectNode) schema.get("properties")).putObject(name);
		f.put("type", type);
		if (values.length > 0) {
			ArrayNode e = f.putArray("enum");
			for (String v : values) e.add(v);
		}
		return schema;
	}

	/** Sets the largest value {@code name} of {@code schema} allows. */
	public static ObjectNode maximum(ObjectNode schema, String name, int maximum) {
		((ObjectNode) schema.get("properties").get(name)).put("maximum", maximum);
		return schema;
	}

	public ObjectNode schema() {
		return schema;
	}

	/** Publishes and enforces {@code replacement} from now on. */
	public void replaceWith(ObjectNode replacement) {
		schema = replacement;
	}

	public void serve(Served how) {
		served = how;
	}

	/** The reply for a request of the schema endpoint, with the schema placed where {@code wrap} puts it. */
	Reply answer(EmulatorServer<?> server, java.util.function.UnaryOperator<JsonNode> wrap) throws InterruptedException {
		switch (served) {
			case FAILS:
				return Reply.json(500, java.util.Map.of("error", "Internal server error"));
			case HANGS:
				server.holdUnanswered(Duration.ofSeconds(30));
				return EmulatorServer.NO_ANSWER;
			default:
				return Reply.json(200, wrap.apply(schema.deepCopy()));
		}
	}

	/** What the service would say about {@code input}, or null when the schema accepts it. */
	String problem(JsonNode input) {
		JsonNode properties = schema.path("properties");
		for (Iterator<String> names = input.fieldNames(); names.hasNext();) {
			String name = names.next();
			if (!properties.has(name)) return "Unrecognized key in body: '" + name + "'";
			JsonNode maximum = properties.path(name).path("maximum");
			if (maximum.isNumber() && input.get(name).isNumber() && input.get(name).asDouble() > maximum.asDouble()) {
				return name + ": Input should be less than or equal to " + maximum.asText();
			}
			JsonNode allowed = properties.path(name).path("enum");
			if (allowed.isArray() && allowed.size() > 0) {
				boolean listed = false;
				for (JsonNode v : allowed) listed |= v.asText().equals(input.get(name).asText());
				if (!listed) return name + ": Invalid enum value '" + input.get(name).asText() + "'";
			}
		}
		return null;
	}
}
