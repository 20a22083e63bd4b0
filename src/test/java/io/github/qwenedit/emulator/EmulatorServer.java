package io.github.qwenedit.emulator;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.github.qwenedit.emulator.ImageFetchException.Reason;

/**
 * A provider emulator's plumbing: a real HTTP server on 127.0.0.1 (random port) that logs every request,
 * answers through {@link #respond}, serves the output files it published under {@code /outputs/} until they
 * expire, downloads input images the way a provider does, and takes one-shot faults for tests.
 *
 * <p>Start one with {@code new} (the constructor binds the port), point the client at {@link #baseUrl()},
 * and close it when done. Requests run on a cached pool so a slow or hanging one never blocks the next.
 *
 * @param <SELF> the concrete emulator, so fault setters chain without casts
 */
public abstract class EmulatorServer<SELF extends EmulatorServer<SELF>> implements AutoCloseable {

	/** The emulators' one JSON mapper. */
	public static final ObjectMapper JSON = new ObjectMapper();

	/** Bodies are kept up to here for the log; beyond it they are counted and drained, so the client can finish sending. */
	public static final int MAX_KEPT_BODY_BYTES = 16 * 1024 * 1024;
	private static final long MAX_DRAINED_BODY_BYTES = 256L * 1024 * 1024;

	/** A hung request is released at the latest when the server closes, or after this as a last bound. */
	private static final Duration LONGEST_HANG = Duration.ofMinutes(10);

	private static final String OUTPUTS_PREFIX = "/outputs/";

	/**
	 * Shared by all emulators: the JDK client keeps a selector thread per instance for as long as it lives.
	 * It follows no redirect, since a redirect could lead off 127.0.0.1; see {@link #fetchImage}.
	 */
	private static final HttpClient INPUT_FETCHER = HttpClient.newBuilder()
		.followRedirects(HttpClient.Redirect.NEVER)
		.connectTimeout(Duration.ofSeconds(5))
		.build();

	private sealed interface Fault permits FixedReply, Hang, Drop {}

	private record FixedReply(Reply reply) implements Fault {}

	private record Hang() implements Fault {}

	/** The connection is closed without an answer, as when a server or a proxy resets it. */
	private record Drop() implements Fault {}

	private record PublishedOutput(byte[] bytes, String contentType, Instant expiresAt) {}

	private final HttpServer server;
	private final ExecutorService handlers = Executors.newCachedThreadPool(runnable -> {
		Thread thread = new Thread(runnable, "emulator-" + getClass().getSimpleName());
		thread.setDaemon(true);
		return thread;
	});
	private final CountDownLatch closing = new CountDownLatch(1);
	private final List<RecordedRequest> log = new CopyOnWriteArrayList<>();
	private final Queue<Fault> faults = new ConcurrentLinkedQueue<>();
	private final Map<String, PublishedOutput> outputs = new ConcurrentHashMap<>();

	private volatile Duration processingDelay = Duration.ZERO;
	private volatile long lastCompletedNanos;
	private volatile Duration outputLifetime = Duration.ofHours(24);
	private volatile Duration inputFetchTimeout = Duration.ofSeconds(10);
	private volatile boolean outputLinksBroken;
	private final java.util.concurrent.atomic.AtomicInteger outputsMissingFor = new java.util.concurrent.atomic.AtomicInteger();
	private volatile boolean outputsNotImages;
	private volatile int oversizedOutputBytes;
	private volatile boolean bombOutputs;
	private volatile Duration outputDelay = Duration.ZERO;
	private volatile byte[] largeOutput;
	private volatile boolean outputsShortOfTheirLength;

	static {
		// The JDK server writes headers and body separately; without TCP_NODELAY, Nagle's algorithm and the
		// client's delayed ACK stall every other kept-alive reply by ~40 ms, which would be charged to the plugin.
		System.setProperty("sun.net.httpserver.nodelay", "true");
	}

	protected EmulatorServer() {
		try {
			server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
		}
		catch (IOException e) {
			throw new UncheckedIOException("Cannot bind an emulator on 127.0.0.1", e);
		}
		server.setExecutor(handlers);
		server.createContext("/", this::dispatch);
		server.start();
	}

	/** The answer to one request on the provider's API; the request is already in the log. */
	protected abstract Reply respond(RecordedRequest request) throws Exception;

	/**
	 * The answer to a request for a document the provider publishes beside its API (a model's input
	 * schema), or null for an API request. Served before the one-shot faults, which stand for
	 * failures of the API calls the tests already aim them at; schema failures have their own switches.
	 */
	protected Reply published(RecordedRequest request) throws Exception {
		return null;
	}

	/** What {@link #published} returns for a request held until the client gave up: nothing is sent. */
	protected static final Reply NO_ANSWER = Reply.text(599, "text/plain", "");

	/** Holds a request unanswered until {@code time} passes or the emulator closes; true when it closed. */
	protected boolean holdUnanswered(Duration time) throws InterruptedException {
		return closing.await(time.toMillis(), TimeUnit.MILLISECONDS);
	}

	/** Such as {@code http://127.0.0.1:41234}, without a trailing slash. */
	/** The HTTP server's own port (an emulator may put another in front of it, see {@link #baseUrl()}). */
	protected final int port() {
		return server.getAddress().getPort();
	}

	public String baseUrl() {
		return "http://127.0.0.1:" + server.getAddress().getPort();
	}

	/** Every request received so far, in order of arrival, output downloads included. */
	public List<RecordedRequest> requests() {
		return List.copyOf(log);
	}

	/** The requests received on one path (without query). */
	public List<RecordedRequest> requests(String path) {
		return log.stream().filter(request -> request.path().equals(path)).collect(Collectors.toList());
	}

	public int requestCount(String path) {
		return requests(path).size();
	}

	// ---- fault injection: each one-shot fault answers the next API request instead of the emulator ----

	/** The next API request gets exactly this status, body and headers (Content-Type defaults to JSON). */
	public SELF failNextWith(int status, String rawBody, Map<String, String> headers) {
		return failNextWith(Reply.text(status, "application/json", rawBody).withHeaders(headers));
	}

	/** The next API request gets exactly this reply. */
	protected SELF failNextWith(Reply reply) {
		faults.add(new FixedReply(reply));
		return self();
	}

	/** The next API request is accepted and never answered; the connection drops when the emulator closes. */
	public SELF hangNext() {
		faults.add(new Hang());
		return self();
	}

	/** The next API request's connection is closed without any answer. */
	public SELF dropNext() {
		faults.add(new Drop());
		return self();
	}

	/** Output links serve this many bytes (a PNG signature, then filler), to test download caps. */
	public SELF oversizedOutputs(int bytes) {
		oversizedOutputBytes = bytes;
		return self();
	}

	/**
	 * Output links serve a PNG whose header claims 100000×100000 pixels: a decompression bomb that
	 * must be refused before decoding.
	 */
	public SELF bombOutputs() {
		bombOutputs = true;
		return self();
	}

	/**
	 * Output links announce the image's full length and send only half of it before closing the
	 * connection, as a server whose Content-Length lies or a connection cut mid-transfer does.
	 */
	public SELF outputsShortOfTheirLength() {
		outputsShortOfTheirLength = true;
		return self();
	}

	/** How long a successful job takes inside the provider; errors answer at once, as validation does. */
	public SELF processingDelay(Duration delay) {
		processingDelay = delay;
		return self();
	}

	/** How long each published output link works; 24 h by default (DashScope, docs/providers.md §1.4). */
	public SELF outputLifetime(Duration lifetime) {
		outputLifetime = lifetime;
		return self();
	}

	/** Every output link, published or to come, answers 404, as a link of a deleted object does. */
	public SELF breakOutputLinks() {
		outputLinksBroken = true;
		return self();
	}

	/**
	 * The next {@code downloads} output downloads answer 404, then the links work: an object store or
	 * CDN that does not have the object yet just after the job ended.
	 */
	public SELF missingOutputsFor(int downloads) {
		outputsMissingFor.set(downloads);
		return self();
	}

	/** Every output link answers 200 with an HTML page instead of the image, as a captive portal or CDN error page does. */
	public SELF nonImageOutputs() {
		outputsNotImages = true;
		return self();
	}

	/** Every output published so far expires now. */
	public SELF expireOutputs() {
		Instant now = Instant.now();
		outputs.replaceAll((name, output) -> new PublishedOutput(output.bytes(), output.contentType(), now));
		return self();
	}

	/** Every output download waits this long before its answer, as a slow link does; cut short when the emulator closes. */
	public SELF outputDelay(Duration delay) {
		outputDelay = delay;
		return self();
	}

	/**
	 * Every output link serves one flat grey PNG of {@code width}×{@code height}: small to send, large
	 * to decode, as a result too big for the memory a program was given.
	 */
	public SELF largeOutputs(int width, int height) {
		largeOutput = flatPng(width, height);
		return self();
	}

	/** An 8-bit RGB PNG of one grey, its rows deflated as they are made. */
	static byte[] flatPng(int width, int height) {
		java.io.ByteArrayOutputStream idat = new java.io.ByteArrayOutputStream();
		try (java.util.zip.DeflaterOutputStream z = new java.util.zip.DeflaterOutputStream(idat,
			new java.util.zip.Deflater(9)))
		{
			byte[] row = new byte[1 + 3 * width];
			java.util.Arrays.fill(row, (byte) 0x60);
			row[0] = 0;
			for (int y = 0; y < height; y++) {
				z.write(row);
			}
		}
		catch (IOException e) {
			throw new UncheckedIOException(e);
		}
		java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
		png.writeBytes(PNG_SIGNATURE);
		writeChunk(png, "IHDR", java.nio.ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2)
			.put((byte) 0).put((byte) 0).put((byte) 0).array());
		writeChunk(png, "IDAT", idat.toByteArray());
		writeChunk(png, "IEND", new byte[0]);
		return png.toByteArray();
	}

	private static void writeChunk(java.io.ByteArrayOutputStream out, String type, byte[] data) {
		byte[] name = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
		java.util.zip.CRC32 crc = new java.util.zip.CRC32();
		crc.update(name);
		crc.update(data);
		out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt(data.length).array());
		out.writeBytes(name);
		out.writeBytes(data);
		out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
	}

	/** How long an input download may take before it counts as unreachable. */
	public SELF inputFetchTimeout(Duration timeout) {
		inputFetchTimeout = timeout;
		return self();
	}

	// ---- for the concrete emulators ----

	/** The bytes of the part named {@code field}, its headers (lower-case names) put in {@code headers}. */
	protected static byte[] multipartPart(byte[] body, String boundary, String field, Map<String, String> headers) {
		String text = new String(body, java.nio.charset.StandardCharsets.ISO_8859_1);
		String delimiter = "--" + boundary;
		int at = text.indexOf(delimiter);
		for (int parts = 0; at >= 0 && parts < 100; parts++) {
			int headersStart = at + delimiter.length() + 2;
			int headersEnd = text.indexOf("\r\n\r\n", headersStart);
			int next = text.indexOf("\r\n" + delimiter, headersEnd < 0 ? headersStart : headersEnd);
			if (headersEnd < 0 || next < 0) return null;
			Map<String, String> partHeaders = new java.util.HashMap<>();
			for (String line : text.substring(headersStart, headersEnd).split("\r\n")) {
				int colon = line.indexOf(':');
				if (colon > 0) partHeaders.put(line.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT), line.substring(colon + 1).trim());
			}
			if (partHeaders.getOrDefault("content-disposition", "").contains("name=\"" + field + "\"")) {
				headers.putAll(partHeaders);
				return java.util.Arrays.copyOfRange(body, headersEnd + 4, next);
			}
			at = next + 2;
		}
		return null;
	}


	/**
	 * Waits until the configured processing delay has passed since {@code startedNanos} (a
	 * {@link System#nanoTime()}), cut short when the emulator closes. The delay covers the emulator's
	 * own work done since then, as a provider's processing time covers its own.
	 *
	 * @return false when the emulator closed meanwhile
	 */
	protected boolean awaitProcessing(long startedNanos) throws InterruptedException {
		long left = processingDelay.toNanos() - (System.nanoTime() - startedNanos);
		boolean finished = left <= 0 || !closing.await(left, TimeUnit.NANOSECONDS);
		if (finished) markCompleted();
		return finished;
	}

	/** The processing time a job takes, for emulators that run jobs on a status machine. */
	protected Duration currentProcessingDelay() {
		return processingDelay;
	}

	/**
	 * Records that a job's processing ended now, for benchmarks of the wait beyond completion.
	 * Emulators whose jobs finish on a status machine call this when a job turns final.
	 */
	protected void markCompleted() {
		lastCompletedNanos = System.nanoTime();
	}

	/** {@link System#nanoTime()} when the last job finished processing; 0 before any. */
	public long lastCompletedNanos() {
		return lastCompletedNanos;
	}

	/**
	 * Stores a PNG and returns its link, shaped like a signed object URL: {@code /outputs/<random>.png} with
	 * {@code Expires} and {@code Signature} in the query, so a client that mangles the query breaks here too.
	 */
	protected String publishPng(byte[] png) {
		String name = UUID.randomUUID().toString().replace("-", "") + ".png";
		Instant expiresAt = Instant.now().plus(outputLifetime);
		outputs.put(name, new PublishedOutput(png, "image/png", expiresAt));
		return baseUrl() + OUTPUTS_PREFIX + name + "?Expires=" + expiresAt.getEpochSecond() + "&Signature=" +
			UUID.randomUUID().toString().replace("-", "");
	}

	/**
	 * Gets an input image the way a provider does: GET for {@code http(s)://} (no credentials, no redirects,
	 * 127.0.0.1 only, because tests must never reach the internet), base64 decoding for {@code data:} URIs;
	 * then decodes it with ImageIO.
	 */
	protected FetchedImage fetchImage(String reference, long maxBytes) throws ImageFetchException {
		if (reference.regionMatches(true, 0, "data:", 0, 5)) return decodeDataUri(reference, maxBytes);
		URI uri;
		try {
			uri = new URI(reference);
		}
		catch (URISyntaxException e) {
			throw new ImageFetchException(Reason.UNSUPPORTED_REFERENCE, "not a URI: " + e.getMessage());
		}
		String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
		if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
			throw new ImageFetchException(Reason.UNSUPPORTED_REFERENCE, "neither an http(s) URL nor a data URI");
		}
		if (!isLoopback(uri.getHost())) {
			throw new ImageFetchException(Reason.UNREACHABLE, "emulators only reach 127.0.0.1, not " + uri.getHost());
		}
		HttpResponse<InputStream> response;
		try {
			response = INPUT_FETCHER.send(HttpRequest.newBuilder(uri).timeout(inputFetchTimeout).GET().build(),
				HttpResponse.BodyHandlers.ofInputStream());
		}
		catch (IOException e) {
			throw new ImageFetchException(Reason.UNREACHABLE, e.toString());
		}
		catch (InterruptedException e) {
			Thread.currentThread().interrupt();
			throw new ImageFetchException(Reason.UNREACHABLE, "interrupted");
		}
		byte[] bytes;
		try (InputStream body = response.body()) {
			bytes = body.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
		}
		catch (IOException e) {
			throw new ImageFetchException(Reason.UNREACHABLE, "body broke off: " + e);
		}
		if (response.statusCode() / 100 != 2) {
			throw new ImageFetchException(Reason.UNREACHABLE, "HTTP " + response.statusCode());
		}
		String contentType = response.headers().firstValue("Content-Type").orElse("");
		if (!looksLikeImageType(contentType)) {
			throw new ImageFetchException(Reason.NOT_AN_IMAGE, "Content-Type " + contentType);
		}
		return decode(reference, contentType, bytes, maxBytes);
	}

	private static FetchedImage decodeDataUri(String uri, long maxBytes) throws ImageFetchException {
		int comma = uri.indexOf(',');
		String header = comma < 0 ? "" : uri.substring(5, comma);
		if (comma < 0 || !header.toLowerCase(Locale.ROOT).endsWith(";base64")) {
			throw new ImageFetchException(Reason.UNSUPPORTED_REFERENCE, "a data URI must be data:<mime>;base64,<data>");
		}
		String mime = header.substring(0, header.length() - ";base64".length());
		byte[] bytes;
		try {
			bytes = Base64.getDecoder().decode(uri.substring(comma + 1));
		}
		catch (IllegalArgumentException e) {
			throw new ImageFetchException(Reason.NOT_AN_IMAGE, "bad base64: " + e.getMessage());
		}
		if (!mime.toLowerCase(Locale.ROOT).startsWith("image/")) {
			throw new ImageFetchException(Reason.NOT_AN_IMAGE, "data URI of type " + mime);
		}
		return decode(uri, mime, bytes, maxBytes);
	}

	/** Decodes bytes a provider holds itself (its own storage) as it decodes a fetched image. */
	protected static FetchedImage decode(String reference, String contentType, byte[] bytes, long maxBytes)
		throws ImageFetchException
	{
		if (bytes.length > maxBytes) {
			throw new ImageFetchException(Reason.TOO_LARGE, "more than " + maxBytes + " bytes");
		}
		BufferedImage image;
		try {
			image = ImageIO.read(new ByteArrayInputStream(bytes));
		}
		catch (IOException e) {
			throw new ImageFetchException(Reason.NOT_AN_IMAGE, "undecodable: " + e.getMessage());
		}
		if (image == null) throw new ImageFetchException(Reason.NOT_AN_IMAGE, "no image reader for these bytes");
		return new FetchedImage(reference, contentType, bytes, image);
	}

	/** An object store serves what the uploader declared; octet-stream is common when none was given. */
	private static boolean looksLikeImageType(String contentType) {
		String type = contentType.toLowerCase(Locale.ROOT);
		return type.isEmpty() || type.startsWith("image/") || type.startsWith("application/octet-stream") ||
			type.startsWith("binary/octet-stream");
	}

	private static boolean isLoopback(String host) {
		String bare = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
		return bare.equals("127.0.0.1") || bare.equals("localhost") || bare.equals("::1");
	}

	// ---- the server ----

	private void dispatch(HttpExchange exchange) {
		try {
			RecordedRequest request = record(exchange);
			log.add(request);
			if (request.path().startsWith(OUTPUTS_PREFIX)) {
				if (!outputDelay.isZero() && closing.await(outputDelay.toMillis(), TimeUnit.MILLISECONDS)) return;
				send(exchange, serveOutput(request.path().substring(OUTPUTS_PREFIX.length())));
				return;
			}
			Reply document = published(request);
			if (document == NO_ANSWER) return; // finally closes the exchange with nothing sent
			if (document != null) {
				send(exchange, document);
				return;
			}
			Fault fault = faults.poll();
			if (fault instanceof Drop) {
				return; // finally closes the exchange with nothing sent
			}
			if (fault instanceof Hang) {
				// Left unanswered on purpose: close() stops the server, which drops the connection.
				closing.await(LONGEST_HANG.toMillis(), TimeUnit.MILLISECONDS);
				return;
			}
			send(exchange, fault instanceof FixedReply fixed ? fixed.reply() : respond(request));
		}
		catch (Exception | AssertionError e) {
			// An emulator bug must show in the test output, not vanish into the pool.
			e.printStackTrace();
			try {
				send(exchange, Reply.text(500, "text/plain", "emulator failure: " + e));
			}
			catch (IOException | RuntimeException ignored) {
				// The headers went out already, or the client left: nothing more to tell it.
			}
		}
		finally {
			exchange.close();
		}
	}

	private static RecordedRequest record(HttpExchange exchange) throws IOException {
		Map<String, List<String>> headers = new TreeMap<>();
		exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT),
			List.copyOf(values)));
		ByteArrayOutputStream kept = new ByteArrayOutputStream();
		long length = 0;
		byte[] buffer = new byte[64 * 1024];
		try (InputStream body = exchange.getRequestBody()) {
			for (int read; length < MAX_DRAINED_BODY_BYTES && (read = body.read(buffer)) > 0; length += read) {
				int keep = (int) Math.max(0, Math.min(read, MAX_KEPT_BODY_BYTES - length));
				kept.write(buffer, 0, keep);
			}
		}
		URI uri = exchange.getRequestURI();
		return new RecordedRequest(exchange.getRequestMethod(), uri.getPath(), uri.getRawQuery(), Map.copyOf(headers),
			kept.toByteArray(), length, Instant.now());
	}

	/** Expired links answer like an expired signed OSS/S3 URL (403 AccessDenied), unknown ones like a missing key. */
	/**
	 * An output stored by {@link #publishPng}, by the name in its link, with every output switch applied
	 * (broken, expired, not an image, oversized, a bomb, short of its length); for emulators whose
	 * outputs are fetched by a route of their own.
	 */
	protected Reply serveOutput(String name) {
		PublishedOutput output = outputs.get(name);
		if (output == null || outputLinksBroken || outputsMissingFor.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
			return objectStoreError(404, "NoSuchKey", "The specified key does not exist.");
		}
		if (!Instant.now().isBefore(output.expiresAt())) {
			return objectStoreError(403, "AccessDenied", "Request has expired.");
		}
		if (oversizedOutputBytes > 0) {
			byte[] big = new byte[oversizedOutputBytes];
			System.arraycopy(PNG_SIGNATURE, 0, big, 0, PNG_SIGNATURE.length);
			return Reply.raw(200, "image/png", big);
		}
		if (bombOutputs) {
			return Reply.raw(200, "image/png", pngHeaderClaiming(100_000, 100_000));
		}
		if (largeOutput != null) {
			return Reply.raw(200, "image/png", largeOutput);
		}
		if (outputsShortOfTheirLength) {
			byte[] half = java.util.Arrays.copyOf(output.bytes(), output.bytes().length / 2);
			return Reply.raw(200, output.contentType(), half).withHeaders(Map.of(DECLARED_LENGTH,
				String.valueOf(output.bytes().length)));
		}
		if (outputsNotImages) {
			return Reply.text(200, "text/html; charset=utf-8", "<html><body>Service temporarily unavailable</body></html>");
		}
		return Reply.raw(200, output.contentType(), output.bytes());
	}

	private static final byte[] PNG_SIGNATURE = { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

	/** A PNG signature and IHDR chunk (with a valid CRC) for an image of the given size, and no pixels. */
	static byte[] pngHeaderClaiming(int width, int height) {
		java.nio.ByteBuffer chunk = java.nio.ByteBuffer.allocate(17);
		chunk.put("IHDR".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).putInt(width).putInt(height)
			.put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
		java.util.zip.CRC32 crc = new java.util.zip.CRC32();
		crc.update(chunk.array());
		java.nio.ByteBuffer png = java.nio.ByteBuffer.allocate(8 + 4 + 17 + 4);
		png.put(PNG_SIGNATURE).putInt(13).put(chunk.array()).putInt((int) crc.getValue());
		return png.array();
	}

	private static Reply objectStoreError(int status, String code, String message) {
		return Reply.text(status, "application/xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code +
			"</Code><Message>" + message + "</Message></Error>");
	}

	/** A reply header that sets the Content-Length announced, whatever the body's real length. */
	private static final String DECLARED_LENGTH = "Content-Length";

	private static void send(HttpExchange exchange, Reply reply) throws IOException {
		reply.headers().forEach((name, value) -> {
			if (!name.equalsIgnoreCase(DECLARED_LENGTH)) exchange.getResponseHeaders().set(name, value);
		});
		if (reply.streamer() != null) {
			exchange.sendResponseHeaders(reply.status(), 0);
			try (OutputStream out = exchange.getResponseBody()) {
				reply.streamer().writeTo(out);
			}
			catch (IOException | InterruptedException clientLeftOrClosing) {
				// A client may close a stream at any time (cancel, time-out), and closing the emulator ends it.
			}
			return;
		}
		byte[] body = reply.body();
		String declared = reply.headers().entrySet().stream().filter(h -> h.getKey().equalsIgnoreCase(DECLARED_LENGTH))
			.map(Map.Entry::getValue).findFirst().orElse(null);
		long length = declared != null ? Long.parseLong(declared) : body.length;
		exchange.sendResponseHeaders(reply.status(), length == 0 ? -1 : length);
		if (length > 0) {
			OutputStream out = exchange.getResponseBody();
			out.write(body);
			out.flush();
			// With fewer bytes than announced the stream is left open: the exchange's close then finds it
			// short and drops the connection, which is what such a reply is for.
			if (length == body.length) out.close();
		}
	}

	@SuppressWarnings("unchecked")
	private SELF self() {
		return (SELF) this;
	}

	/** Stops the server: hung requests are released and their connections dropped. */
	@Override
	public void close() {
		closing.countDown();
		server.stop(0);
		handlers.shutdownNow();
		try {
			handlers.awaitTermination(2, TimeUnit.SECONDS);
		}
		catch (InterruptedException e) {
			Thread.currentThread().interrupt();
		}
	}
}
