package io.github.qwenedit.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import okhttp3.HttpUrl;
import okhttp3.Request;

/** Reading Server-Sent Events from a real server on 127.0.0.1: the event format and how a stream ends. */
class ServerSentEventsTest {

	private HttpServer server;
	private volatile String contentType = "text/event-stream";
	private volatile int status = 200;
	private volatile String stream = "";
	/** Released when the test ends, so a stream held open never outlives it. */
	private final CountDownLatch release = new CountDownLatch(1);
	private volatile boolean holdOpen;

	@BeforeEach
	void start() throws IOException {
		server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
		server.setExecutor(Executors.newCachedThreadPool());
		server.createContext("/", this::answer);
		server.start();
	}

	@AfterEach
	void stop() {
		release.countDown();
		server.stop(0);
	}

	private void answer(HttpExchange exchange) throws IOException {
		exchange.getResponseHeaders().add("Content-Type", contentType);
		exchange.sendResponseHeaders(status, 0);
		try (OutputStream out = exchange.getResponseBody()) {
			out.write(stream.getBytes(StandardCharsets.UTF_8));
			out.flush();
			if (holdOpen) release.await(20, TimeUnit.SECONDS);
		}
		catch (InterruptedException | IOException clientLeft) {
			// The client closed the stream: what these tests do on purpose.
		}
	}

	private Request request() {
		return new Request.Builder().url(HttpUrl.get("http://127.0.0.1:" + server.getAddress().getPort() + "/events"))
			.build();
	}

	private Http http(Cancellation cancellation, Duration deadline) {
		return new Http(RetryPolicy.DEFAULT, cancellation, Deadline.after(deadline),
			Set.of("127.0.0.1:" + server.getAddress().getPort()));
	}

	@Test
	void readsDataLinesCommentsEventNamesAndDropsAnEventCutOff() throws EditException {
		stream = ": keep-alive\n\ndata: {\"status\":\"IN_QUEUE\"}\n\nevent: progress\r\nid: 7\r\ndata:line one\r\ndata: line two\r\n\r\n" +
			"data: {\"status\":\"COMPLETED\"";
		List<ServerSentEvent> events = new ArrayList<>();
		Http.StreamEnd end = http(new Cancellation(), Duration.ofSeconds(10)).readEvents(request(), Duration.ofSeconds(10),
			"Test", event -> events.add(event));
		assertEquals(Http.StreamEnd.ENDED, end);
		assertEquals(2, events.size());
		assertEquals("message", events.get(0).type());
		assertEquals("{\"status\":\"IN_QUEUE\"}", events.get(0).data());
		assertEquals("progress", events.get(1).type());
		assertEquals("7", events.get(1).id());
		assertEquals("line one\nline two", events.get(1).data());
	}

	@Test
	void theListenerEndsTheStreamWhenItHasWhatItWaitedFor() throws EditException {
		stream = "data: a\n\ndata: b\n\n";
		holdOpen = true;
		List<String> seen = new ArrayList<>();
		long start = System.nanoTime();
		Http.StreamEnd end = http(new Cancellation(), Duration.ofSeconds(30)).readEvents(request(), Duration.ofSeconds(30),
			"Test", event -> seen.add(event.data()) && !event.data().equals("b"));
		assertEquals(Http.StreamEnd.STOPPED, end);
		assertEquals(List.of("a", "b"), seen);
		assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "waited for the server to end the stream");
	}

	@Test
	void anErrorStatusOrAnotherContentTypeIsRefusedWithoutEvents() throws EditException {
		stream = "data: a\n\n";
		status = 503;
		assertEquals(Http.StreamEnd.REFUSED, http(new Cancellation(), Duration.ofSeconds(10)).readEvents(request(),
			Duration.ofSeconds(10), "Test", event -> {
				throw new AssertionError("no event expected");
			}));
		status = 200;
		contentType = "application/json";
		assertEquals(Http.StreamEnd.REFUSED, http(new Cancellation(), Duration.ofSeconds(10)).readEvents(request(),
			Duration.ofSeconds(10), "Test", event -> true));
	}

	@Test
	void aSilentStreamEndsWithItsWindowButTheDeadlineThrows() throws EditException {
		stream = "data: a\n\n";
		holdOpen = true;
		assertEquals(Http.StreamEnd.WINDOW_OVER, http(new Cancellation(), Duration.ofSeconds(30)).readEvents(request(),
			Duration.ofMillis(300), "Test", event -> true));
		EditException e = assertThrows(EditException.class, () -> http(new Cancellation(), Duration.ofMillis(300))
			.readEvents(request(), Duration.ofSeconds(30), "Test", event -> true));
		assertEquals(ErrorKind.TIMED_OUT, e.kind());
	}

	@Test
	void cancellingAbortsAStreamAtOnce() throws Exception {
		stream = "data: a\n\n";
		holdOpen = true;
		Cancellation cancellation = new Cancellation();
		long start = System.nanoTime();
		EditException e = assertThrows(EditException.class, () -> http(cancellation, Duration.ofSeconds(60)).readEvents(
			request(), Duration.ofSeconds(60), "Test", event -> {
				cancellation.cancel();
				return true;
			}));
		assertEquals(ErrorKind.CANCELLED, e.kind());
		assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "cancel did not abort the stream");
	}
}
