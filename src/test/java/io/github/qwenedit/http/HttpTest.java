package io.github.qwenedit.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;

/** The retry, deadline, cancel and download rules, against a real HTTP server on 127.0.0.1. */
class HttpTest {

	/** One scripted answer: status, headers, body. */
	private record Answer(int status, String header, String value, byte[] body) {}

	private HttpServer server;
	private final ConcurrentLinkedQueue<Answer> script = new ConcurrentLinkedQueue<>();
	private final AtomicInteger calls = new AtomicInteger();
	/** Released when a test ends, so an answer held back never outlives it. */
	private final CountDownLatch release = new CountDownLatch(1);

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
		calls.incrementAndGet();
		exchange.getRequestBody().readAllBytes();
		Answer a = script.poll();
		if (a == null) a = new Answer(200, null, null, "{}".getBytes());
		if (a.header() != null) exchange.getResponseHeaders().add(a.header(), a.value());
		exchange.sendResponseHeaders(a.status(), a.body().length == 0 ? -1 : a.body().length);
		try (OutputStream out = exchange.getResponseBody()) {
			out.write(a.body());
		}
	}

	private HttpUrl url(String path) {
		return HttpUrl.get("http://127.0.0.1:" + server.getAddress().getPort() + path);
	}

	private Http http(Duration deadline) {
		return new Http(new RetryPolicy(4, Duration.ofMillis(10), Duration.ofMillis(40)), new Cancellation(),
			Deadline.after(deadline), Set.of(Http.hostKey(url("/"))));
	}

	private static Request post(HttpUrl url) {
		return new Request.Builder().url(url).post(RequestBody.create("{}", MediaType.get("application/json"))).build();
	}

	/** With Nagle's algorithm on, the end of every upload waited for the server's delayed acknowledgement. */
	@Test
	void connectionsSendWithoutWaitingForAcknowledgements() throws Exception {
		java.util.concurrent.atomic.AtomicBoolean noDelay = new java.util.concurrent.atomic.AtomicBoolean();
		okhttp3.OkHttpClient client = Http.sharedClient().newBuilder().addNetworkInterceptor(chain -> {
			noDelay.set(chain.connection().socket().getTcpNoDelay());
			return chain.proceed(chain.request());
		}).build();
		try (okhttp3.Response response = client.newCall(new Request.Builder().url(url("/upload"))
			.put(RequestBody.create(new byte[64 * 1024], MediaType.get("image/png"))).build()).execute())
		{
			assertEquals(200, response.code());
		}
		assertTrue(noDelay.get(), "TCP_NODELAY is off");
	}

	@Test
	void aRateLimitedCreateIsRetriedAfterTheAskedWait() throws EditException {
		script.add(new Answer(429, "Retry-After", "0", "{}".getBytes()));
		script.add(new Answer(200, null, null, "{\"ok\":true}".getBytes()));
		HttpReply reply = http(Duration.ofSeconds(30)).send(post(url("/create")), CallKind.CREATE, Duration.ofSeconds(5), "Test");
		assertEquals(200, reply.code());
		assertEquals(2, calls.get());
	}

	@Test
	void aCreateThatReachedTheServerIsNeverRepeated() throws EditException {
		script.add(new Answer(500, null, null, "{}".getBytes()));
		HttpReply reply = http(Duration.ofSeconds(30)).send(post(url("/create")), CallKind.CREATE, Duration.ofSeconds(5), "Test");
		assertEquals(500, reply.code());
		assertEquals(1, calls.get(), "a paid create was sent twice");
	}

	@Test
	void readsAreRetriedOnServerErrors() throws EditException {
		script.add(new Answer(503, null, null, "{}".getBytes()));
		script.add(new Answer(502, null, null, "{}".getBytes()));
		HttpReply reply = http(Duration.ofSeconds(30)).send(new Request.Builder().url(url("/status")).build(),
			CallKind.IDEMPOTENT, Duration.ofSeconds(5), "Test");
		assertEquals(200, reply.code());
		assertEquals(3, calls.get());
	}

	@Test
	void aWaitLongerThanTheDeadlineReturnsTheRateLimitAtOnce() throws EditException {
		script.add(new Answer(429, "Retry-After", "120", "{}".getBytes()));
		HttpReply reply = http(Duration.ofSeconds(5)).send(post(url("/create")), CallKind.CREATE, Duration.ofSeconds(5), "Test");
		assertEquals(429, reply.code());
		assertEquals(Duration.ofSeconds(120), reply.retryAfter().get());
	}

	@Test
	void plainHttpIsRefusedUnlessConfigured() {
		Http strict = new Http(RetryPolicy.DEFAULT, new Cancellation(), Deadline.after(Duration.ofSeconds(5)), Set.of());
		EditException e = assertThrows(EditException.class,
			() -> strict.download(url("/image.png").toString(), 1000, "Test"));
		assertEquals(ErrorKind.NETWORK, e.kind());
		assertTrue(e.getMessage().contains("only https"), e.getMessage());
		assertEquals(0, calls.get());
	}

	@Test
	void downloadsAreCappedAndRedirectsToOtherSchemesRefused() throws EditException {
		script.add(new Answer(200, null, null, new byte[5000]));
		EditException big = assertThrows(EditException.class,
			() -> http(Duration.ofSeconds(5)).download(url("/big.png").toString(), 4000, "Test"));
		assertTrue(big.getMessage().contains("download limit"), big.getMessage());

		script.add(new Answer(302, "Location", "file:///etc/passwd", new byte[0]));
		EditException redirect = assertThrows(EditException.class,
			() -> http(Duration.ofSeconds(5)).download(url("/r.png").toString(), 4000, "Test"));
		assertTrue(redirect.getMessage().contains("not followed"), redirect.getMessage());

		script.add(new Answer(302, "Location", "/real.png", new byte[0]));
		script.add(new Answer(200, null, null, new byte[] { 1, 2, 3 }));
		assertArrayEquals(new byte[] { 1, 2, 3 }, http(Duration.ofSeconds(5)).download(url("/r.png").toString(), 4000, "Test"));
	}

	@Test
	void cancellingAbortsACallInFlight() throws Exception {
		server.removeContext("/");
		server.createContext("/", exchange -> {
			try {
				Thread.sleep(20_000);
			}
			catch (InterruptedException e) {
				Thread.currentThread().interrupt();
			}
		});
		Cancellation cancellation = new Cancellation();
		Http http = new Http(RetryPolicy.DEFAULT, cancellation, Deadline.after(Duration.ofSeconds(60)),
			Set.of(Http.hostKey(url("/"))));
		Thread canceller = cancelAfter(cancellation, Duration.ofMillis(300));
		long start = System.nanoTime();
		EditException e = assertThrows(EditException.class,
			() -> http.send(post(url("/slow")), CallKind.CREATE, Duration.ofSeconds(60), "Test"));
		assertEquals(ErrorKind.CANCELLED, e.kind());
		assertTrue(System.nanoTime() - start < 15_000_000_000L, "cancel did not abort the call");
		canceller.join();
	}

	/** The three ways a caller talks to a server; each must follow the same cancel, deadline and scheme rules. */
	enum Exchange {
		SEND {
			@Override
			void run(Http http, HttpUrl url) throws EditException {
				http.send(new Request.Builder().url(url).build(), CallKind.IDEMPOTENT, Duration.ofSeconds(60), "Test");
			}
		},
		EVENT_STREAM {
			@Override
			void run(Http http, HttpUrl url) throws EditException {
				http.readEvents(new Request.Builder().url(url).build(), Duration.ofSeconds(60), "Test", event -> true);
			}
		},
		DOWNLOAD {
			@Override
			void run(Http http, HttpUrl url) throws EditException {
				http.download(url.toString(), 1 << 20, "Test");
			}
		};

		abstract void run(Http http, HttpUrl url) throws EditException;
	}

	/**
	 * Answers with an event, as an event stream, then holds the rest back until the test ends: a send
	 * and a download wait for the end of the body, a stream for its next event.
	 */
	private void answerThenStall() {
		server.removeContext("/");
		server.createContext("/", exchange -> {
			calls.incrementAndGet();
			exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
			exchange.sendResponseHeaders(200, 0);
			try (OutputStream out = exchange.getResponseBody()) {
				out.write("data: a\n\n".getBytes());
				out.flush();
				release.await(20, TimeUnit.SECONDS);
			}
			catch (InterruptedException | IOException clientLeft) {
				// The client gave up on the answer: what these tests make it do.
			}
		});
	}

	@ParameterizedTest
	@EnumSource(Exchange.class)
	void aCancelStopsEveryExchangeAtOnceAndIsNotRetried(Exchange exchange) throws Exception {
		answerThenStall();
		Cancellation cancellation = new Cancellation();
		Http http = new Http(RetryPolicy.DEFAULT, cancellation, Deadline.after(Duration.ofSeconds(60)),
			Set.of(Http.hostKey(url("/"))));
		Thread canceller = cancelAfter(cancellation, Duration.ofMillis(300));
		long start = System.nanoTime();
		EditException e = assertThrows(EditException.class, () -> exchange.run(http, url("/stalls")));
		assertEquals(ErrorKind.CANCELLED, e.kind());
		assertEquals("The edit was cancelled.", e.getMessage());
		assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "cancel did not abort the " + exchange);
		assertEquals(1, calls.get(), "the cancelled " + exchange + " was sent again");
		canceller.join();
	}

	@ParameterizedTest
	@EnumSource(Exchange.class)
	void theEditsDeadlineEndsEveryExchangeAsATimeOut(Exchange exchange) {
		answerThenStall();
		long start = System.nanoTime();
		EditException e = assertThrows(EditException.class, () -> exchange.run(http(Duration.ofMillis(500)), url("/stalls")));
		assertEquals(ErrorKind.TIMED_OUT, e.kind(), e.getMessage());
		assertTrue(e.getMessage().startsWith("The edit did not finish within less than a second."), e.getMessage());
		assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the deadline did not end the " + exchange);
		assertEquals(1, calls.get());
	}

	@ParameterizedTest
	@EnumSource(Exchange.class)
	void everyExchangeRefusesPlainHttpToAHostNotConfigured(Exchange exchange) {
		Http strict = new Http(RetryPolicy.DEFAULT, new Cancellation(), Deadline.after(Duration.ofSeconds(5)), Set.of());
		EditException e = assertThrows(EditException.class, () -> exchange.run(strict, url("/any")));
		assertEquals(ErrorKind.NETWORK, e.kind());
		assertEquals("Refusing an unencrypted http:// connection to 127.0.0.1 for Test: only https is used unless you " +
			"configure a plain http address yourself.", e.getMessage());
		assertEquals(0, calls.get());
	}

	@Test
	void aRedirectToAPlainHttpHostNotConfiguredIsNotFollowed() {
		script.add(new Answer(302, "Location", "http://localhost:" + server.getAddress().getPort() + "/elsewhere.png",
			new byte[0]));
		EditException e = assertThrows(EditException.class,
			() -> http(Duration.ofSeconds(5)).download(url("/r.png").toString(), 4000, "Test"));
		assertEquals(ErrorKind.NETWORK, e.kind());
		assertTrue(e.getMessage().startsWith("Refusing an unencrypted http:// connection to localhost for Test"),
			e.getMessage());
		assertEquals(1, calls.get(), "the redirect was followed");
	}

	@Test
	void aCallOverItsOwnLimitIsRetriedOnlyWhenItMayBeRepeated() {
		server.removeContext("/");
		server.createContext("/", exchange -> {
			calls.incrementAndGet();
			try {
				release.await(20, TimeUnit.SECONDS);
			}
			catch (InterruptedException e) {
				Thread.currentThread().interrupt();
			}
			exchange.close();
		});
		EditException read = assertThrows(EditException.class, () -> http(Duration.ofSeconds(30))
			.send(new Request.Builder().url(url("/status")).build(), CallKind.IDEMPOTENT, Duration.ofMillis(200), "Test"));
		assertEquals(ErrorKind.NETWORK, read.kind());
		assertEquals("Cannot reach Test: 127.0.0.1 did not answer in time. Check the network connection and the " +
			"configured address.", read.getMessage());
		assertEquals(4, calls.get(), "a read over its limit was not tried four times");

		calls.set(0);
		EditException create = assertThrows(EditException.class, () -> http(Duration.ofSeconds(30))
			.send(post(url("/create")), CallKind.CREATE, Duration.ofMillis(200), "Test"));
		assertEquals(read.getMessage(), create.getMessage());
		assertEquals(1, calls.get(), "a create that may have reached the server was sent again");
	}

	@Test
	void aDownloadTriesAgainAfterServerErrorsAndMissingResults() throws EditException {
		script.add(new Answer(503, null, null, new byte[0]));
		script.add(new Answer(404, null, null, new byte[0]));
		script.add(new Answer(200, null, null, new byte[] { 7 }));
		assertArrayEquals(new byte[] { 7 }, http(Duration.ofSeconds(5)).download(url("/late.png").toString(), 4000, "Test"));
		assertEquals(3, calls.get());

		calls.set(0);
		for (int i = 0; i < Http.MISSING_RESULT_ATTEMPTS; i++) {
			script.add(new Answer(404, null, null, new byte[0]));
		}
		ExpiredLinkException gone = assertThrows(ExpiredLinkException.class,
			() -> http(Duration.ofSeconds(5)).download(url("/gone.png").toString(), 4000, "Test"));
		assertEquals("The result image could not be downloaded from Test (HTTP 404, the link has expired or was " +
			"removed; tried 5 times).", gone.getMessage());
		assertEquals(Http.MISSING_RESULT_ATTEMPTS, calls.get());

		calls.set(0);
		for (int i = 0; i < 4; i++) {
			script.add(new Answer(502, null, null, new byte[0]));
		}
		EditException failed = assertThrows(EditException.class,
			() -> http(Duration.ofSeconds(5)).download(url("/down.png").toString(), 4000, "Test"));
		assertEquals("The result image could not be downloaded from Test (HTTP 502).", failed.getMessage());
		assertEquals(4, calls.get());
	}

	@Test
	void anEventStreamIsNotRetried() throws EditException {
		script.add(new Answer(503, null, null, new byte[0]));
		assertEquals(Http.StreamEnd.REFUSED, http(Duration.ofSeconds(5)).readEvents(
			new Request.Builder().url(url("/events")).build(), Duration.ofSeconds(5), "Test", event -> true));
		assertEquals(1, calls.get());
	}

	/** Cancels {@code cancellation} from another thread after {@code delay}, as a user pressing Esc would. */
	private static Thread cancelAfter(Cancellation cancellation, Duration delay) {
		Thread canceller = new Thread(() -> {
			try {
				Thread.sleep(delay.toMillis());
			}
			catch (InterruptedException ignored) {
				return;
			}
			cancellation.cancel();
		});
		canceller.start();
		return canceller;
	}
}
