package io.github.qwenedit.emulator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * One port on 127.0.0.1 for an emulator's HTTP server and its WebSocket server, as ComfyUI serves
 * both on one (its aiohttp app has {@code GET /ws} beside the API routes): a connection whose first
 * request upgrades {@code /ws} to a WebSocket is handed to the WebSocket server, every other one to
 * the HTTP server, and the bytes are relayed as they are both ways. A connection, once handed on,
 * stays with that server: an HTTP client never sends an upgrade on a connection it kept alive for
 * other requests (OkHttp opens each WebSocket on a connection of its own).
 */
final class WebSocketFrontDoor implements AutoCloseable {

	private static final int MAX_HEAD_BYTES = 64 * 1024;
	private static final int HEAD_TIMEOUT_MILLIS = 10_000;

	private final ServerSocket listener;
	private final int httpPort;
	private final int webSocketPort;
	private final BooleanSupplier webSocketsServed;
	private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
		Thread t = new Thread(r, "emulator-front-door");
		t.setDaemon(true);
		return t;
	});
	private final Set<Socket> open = ConcurrentHashMap.newKeySet();
	private volatile boolean closed;

	/**
	 * @param webSocketsServed false to send upgrades to the HTTP server too, which answers 404 as a
	 *          server or proxy without WebSockets does
	 */
	WebSocketFrontDoor(int httpPort, int webSocketPort, BooleanSupplier webSocketsServed) throws IOException {
		this.httpPort = httpPort;
		this.webSocketPort = webSocketPort;
		this.webSocketsServed = webSocketsServed;
		listener = new ServerSocket();
		listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
		threads.execute(this::accept);
	}

	int port() {
		return listener.getLocalPort();
	}

	private void accept() {
		while (!closed) {
			try {
				Socket client = listener.accept();
				open.add(client);
				threads.execute(() -> route(client));
			}
			catch (IOException e) {
				if (closed) return;
			}
		}
	}

	private void route(Socket client) {
		Socket upstream = null;
		try {
			client.setTcpNoDelay(true);
			client.setSoTimeout(HEAD_TIMEOUT_MILLIS);
			InputStream in = client.getInputStream();
			ByteArrayOutputStream head = new ByteArrayOutputStream();
			byte[] buffer = new byte[8192];
			while (indexOfEnd(head.toByteArray()) < 0) {
				if (head.size() > MAX_HEAD_BYTES) return;
				int n = in.read(buffer);
				if (n < 0) return;
				head.write(buffer, 0, n);
			}
			client.setSoTimeout(0);
			String text = new String(head.toByteArray(), StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
			boolean upgrade = (text.startsWith("get /ws") || text.startsWith("get /api/ws")) &&
				text.contains("\nupgrade: websocket");
			upstream = new Socket(InetAddress.getLoopbackAddress(), upgrade && webSocketsServed.getAsBoolean()
				? webSocketPort : httpPort);
			open.add(upstream);
			upstream.setTcpNoDelay(true);
			upstream.getOutputStream().write(head.toByteArray());
			Socket server = upstream;
			threads.execute(() -> relay(client, server, false));
			relay(server, client, true);
		}
		catch (SocketTimeoutException | RuntimeException e) {
			close(client);
		}
		catch (IOException e) {
			close(client);
			if (upstream != null) close(upstream);
		}
	}

	/**
	 * Copies {@code from} to {@code to} until either closes, then closes both; a server's reset is
	 * passed on to the client as a reset, so that faults an emulator plays out reach it unchanged.
	 */
	private void relay(Socket from, Socket to, boolean toClient) {
		byte[] buffer = new byte[64 * 1024];
		boolean reset = false;
		try {
			InputStream in = from.getInputStream();
			OutputStream out = to.getOutputStream();
			for (int n; (n = in.read(buffer)) >= 0;) {
				out.write(buffer, 0, n);
				out.flush();
			}
		}
		catch (IOException e) {
			reset = toClient;
		}
		if (reset) {
			try {
				to.setSoLinger(true, 0);
			}
			catch (IOException ignored) {
				// Closed already.
			}
		}
		close(to);
		close(from);
	}

	private static int indexOfEnd(byte[] bytes) {
		for (int i = 3; i < bytes.length; i++) {
			if (bytes[i - 3] == '\r' && bytes[i - 2] == '\n' && bytes[i - 1] == '\r' && bytes[i] == '\n') return i;
		}
		return -1;
	}

	private void close(Socket socket) {
		open.remove(socket);
		try {
			socket.close();
		}
		catch (IOException ignored) {
			// Nothing left to do.
		}
	}

	@Override
	public void close() {
		closed = true;
		try {
			listener.close();
		}
		catch (IOException ignored) {
			// Closing.
		}
		for (Socket s : open) {
			close(s);
		}
		threads.shutdownNow();
	}
}
