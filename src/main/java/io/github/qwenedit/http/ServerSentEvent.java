package io.github.qwenedit.http;

import java.io.IOException;

import okio.BufferedSource;

/**
 * One event of a {@code text/event-stream} response, read the way the HTML standard's event-stream
 * parser does (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 * {@code field: value} lines up to a blank line, {@code data} lines joined with line feeds, comment
 * lines (starting with a colon, sent as keep-alives) skipped, an event cut off by the end of the stream dropped.
 */
public final class ServerSentEvent {

	private final String type;
	private final String data;
	private final String id;

	ServerSentEvent(String type, String data, String id) {
		this.type = type;
		this.data = data;
		this.id = id;
	}

	/** The {@code event} field; {@code message} when the server named none. */
	public String type() {
		return type;
	}

	public String data() {
		return data;
	}

	/** The {@code id} field, or null. */
	public String id() {
		return id;
	}

	/** The next complete event, or null when the stream ends. */
	static ServerSentEvent next(BufferedSource source) throws IOException {
		StringBuilder data = new StringBuilder();
		boolean hasData = false;
		String type = null;
		String id = null;
		for (String line; (line = source.readUtf8Line()) != null;) {
			if (line.isEmpty()) {
				if (hasData) return new ServerSentEvent(type == null ? "message" : type, data.toString(), id);
				type = null;
				continue;
			}
			if (line.startsWith(":")) continue;
			int colon = line.indexOf(':');
			String field = colon < 0 ? line : line.substring(0, colon);
			String value = colon < 0 ? "" : line.substring(line.startsWith(" ", colon + 1) ? colon + 2 : colon + 1);
			switch (field) {
				case "data":
					if (hasData) data.append('\n');
					data.append(value);
					hasData = true;
					break;
				case "event":
					type = value;
					break;
				case "id":
					if (value.indexOf('\0') < 0) id = value;
					break;
				default:
					// "retry" and unknown fields: the reconnection delay is the caller's decision.
			}
		}
		return null;
	}
}
