package io.github.qwenedit.staging;

import static io.github.qwenedit.fixtures.QuickRetries.FAST_RETRY;
import static io.github.qwenedit.fixtures.SecretLeaks.assertRevealsNothing;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.http.Http;

/**
 * The replies s3proxy cannot give (region redirects, access denied, throttling, a vanished
 * endpoint), served as AWS S3 sends them by a plain HTTP server on 127.0.0.1, and the sentences
 * the user gets for them.
 */
class S3ErrorRepliesTest {

	private static final String SECRET = "scripted-secret-Qz81Lr5";
	private static final String TOKEN = "scripted-session-token-Hy72Kd";
	private static final String XML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
	private static final String IDS = "<RequestId>4442587FB7D0A2F9</RequestId><HostId>Y2ZkZDE5YjItMmE3NS00</HostId>";

	private ScriptedS3 server;

	@BeforeEach
	void start() throws IOException {
		server = ScriptedS3.start();
	}

	@AfterEach
	void stop() {
		server.close();
	}

	@Test
	void permanentRedirectNamesTheBucketsRegionFromTheHeader() {
		EditException e = putAnswered(301, XML + "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access " +
			"must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message>" +
			"<Endpoint>lab-bucket.s3.amazonaws.com</Endpoint><Bucket>lab-bucket</Bucket>" + IDS + "</Error>",
			"x-amz-bucket-region", "eu-central-1");

		assertEquals(ErrorKind.STAGING, e.kind());
		assertTrue(e.getMessage().endsWith("the bucket lab-bucket is in region eu-central-1: set AWS_REGION=eu-central-1."),
			e.getMessage());
	}

	@Test
	void permanentRedirectWithoutHeaderNamesTheRegionOfItsEndpoint() {
		EditException e = putAnswered(301, XML + "<Error><Code>PermanentRedirect</Code><Message>Please send all future requests to this " +
			"endpoint.</Message><Endpoint>lab-bucket.s3.ap-southeast-2.amazonaws.com</Endpoint>" + IDS + "</Error>");

		assertTrue(e.getMessage().contains("set AWS_REGION=ap-southeast-2."), e.getMessage());
	}

	@Test
	void malformedAuthorizationHeaderNamesTheExpectedRegion() {
		server.reply(400, XML + "<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is " +
			"malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region>" + IDS +
			"</Error>");

		EditException e = assertThrows(EditException.class, () -> put(bucket()));

		assertTrue(e.getMessage().contains("is in region eu-west-1: set AWS_REGION=eu-west-1."), e.getMessage());
	}

	@Test
	void skewedClockAsksToFixTheClock() {
		EditException e = putAnswered(403, XML + "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request " +
			"time and the current time is too large.</Message><RequestTime>20130524T000000Z</RequestTime>" +
			"<ServerTime>2026-01-05T10:00:00Z</ServerTime><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>" +
			IDS + "</Error>");

		assertTrue(e.getMessage().contains("fix the computer's clock"), e.getMessage());
	}

	@Test
	void accessDeniedNamesBucketAndPrefix() {
		EditException e = putAnswered(403, XML + "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>" + IDS + "</Error>");

		assertTrue(e.getMessage().contains("access was denied"), e.getMessage());
		assertTrue(e.getMessage().contains("bucket lab-bucket under the prefix \"fiji/run-1\""), e.getMessage());
	}

	@Test
	void expiredSessionTokenAsksForNewCredentials() {
		EditException e = putAnswered(400, XML + "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message>" +
			"<Token-0>" + TOKEN + "</Token-0>" + IDS + "</Error>");

		assertTrue(e.getMessage().contains("AWS_SESSION_TOKEN"), e.getMessage());
		assertRevealsNothing(e, TOKEN, SECRET);
	}

	@Test
	void signatureMismatchNeverEchoesTheCanonicalRequest() {
		EditException e = putAnswered(403, XML + "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated " +
			"does not match the signature you provided. Check your key and signing method.</Message>" +
			"<AWSAccessKeyId>AKIDSCRIPTED</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 canonical-marker</StringToSign>" +
			"<SignatureProvided>abc123</SignatureProvided><CanonicalRequest>PUT canonical-marker " + TOKEN +
			"</CanonicalRequest>" + IDS + "</Error>");

		assertTrue(e.getMessage().contains("AWS_SECRET_ACCESS_KEY"), e.getMessage());
		assertRevealsNothing(e, "canonical-marker", TOKEN, SECRET, "AKIDSCRIPTED");
	}

	@Test
	void throttlingIsRetriedUntilTheUploadLands() throws Exception {
		String slowDown = XML + "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>" + IDS +
			"</Error>";
		server.reply(503, slowDown);
		server.reply(503, slowDown);
		server.reply(200, "");

		put(bucket());

		assertEquals(List.of("PUT /lab-bucket/fiji/run-1/x.png", "PUT /lab-bucket/fiji/run-1/x.png",
			"PUT /lab-bucket/fiji/run-1/x.png"), server.requests());
	}

	@Test
	void persistentServerFailureSaysTryAgainLater() {
		server.always(500, XML + "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please " +
			"try again.</Message>" + IDS + "</Error>");

		EditException e = assertThrows(EditException.class, () -> put(bucket()));

		assertTrue(e.getMessage().contains("failing (HTTP 500, InternalError)"), e.getMessage());
		assertTrue(e.getMessage().contains("Try again later"), e.getMessage());
		assertEquals(FAST_RETRY.maxAttempts(), server.requests().size());
	}

	@Test
	void replyThatIsNotS3XmlIsReportedByStatus() {
		EditException e = putAnswered(403, "<html><body>Forbidden by the company proxy</body></html>");

		assertTrue(e.getMessage().contains("answered HTTP 403."), e.getMessage());
	}

	@Test
	void xmlEntitiesInAReplyAreNeverResolved() {
		server.reply(403, XML + "<!DOCTYPE Error [<!ENTITY leak SYSTEM \"file:///etc/hostname\">]>" +
			"<Error><Code>&leak;</Code><Message>&leak;</Message></Error>");

		EditException e = assertThrows(EditException.class, () -> put(bucket()));

		assertTrue(e.getMessage().endsWith("answered HTTP 403."), e.getMessage());
	}

	@Test
	void sessionTokenIsSentWithEveryRequest() throws Exception {
		server.reply(200, "");

		put(bucket());

		assertEquals(TOKEN, server.lastHeaders().get("x-amz-security-token"));
		assertTrue(server.lastHeaders().get("authorization").contains("x-amz-security-token"));
		String link = bucket().presignGet("fiji/run-1/x.png", Duration.ofMinutes(5));
		assertTrue(link.contains("X-Amz-Security-Token=" + TOKEN), link);
	}

	@Test
	void unreachableEndpointIsANetworkProblem() throws Exception {
		int closedPort;
		try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
			closedPort = socket.getLocalPort();
		}
		Map<String, String> env = env();
		env.put(BucketConfig.ENDPOINT_S3, "http://127.0.0.1:" + closedPort);

		EditException e = assertThrows(EditException.class, () -> put(bucket(env)));

		assertEquals(ErrorKind.NETWORK, e.kind());
		assertTrue(e.getMessage().contains("Cannot reach the bucket endpoint 127.0.0.1:" + closedPort), e.getMessage());
		assertRevealsNothing(e, SECRET, TOKEN);
	}

	@Test
	void closeRetriesAFailingDeleteAndSucceeds() throws Exception {
		S3Staging staging = new S3Staging(bucket(), Clock.systemUTC());
		server.reply(200, "");
		staging.stage(InputImage.png(new byte[] { 1, 2, 3 }, 1, 1, "a"), http());
		server.reply(503, "");
		server.reply(204, "");

		staging.close();

		assertEquals(List.of(), staging.stagedKeys());
		assertEquals(3, server.requests().size());
		assertTrue(server.requests().get(2).startsWith("DELETE /lab-bucket/fiji/run-1/"), server.requests().toString());
	}

	@Test
	void closeListsTheKeysItCouldNotDelete() throws Exception {
		S3Staging staging = new S3Staging(bucket(), Clock.systemUTC());
		server.reply(200, "");
		server.reply(200, "");
		staging.stage(InputImage.png(new byte[] { 1 }, 1, 1, "a"), http());
		staging.stage(InputImage.png(new byte[] { 2 }, 1, 1, "b"), http());
		server.always(403, XML + "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>" + IDS + "</Error>");

		EditException e = assertThrows(EditException.class, staging::close);

		assertEquals(ErrorKind.STAGING, e.kind());
		List<String> keys = staging.stagedKeys();
		assertEquals(2, keys.size());
		assertTrue(e.getMessage().startsWith("2 staged input images were not deleted from the bucket lab-bucket: " +
			keys.get(0) + ", " + keys.get(1) + "."), e.getMessage());
		assertTrue(e.getMessage().contains("access was denied"), e.getMessage());
	}

	@Test
	void closeAfterTheEndpointVanishedStillReportsTheKeys() throws Exception {
		S3Staging staging = new S3Staging(bucket(), Clock.systemUTC());
		server.reply(200, "");
		staging.stage(InputImage.png(new byte[] { 1 }, 1, 1, "a"), http());
		server.close();

		EditException e = assertThrows(EditException.class, staging::close);

		assertEquals(ErrorKind.STAGING, e.kind());
		assertTrue(e.getMessage().contains(staging.stagedKeys().get(0)), e.getMessage());
		assertEquals(ErrorKind.NETWORK, ((EditException) e.getCause()).kind());
	}

	@Test
	void uploadWhoseOutcomeIsUnknownIsStillDeletedOnClose() throws Exception {
		S3Staging staging = new S3Staging(bucket(), Clock.systemUTC());
		server.stall();
		Cancellation cancellation = new Cancellation();
		Http http = new Http(FAST_RETRY, cancellation, Deadline.after(Duration.ofMillis(300)), Set.of());

		EditException e = assertThrows(EditException.class,
			() -> staging.stage(InputImage.png(new byte[] { 1 }, 1, 1, "a"), http));
		assertEquals(ErrorKind.TIMED_OUT, e.kind());
		server.reply(204, "");

		staging.close();
		assertEquals(List.of(), staging.stagedKeys());
		assertTrue(server.requests().get(server.requests().size() - 1).startsWith("DELETE "), server.requests().toString());
	}

	@Test
	void listingStopsWhenTheServiceRepeatsItsToken() throws Exception {
		server.always(200, XML + "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>lab-bucket</Name>" +
			"<IsTruncated>true</IsTruncated><NextContinuationToken>same/token+=</NextContinuationToken>" +
			"<Contents><Key>fiji/run-1/a.png</Key><LastModified>2026-01-05T10:00:00.000Z</LastModified><Size>3</Size>" +
			"</Contents></ListBucketResult>");

		List<BucketObject> listed = bucket().list("fiji/run-1/");

		assertEquals(2, listed.size());
		assertEquals(List.of("GET /lab-bucket?list-type=2&max-keys=1000&prefix=fiji%2Frun-1%2F",
			"GET /lab-bucket?list-type=2&max-keys=1000&prefix=fiji%2Frun-1%2F&continuation-token=same%2Ftoken%2B%3D"),
			server.requests());
	}

	@Test
	void nothingSecretInTheBucketDescription() throws Exception {
		String described = bucket().toString();
		assertFalse(described.contains(SECRET) || described.contains(TOKEN) || described.contains("AKIDSCRIPTED"), described);
	}

	// --- helpers

	private Map<String, String> env() {
		Map<String, String> env = new LinkedHashMap<>();
		env.put(BucketConfig.BUCKET, "s3://lab-bucket/fiji/run-1/");
		env.put(BucketConfig.ENDPOINT_S3, server.endpoint());
		env.put(BucketConfig.ACCESS_KEY_ID, "AKIDSCRIPTED");
		env.put(BucketConfig.SECRET_ACCESS_KEY, SECRET);
		env.put(BucketConfig.SESSION_TOKEN, TOKEN);
		return env;
	}

	private S3Bucket bucket() throws EditException {
		return bucket(env());
	}

	private static S3Bucket bucket(Map<String, String> env) throws EditException {
		return new S3Bucket(BucketConfig.from(Configuration.of(env)).orElseThrow(), FAST_RETRY, Clock.systemUTC());
	}

	/** Uploads one object to a server that answers {@code status} and {@code body}; the upload must fail. */
	private EditException putAnswered(int status, String body, String... headers) {
		server.reply(status, body, headers);
		return assertThrows(EditException.class, () -> put(bucket()));
	}

	private static void put(S3Bucket bucket) throws EditException {
		bucket.put("fiji/run-1/x.png", new byte[] { 1, 2, 3 }, "image/png");
	}

	private static Http http() {
		return new Http(FAST_RETRY, new Cancellation(), Deadline.after(Duration.ofSeconds(10)), Set.of());
	}

	/** Answers each request with the next scripted reply, or the standing one, and records what it was asked. */
	static final class ScriptedS3 implements AutoCloseable {

		private static final class Reply {
			final int status;
			final byte[] body;
			final String[] headers;

			Reply(int status, String body, String[] headers) {
				this.status = status;
				this.body = body.getBytes(StandardCharsets.UTF_8);
				this.headers = headers;
			}
		}

		private final HttpServer server;
		private final Deque<Reply> script = new ArrayDeque<>();
		private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
		private volatile Reply standing = new Reply(500, "no reply scripted", new String[0]);
		private volatile Map<String, String> lastHeaders = Map.of();
		private volatile boolean stalled;
		private boolean closed;

		private ScriptedS3(HttpServer server) {
			this.server = server;
		}

		static ScriptedS3 start() throws IOException {
			HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
			ScriptedS3 scripted = new ScriptedS3(server);
			server.createContext("/", scripted::answer);
			// Several threads, so that a stalled answer does not hold up the next request.
			server.setExecutor(Executors.newFixedThreadPool(4));
			server.start();
			return scripted;
		}

		String endpoint() {
			return "http://127.0.0.1:" + server.getAddress().getPort();
		}

		synchronized void reply(int status, String body, String... headers) {
			stalled = false;
			script.add(new Reply(status, body, headers));
		}

		void always(int status, String body) {
			standing = new Reply(status, body, new String[0]);
		}

		/** The next requests get no answer for two seconds, as from a server that hangs. */
		void stall() {
			stalled = true;
		}

		List<String> requests() {
			synchronized (requests) {
				return new ArrayList<>(requests);
			}
		}

		Map<String, String> lastHeaders() {
			return lastHeaders;
		}

		private void answer(HttpExchange exchange) throws IOException {
			try (InputStream in = exchange.getRequestBody()) {
				in.readAllBytes();
			}
			String query = exchange.getRequestURI().getRawQuery();
			requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getRawPath() +
				(query == null ? "" : "?" + query));
			Map<String, String> headers = new LinkedHashMap<>();
			exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(), values.get(0)));
			lastHeaders = headers;
			if (stalled) {
				try {
					Thread.sleep(2000);
				}
				catch (InterruptedException e) {
					Thread.currentThread().interrupt();
				}
				exchange.close();
				return;
			}
			Reply reply;
			synchronized (this) {
				reply = script.isEmpty() ? standing : script.poll();
			}
			for (int i = 0; i + 1 < reply.headers.length; i += 2) {
				exchange.getResponseHeaders().add(reply.headers[i], reply.headers[i + 1]);
			}
			exchange.getResponseHeaders().add("Content-Type", "application/xml");
			boolean noBody = reply.body.length == 0;
			exchange.sendResponseHeaders(reply.status, noBody ? -1 : reply.body.length);
			if (!noBody) {
				try (OutputStream out = exchange.getResponseBody()) {
					out.write(reply.body);
				}
			}
			exchange.close();
		}

		@Override
		public synchronized void close() {
			if (closed) return;
			closed = true;
			server.stop(0);
			((ExecutorService) server.getExecutor()).shutdownNow();
		}
	}
}
