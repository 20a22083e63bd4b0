package io.github.qwenedit.emulator;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonProcessingException;

/**
 * What an emulator answers: sent whole, with a Content-Length, so keep-alive clients never wait for more;
 * or, for the endpoints that stream (Server-Sent Events), written piece by piece by a {@link Streamer}.
 */
public record Reply(int status, Map<String, String> headers, byte[] body, Streamer streamer) {

	/** Writes a streamed body, flushing as it goes; the stream ends when it returns. */
	@FunctionalInterface
	public interface Streamer {
		void writeTo(java.io.OutputStream out) throws java.io.IOException, InterruptedException;
	}

	public Reply {
		headers = Map.copyOf(headers);
	}

	public Reply(int status, Map<String, String> headers, byte[] body) {
		this(status, headers, body, null);
	}

	/** A body of unknown length, sent chunked as {@code streamer} writes it. */
	public static Reply streamed(int status, String contentType, Streamer streamer) {
		return new Reply(status, Map.of("Content-Type", contentType), new byte[0], streamer);
	}

	/** {@code body} (a Jackson tree, a Map, a record) written by the emulators' one mapper. */
	public static Reply json(int status, Object body) {
		try {
			return raw(status, "application/json", EmulatorServer.JSON.writeValueAsBytes(body));
		}
		catch (JsonProcessingException e) {
			throw new IllegalArgumentException("Not serialisable as JSON: " + body, e);
		}
	}

	public static Reply raw(int status, String contentType, byte[] body) {
		return new Reply(status, Map.of("Content-Type", contentType), body);
	}

	public static Reply text(int status, String contentType, String body) {
		return raw(status, contentType, body.getBytes(StandardCharsets.UTF_8));
	}

	/** This reply with more headers; a header named again, in any case, replaces the earlier value. */
	public Reply withHeaders(Map<String, String> more) {
		Map<String, String> merged = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
		merged.putAll(headers);
		merged.putAll(more);
		return new Reply(status, merged, body, streamer);
	}
}
