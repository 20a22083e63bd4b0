package io.github.qwenedit.http;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;

/** The one JSON mapper of the plugin. */
public final class Json {

	public static final ObjectMapper MAPPER = new ObjectMapper()
		.configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

	private Json() {}

	public static ObjectNode object() {
		return MAPPER.createObjectNode();
	}

	public static byte[] bytes(JsonNode node) {
		try {
			return MAPPER.writeValueAsBytes(node);
		}
		catch (com.fasterxml.jackson.core.JsonProcessingException e) {
			throw new IllegalStateException("A tree of plain values always serialises", e);
		}
	}

	/** Parses a provider's answer; a body that is not JSON is a provider failure the user can report. */
	public static JsonNode parse(byte[] body, String providerName) throws EditException {
		try {
			JsonNode node = MAPPER.readTree(body);
			if (node == null || node.isMissingNode()) throw new java.io.IOException("empty body");
			return node;
		}
		catch (java.io.IOException e) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, providerName +
				" sent an answer that is not valid JSON. Try again later; if it persists, the service may be down.", e);
		}
	}

	/** A text field, or null when absent or not text. */
	public static String text(JsonNode node, String field) {
		JsonNode v = node == null ? null : node.get(field);
		return v == null || v.isNull() ? null : v.asText();
	}
}
