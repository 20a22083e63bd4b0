package io.github.qwenedit.emulator;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One request exactly as an emulator received it, for tests to inspect.
 *
 * @param headers header names in lower case, values in arrival order
 * @param body the body bytes, cut at {@link EmulatorServer#MAX_KEPT_BODY_BYTES}
 * @param bodyLength how many body bytes the client really sent
 */
public record RecordedRequest(String method, String path, String query, Map<String, List<String>> headers,
	byte[] body, long bodyLength, Instant receivedAt)
{

	/** The first value of a header, matched without regard to case; null when absent. */
	public String header(String name) {
		List<String> values = headers.get(name.toLowerCase(java.util.Locale.ROOT));
		return values == null || values.isEmpty() ? null : values.get(0);
	}

	public String bodyText() {
		return new String(body, StandardCharsets.UTF_8);
	}

	/** The body as a JSON tree; null when the body is empty or not one JSON document. */
	public JsonNode json() {
		try {
			JsonNode node = EmulatorServer.JSON.readTree(body);
			return node == null || node.isMissingNode() ? null : node;
		}
		catch (IOException e) {
			return null;
		}
	}

	/**
	 * Whether {@code secret} shows up anywhere but in the one header meant to carry it: in the path,
	 * the query, another header or the body. DESIGN.md: a key lives only where the provider asks for it.
	 */
	public boolean mentionsOutside(String secret, String allowedHeader) {
		if (path.contains(secret) || (query != null && query.contains(secret)) || bodyText().contains(secret)) {
			return true;
		}
		String allowed = allowedHeader.toLowerCase(java.util.Locale.ROOT);
		return headers.entrySet().stream()
			.filter(header -> !header.getKey().equals(allowed))
			.anyMatch(header -> header.getKey().contains(secret) ||
				header.getValue().stream().anyMatch(value -> value.contains(secret)));
	}
}
