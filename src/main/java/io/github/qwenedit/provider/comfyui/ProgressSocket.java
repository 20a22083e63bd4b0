package io.github.qwenedit.provider.comfyui;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.http.Json;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.WebSocket;
import okhttp3.WebSocketListener;

/**
 * What ComfyUI's WebSocket tells about this client's prompts while they run. The server sends JSON
 * text messages {@code {"type", "data"}} to the socket opened as {@code /ws?clientId=<client_id>}
 * (https://github.com/comfyanonymous/ComfyUI/blob/master/server.py, {@code websocket_handler} and
 * {@code send_json}): {@code status} on connecting; {@code execution_start}, {@code executing}
 * ({@code node}, {@code prompt_id}; node null once the prompt is done), {@code execution_success},
 * {@code execution_error}, {@code execution_interrupted} (execution.py); and {@code progress}
 * ({@code value}, {@code max}, {@code prompt_id}, {@code node}, from the sampler's progress hook,
 * main.py {@code hijack_progress}). Binary messages are previews, not read.
 *
 * <p>The socket only adds what polling cannot see, the sampler's steps; whether and how a prompt
 * ended is still read from {@code /history}, the one source of truth. A socket that cannot be
 * opened, is refused, or drops leaves the polling as it was without it.
 */
final class ProgressSocket {

	/** How long a submit waits for the socket to open, so that no message of its prompt is missed. */
	static final Duration OPEN_WAIT = Duration.ofSeconds(2);
	/** Pings find a connection that died without a close (a proxy, a sleeping laptop). */
	private static final Duration PING = Duration.ofSeconds(10);

	/** What the socket said about one prompt. */
	static final class Seen {
		volatile boolean started;
		volatile boolean ended;
		volatile int stepsDone = -1;
		volatile int stepsTotal = -1;
	}

	private final Map<String, Seen> prompts = new ConcurrentHashMap<>();
	/** The connection in use, or null; events of an older one are ignored. */
	private volatile Connection connection;
	/** The prompt this client's messages are about when a message does not name one (older servers). */
	private volatile String current;

	/** One opening of the socket, with its own events. */
	private final class Connection extends WebSocketListener {
		final CountDownLatch opening = new CountDownLatch(1);
		volatile WebSocket socket;
		volatile boolean open;

		@Override
		public void onOpen(WebSocket webSocket, Response response) {
			open = true;
			opening.countDown();
		}

		@Override
		public void onMessage(WebSocket webSocket, String text) {
			if (connection == this) read(text);
		}

		@Override
		public void onClosing(WebSocket webSocket, int code, String reason) {
			dropped();
			webSocket.close(1000, null);
		}

		@Override
		public void onClosed(WebSocket webSocket, int code, String reason) {
			dropped();
		}

		/** Refused (a server or proxy without {@code /ws}), unreachable, or broken off. */
		@Override
		public void onFailure(WebSocket webSocket, Throwable t, Response response) {
			dropped();
		}

		private void dropped() {
			open = false;
			opening.countDown();
			synchronized (ProgressSocket.this) {
				if (connection == this) connection = null;
			}
		}
	}

	/**
	 * Opens the socket unless it is open, waiting at most {@link #OPEN_WAIT}; returns whether it is
	 * open. Never fails: without a socket the prompt is followed by polling alone.
	 */
	boolean open(OkHttpClient client, Request request) {
		Connection c;
		synchronized (this) {
			c = connection;
			// A socket still opening after an earlier wait (a proxy that holds the upgrade) is not waited
			// for again: each edit would lose the wait.
			if (c != null) return c.open;
			c = new Connection();
			connection = c;
			c.socket = client.newBuilder().pingInterval(PING.toMillis(), TimeUnit.MILLISECONDS).build()
				.newWebSocket(request, c);
		}
		try {
			c.opening.await(OPEN_WAIT.toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (InterruptedException e) {
			Thread.currentThread().interrupt();
		}
		return c.open && connection == c;
	}

	/** Starts following {@code promptId}, whose messages may already have come. */
	void follow(String promptId) {
		prompts.computeIfAbsent(promptId, id -> new Seen());
	}

	/** What the socket said of {@code promptId}, while the socket is open; empty once it is closed or dropped. */
	Optional<Seen> seen(String promptId) {
		Seen s = prompts.get(promptId);
		return isOpen() && s != null ? Optional.of(s) : Optional.empty();
	}

	/** Stops following {@code promptId}; the socket closes when no prompt is followed. */
	synchronized void forget(String promptId) {
		prompts.remove(promptId);
		Connection c = connection;
		if (prompts.isEmpty() && c != null) {
			connection = null;
			if (c.socket != null) c.socket.close(1000, null);
		}
	}

	/** Closes the socket when no prompt is followed (a submit that the server refused). */
	void closeIfIdle() {
		forget("");
	}

	boolean isOpen() {
		Connection c = connection;
		return c != null && c.open;
	}

	private void read(String text) {
		JsonNode message;
		try {
			message = Json.parse(text.getBytes(java.nio.charset.StandardCharsets.UTF_8), "ComfyUI's WebSocket");
		}
		catch (EditException notJson) {
			return;
		}
		JsonNode data = message.path("data");
		String promptId = data.path("prompt_id").asText(null);
		String type = message.path("type").asText("");
		if (promptId != null && (type.equals("execution_start") || type.equals("executing"))) current = promptId;
		if (promptId == null) promptId = current;
		Seen seen = promptId == null ? null : prompts.get(promptId);
		if (seen == null) return;
		switch (type) {
			case "execution_start":
				seen.started = true;
				break;
			case "executing":
				seen.started = true;
				if (data.path("node").isNull()) seen.ended = true;
				break;
			case "progress":
				seen.started = true;
				seen.stepsTotal = data.path("max").asInt(-1);
				seen.stepsDone = data.path("value").asInt(-1);
				break;
			case "execution_success":
			case "execution_error":
			case "execution_interrupted":
				seen.ended = true;
				break;
			default:
				break;
		}
	}
}
