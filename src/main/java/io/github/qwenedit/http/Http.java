package io.github.qwenedit.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Collections;
import java.util.HashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import okhttp3.Call;
import okhttp3.Headers;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * All HTTP of one edit goes through here: the one shared OkHttp client and one exchange core that
 * every call runs through (the scheme policy, the overall deadline, cancellation that aborts calls
 * in flight, the retry rule), used by requests with short answers, event streams and capped
 * downloads.
 */
public final class Http {

	/** One connection pool and dispatcher for the whole plugin. */
	private static final OkHttpClient SHARED = new OkHttpClient.Builder()
		.connectTimeout(15, TimeUnit.SECONDS)
		.readTimeout(60, TimeUnit.SECONDS)
		.writeTimeout(60, TimeUnit.SECONDS)
		.followRedirects(false)
		.followSslRedirects(false)
		.socketFactory(new NoDelaySockets())
		.build();

	/**
	 * Sockets that send at once. OkHttp writes a request's headers and body separately; with Nagle's
	 * algorithm on, the last piece of an upload waits for the server's delayed acknowledgement, which
	 * added 40 ms to every staged image (the benchmarks in the README), up to 200 ms on some systems.
	 */
	private static final class NoDelaySockets extends javax.net.SocketFactory {
		private final javax.net.SocketFactory plain = javax.net.SocketFactory.getDefault();

		private static java.net.Socket noDelay(java.net.Socket socket) throws IOException {
			socket.setTcpNoDelay(true);
			return socket;
		}

		@Override
		public java.net.Socket createSocket() throws IOException {
			return noDelay(plain.createSocket());
		}

		@Override
		public java.net.Socket createSocket(String host, int port) throws IOException {
			return noDelay(plain.createSocket(host, port));
		}

		@Override
		public java.net.Socket createSocket(String host, int port, java.net.InetAddress localHost, int localPort)
			throws IOException
		{
			return noDelay(plain.createSocket(host, port, localHost, localPort));
		}

		@Override
		public java.net.Socket createSocket(java.net.InetAddress host, int port) throws IOException {
			return noDelay(plain.createSocket(host, port));
		}

		@Override
		public java.net.Socket createSocket(java.net.InetAddress address, int port, java.net.InetAddress localAddress,
			int localPort) throws IOException
		{
			return noDelay(plain.createSocket(address, port, localAddress, localPort));
		}
	}

	public static final long DEFAULT_DOWNLOAD_CAP_BYTES = 64L * 1024 * 1024;
	/** API answers are short JSON documents; a larger one is not what the API returns and is not read. */
	static final long MAX_ANSWER_BYTES = 16L * 1024 * 1024;
	private static final int MAX_REDIRECTS = 3;
	/** Tries of a result link that answers 403 or 404, within the deadline: some seconds in all with the default back-off. */
	static final int MISSING_RESULT_ATTEMPTS = 5;
	private static final Duration CLEANUP_TIME = Duration.ofSeconds(30);
	private static final Duration STREAM_END_GRACE = Duration.ofMillis(100);

	private final RetryPolicy retry;
	private final Cancellation cancellation;
	private final Deadline deadline;
	private final Set<String> plainHttpHosts;
	/** Whether a create refused with 429 comes back to the caller at once instead of being waited out here. */
	private final boolean refusedCreatesToCaller;

	public Http(RetryPolicy retry, Cancellation cancellation, Deadline deadline, Set<String> plainHttpHosts) {
		this(retry, cancellation, deadline, plainHttpHosts, false);
	}

	private Http(RetryPolicy retry, Cancellation cancellation, Deadline deadline, Set<String> plainHttpHosts,
		boolean refusedCreatesToCaller)
	{
		this.retry = retry;
		this.cancellation = cancellation;
		this.deadline = deadline;
		this.plainHttpHosts = Collections.unmodifiableSet(new HashSet<>(plainHttpHosts));
		this.refusedCreatesToCaller = refusedCreatesToCaller;
	}

	/** The shared client, for a connection the exchange core does not run (ComfyUI's progress WebSocket). */
	public static OkHttpClient sharedClient() {
		return SHARED;
	}

	/** {@code host:port} of a URL the user configured; plain http to it is then allowed. */
	public static String hostKey(HttpUrl url) {
		return url.host().toLowerCase(Locale.ROOT) + ":" + url.port();
	}

	public Cancellation cancellation() {
		return cancellation;
	}

	public Deadline deadline() {
		return deadline;
	}

	public RetryPolicy retryPolicy() {
		return retry;
	}

	/** The same connection rules and deadline, cancelled by {@code other} instead. */
	public Http withCancellation(Cancellation other) {
		return new Http(retry, other, deadline, plainHttpHosts, refusedCreatesToCaller);
	}

	/**
	 * The same, but a create ({@link CallKind#CREATE}) the server refuses with 429 comes back at once
	 * rather than being waited out and sent again here: the edit session sends a refused job again
	 * itself, having told the journal that the provider holds no job, so that a stop during the wait
	 * is not taken for a job that may run and charge.
	 */
	public Http handingRefusedCreatesBack() {
		return new Http(retry, cancellation, deadline, plainHttpHosts, true);
	}

	/**
	 * The same connection rules with a fresh cancellation and a short deadline of its own, for the
	 * calls that must still happen after a cancel or a time-out: cancelling the remote job,
	 * deleting staged objects.
	 */
	public Http forCleanup() {
		return new Http(retry, new Cancellation(), Deadline.after(CLEANUP_TIME, deadline.ticker()), plainHttpHosts);
	}

	/**
	 * One attempt within {@code time} that the edit's cancellation still stops, for an optional read
	 * whose failure has a fallback (a provider's published schema): it must not hold the edit up.
	 */
	public Http forShortRead(Duration time) {
		Duration bounded = deadline.remaining().compareTo(time) < 0 ? deadline.remaining() : time;
		return new Http(new RetryPolicy(1, Duration.ZERO, Duration.ZERO), cancellation,
			Deadline.after(bounded, deadline.ticker()), plainHttpHosts);
	}

	/**
	 * Sends {@code request} and reads the whole body, retrying as {@code kind} allows. Any HTTP
	 * status comes back as a reply for the provider to interpret; only network failures, time-outs
	 * and cancellation throw.
	 */
	public HttpReply send(Request request, CallKind kind, Duration callTimeout, String serviceName) throws EditException {
		return exchange(request, serviceName, CallRules.reply(kind, callTimeout), (call, response, tries) -> {
			ResponseBody body = response.body();
			try {
				return new HttpReply(response.code(), response.headers(),
					body == null ? new byte[0] : readCapped(body, MAX_ANSWER_BYTES));
			}
			catch (CappedException e) {
				throw new EditException(ErrorKind.PROVIDER_FAILURE, serviceName + " answered with more than " +
					(MAX_ANSWER_BYTES / (1024 * 1024)) + " MiB where a short answer was expected, so it was not read. Try " +
					"again later; if it persists, check the configured address.");
			}
		}, failure -> {
			throw networkFailure(request.url(), serviceName, failure);
		});
	}

	/** How a stream of events ended. */
	public enum StreamEnd {
		/** The listener had what it waited for. */
		STOPPED,
		/** The server closed the stream. */
		ENDED,
		/** The time given to the stream ran out (not the edit's deadline); the server may have more to say. */
		WINDOW_OVER,
		/** The server answered with an error status or with something other than an event stream. */
		REFUSED,
		/** The connection failed or broke off. */
		BROKEN
	}

	/** Takes the events of a stream one at a time. */
	@FunctionalInterface
	public interface EventListener {

		/** @return whether to read on */
		boolean onEvent(ServerSentEvent event) throws EditException;
	}

	/**
	 * Reads a Server-Sent Events stream for at most {@code window}, handing each event to {@code listener},
	 * without retries: a stream that cannot be read is the caller's cue to ask another way, so only
	 * cancellation and the edit's deadline throw. Cancelling aborts the stream at once.
	 */
	public StreamEnd readEvents(Request request, Duration window, String serviceName, EventListener listener)
		throws EditException
	{
		Request events = request.newBuilder().header("Accept", "text/event-stream").build();
		return exchange(events, serviceName, CallRules.stream(window), (call, response, tries) -> {
			ResponseBody body = response.body();
			String type = response.header("Content-Type", "");
			if (!response.isSuccessful() || body == null || !type.toLowerCase(Locale.ROOT).startsWith("text/event-stream")) {
				return StreamEnd.REFUSED;
			}
			for (ServerSentEvent event; (event = ServerSentEvent.next(body.source())) != null;) {
				if (!listener.onEvent(event)) {
					endOrDrop(call, body);
					return StreamEnd.STOPPED;
				}
			}
			return StreamEnd.ENDED;
		}, failure -> failure instanceof InterruptedIOException ? StreamEnd.WINDOW_OVER : StreamEnd.BROKEN);
	}

	/**
	 * A server that ends its stream right after the event the caller waited for (fal does) leaves the
	 * connection to be reused for the next call, sparing a new TLS handshake; one that keeps it open
	 * loses the connection after a short grace instead of holding the caller up.
	 */
	private static void endOrDrop(Call call, ResponseBody body) {
		try {
			body.source().timeout().timeout(STREAM_END_GRACE.toMillis(), TimeUnit.MILLISECONDS);
			if (body.source().exhausted()) return;
		}
		catch (IOException notEnded) {
			// Dropped below.
		}
		call.cancel();
	}

	/**
	 * Downloads an output image at once (provider links expire), following at most three redirects,
	 * each checked for its scheme, and refusing more than {@code maxBytes}.
	 */
	public byte[] download(String url, long maxBytes, String serviceName) throws EditException {
		return download(url, maxBytes, serviceName, Headers.of());
	}

	/**
	 * As {@link #download(String, long, String)}, with {@code headers} on the first request only: a
	 * result on the user's own server behind an authenticating proxy needs them, and a redirect may
	 * lead elsewhere, where they must not go.
	 */
	public byte[] download(String url, long maxBytes, String serviceName, Headers headers) throws EditException {
		HttpUrl current = HttpUrl.parse(url);
		if (current == null) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, serviceName +
				" returned an output link that is not an http(s) address, so it was not opened.");
		}
		for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
			HttpUrl link = current;
			Request request = new Request.Builder().url(link).headers(hop == 0 ? headers : Headers.of()).get().build();
			ResultOrRedirect answer = exchange(request, serviceName, CallRules.RESULT_LINK,
				(call, response, tries) -> resultOrRedirect(link, response, tries, maxBytes, serviceName), failure -> {
					throw networkFailure(link, serviceName, failure);
				});
			if (answer.result != null) return answer.result;
			current = answer.redirect;
		}
		throw new EditException(ErrorKind.PROVIDER_FAILURE, serviceName + " redirected an output link more than " +
			MAX_REDIRECTS + " times; it was not followed further.");
	}

	/** A downloaded result, or where its link leads. */
	private static final class ResultOrRedirect {
		final byte[] result;
		final HttpUrl redirect;

		ResultOrRedirect(byte[] result, HttpUrl redirect) {
			this.result = result;
			this.redirect = redirect;
		}
	}

	private static ResultOrRedirect resultOrRedirect(HttpUrl link, Response response, int tries, long maxBytes,
		String serviceName) throws IOException, EditException
	{
		if (response.isRedirect()) {
			String location = response.header("Location");
			HttpUrl next = location == null ? null : link.resolve(location);
			if (next == null) {
				throw new EditException(ErrorKind.PROVIDER_FAILURE, serviceName +
					" redirected an output link to an address that is not http(s); it was not followed.");
			}
			return new ResultOrRedirect(null, next);
		}
		if (response.code() == 403 || response.code() == 404) {
			throw new ExpiredLinkException("The result image could not be downloaded from " + serviceName + " (HTTP " +
				response.code() + ", the link has expired or was removed; tried " + tries + " times).");
		}
		if (!response.isSuccessful()) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, "The result image could not be downloaded from " +
				serviceName + " (HTTP " + response.code() + ").");
		}
		ResponseBody body = response.body();
		long declared = body == null ? -1 : body.contentLength();
		if (declared > maxBytes) throw tooLarge(serviceName, maxBytes);
		try {
			return new ResultOrRedirect(body == null ? new byte[0] : readCapped(body, maxBytes), null);
		}
		catch (CappedException e) {
			throw tooLarge(serviceName, maxBytes);
		}
	}

	/**
	 * What the exchange core needs to know of one kind of call: whether it may be repeated once it may
	 * have reached the server, how long one try may take in all ({@code limit}) and waiting for its next
	 * bytes ({@code silence}), whether it is tried again at all, and whether a 403 or 404 may be a result
	 * that is not served yet.
	 */
	private static final class CallRules {
		/**
		 * Result links: a few minutes for the whole image, but a link that stays silent as long as the
		 * shared client allows is tried again rather than waited for.
		 */
		static final CallRules RESULT_LINK = new CallRules(CallKind.IDEMPOTENT, Duration.ofMinutes(5),
			Duration.ofMillis(SHARED.readTimeoutMillis()), true, true);

		final CallKind kind;
		final Duration limit;
		final Duration silence;
		final boolean retried;
		final boolean resultLink;

		private CallRules(CallKind kind, Duration limit, Duration silence, boolean retried, boolean resultLink) {
			this.kind = kind;
			this.limit = limit;
			this.silence = silence;
			this.retried = retried;
			this.resultLink = resultLink;
		}

		/** A request and its whole (short) answer, which may take all of its limit before a byte comes back. */
		static CallRules reply(CallKind kind, Duration limit) {
			return new CallRules(kind, limit, limit, true, false);
		}

		/** A stream read for one window, which may be silent all along; never tried again. */
		static CallRules stream(Duration window) {
			return new CallRules(CallKind.IDEMPOTENT, window, window, false, false);
		}
	}

	/** Makes the caller's result from an answer that the retry rule let stand. */
	@FunctionalInterface
	private interface AnswerReader<T> {
		T read(Call call, Response response, int tries) throws IOException, EditException;
	}

	/** Makes the caller's result, or its exception, from a failure that is not tried again. */
	@FunctionalInterface
	private interface FailureReader<T> {
		T read(IOException failure) throws EditException;
	}

	/**
	 * The one place a call runs: plain http only to configured hosts; each try limited by
	 * {@link Call#timeout()} to the call's own limit or what is left of the deadline, whichever ends
	 * first; a cancel aborts the try until its answer is read to the end (which is why this is no
	 * interceptor: an interceptor's part of a call ends when the headers are in, before the body or
	 * the events of a stream); a time-out the deadline caused reported as the deadline's; and the one
	 * retry rule choosing between the answer and another try.
	 */
	private <T> T exchange(Request request, String serviceName, CallRules rules, AnswerReader<T> answer,
		FailureReader<T> failure) throws EditException
	{
		checkScheme(request.url(), serviceName);
		for (int tries = 1;; tries++) {
			cancellation.throwIfCancelled();
			deadline.throwIfExpired();
			Duration remaining = deadline.remaining();
			Duration limit = min(rules.limit, remaining);
			// OkHttp reads a limit of zero milliseconds as no limit at all.
			if (limit.toMillis() == 0) throw deadline.timedOut();
			Duration silence = min(rules.silence, limit);
			// When the deadline is what cuts the call short, its time-out is the deadline's, not a network fault.
			boolean deadlineBound = silence.equals(remaining);
			// OkHttp silently sends a request again when a kept-alive ("stale pooled") connection breaks after
			// it went out, a POST included (https://square.github.io/okhttp/4.x/okhttp/okhttp3/-ok-http-client/-builder/retry-on-connection-failure.html):
			// a create could then run and bill the job twice, so it goes once, and only the retry rule here decides on a repeat.
			Call call = SHARED.newBuilder().readTimeout(silence.toMillis(), TimeUnit.MILLISECONDS)
				.retryOnConnectionFailure(rules.kind != CallKind.CREATE).build().newCall(request);
			call.timeout().timeout(limit.toMillis(), TimeUnit.MILLISECONDS);
			Duration wait;
			try (Cancellation.Registration ignored = cancellation.onCancel(call::cancel);
				Response response = call.execute())
			{
				Optional<Duration> again = againAfter(response, tries, rules);
				if (again.isEmpty()) return answer.read(call, response, tries);
				wait = again.get();
			}
			catch (IOException e) {
				if (Thread.currentThread().isInterrupted()) cancellation.cancel();
				if (cancellation.isCancelled()) throw Cancellation.cancelledException();
				if (deadline.expired() || deadlineBound && e instanceof InterruptedIOException) throw deadline.timedOut();
				Optional<Duration> again = againAfter(e, tries, rules);
				if (again.isEmpty()) return failure.read(e);
				wait = again.get();
			}
			pause(wait);
		}
	}

	/**
	 * The retry rule for an answer: a rate limit (429) is tried again for every call (but a create whose
	 * refusal goes back to the caller, {@link #handingRefusedCreatesBack()}), a server error
	 * (5xx) only for a call that may be repeated, each after the server's {@code Retry-After} or the
	 * policy's back-off; a result link's 403 or 404 up to {@link #MISSING_RESULT_ATTEMPTS} times in
	 * all, because an object store or CDN may not serve a result yet in the first seconds after the job
	 * ended. Never when the wait would outlast the deadline: the caller then has the answer at once.
	 */
	private Optional<Duration> againAfter(Response response, int tries, CallRules rules) {
		int code = response.code();
		Duration wait;
		if (code == 429 && rules.kind == CallKind.CREATE && refusedCreatesToCaller) {
			return Optional.empty();
		}
		else if (code == 429 || rules.kind == CallKind.IDEMPOTENT && code >= 500) {
			if (tries >= attempts(rules)) return Optional.empty();
			wait = retry.delayAfter(tries, RetryPolicy.parseRetryAfter(response.header("Retry-After")));
		}
		else if (rules.resultLink && (code == 403 || code == 404)) {
			if (tries >= MISSING_RESULT_ATTEMPTS) return Optional.empty();
			wait = retry.delayAfter(tries, Optional.empty());
		}
		else {
			return Optional.empty();
		}
		return wait.compareTo(deadline.remaining()) < 0 ? Optional.of(wait) : Optional.empty();
	}

	/**
	 * The retry rule for a call that failed without an answer: tried again, after the policy's back-off,
	 * when it may be repeated or cannot have reached the server.
	 */
	private Optional<Duration> againAfter(IOException failure, int tries, CallRules rules) {
		boolean neverSent = failure instanceof ConnectException || failure instanceof UnknownHostException ||
			failure instanceof NoRouteToHostException;
		if (tries >= attempts(rules) || rules.kind == CallKind.CREATE && !neverSent) return Optional.empty();
		return Optional.of(retry.delayAfter(tries, Optional.empty()));
	}

	private int attempts(CallRules rules) {
		return rules.retried ? retry.maxAttempts() : 1;
	}

	/**
	 * Whether this client would connect to {@code link} at all: https, or plain http to an address the
	 * user configured. A link it refuses can never be followed, however often it is tried.
	 */
	public boolean follows(String link) {
		HttpUrl url = HttpUrl.parse(link);
		return url != null && (url.isHttps() || plainHttpHosts.contains(hostKey(url)));
	}

	private void checkScheme(HttpUrl url, String serviceName) throws EditException {
		if (follows(url.toString())) return;
		throw new EditException(ErrorKind.NETWORK, "Refusing an unencrypted http:// connection to " + url.host() +
			" for " + serviceName + ": only https is used unless you configure a plain http address yourself.");
	}

	private void pause(Duration d) throws EditException {
		Duration wait = min(d, deadline.remaining());
		cancellation.sleep(wait, deadline.ticker());
		deadline.throwIfExpired();
	}

	private static EditException tooLarge(String serviceName, long maxBytes) {
		return new EditException(ErrorKind.PROVIDER_FAILURE, "The result from " + serviceName + " is larger than " +
			(maxBytes / (1024 * 1024)) + " MiB, the download limit, so it was not downloaded; raise " +
			io.github.qwenedit.core.Configuration.DOWNLOAD_CAP_MB + " (in Plugins > Qwen Image Edit > Settings, the " +
			"settings file or the environment) to fetch it.");
	}

	/**
	 * A broken-off answer says nothing of what to do next: the caller knows, and for a paid result the
	 * journal fetches it again without paying, where "run the edit again" would pay twice.
	 */
	private static EditException networkFailure(HttpUrl url, String serviceName, IOException e) {
		if (e instanceof BrokenOffException) {
			BrokenOffException broken = (BrokenOffException) e;
			return new EditException(ErrorKind.NETWORK, serviceName + " answered, but the answer broke off after " +
				broken.received + (broken.announced >= 0 ? " of the " + broken.announced + " bytes it announced" : " bytes") +
				" (the connection dropped, or the server sent less than it said).", e);
		}
		String reason = e instanceof UnknownHostException ? "the host name " + url.host() + " is unknown"
			: e instanceof ConnectException ? "the connection to " + url.host() + " was refused"
			: e instanceof java.net.SocketTimeoutException || e instanceof InterruptedIOException
				? url.host() + " did not answer in time" : "the connection to " + url.host() + " failed";
		return new EditException(ErrorKind.NETWORK, "Cannot reach " + serviceName + ": " + reason +
			". Check the network connection and the configured address.", e);
	}

	private static Duration min(Duration a, Duration b) {
		return a.compareTo(b) <= 0 ? a : b;
	}

	private static final class CappedException extends IOException {
		private static final long serialVersionUID = 1L;
	}

	/**
	 * An answer whose headers arrived and whose body then stopped short: the server was reached, so
	 * this is told apart from a connection that never worked.
	 */
	private static final class BrokenOffException extends IOException {
		private static final long serialVersionUID = 1L;
		final long received;
		final long announced;

		BrokenOffException(long received, long announced, IOException cause) {
			super(cause);
			this.received = received;
			this.announced = announced;
		}
	}

	private static byte[] readCapped(ResponseBody body, long maxBytes) throws IOException {
		java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
		byte[] buffer = new byte[64 * 1024];
		long total = 0;
		InputStream in = body.byteStream();
		try {
			int n;
			while ((n = in.read(buffer)) != -1) {
				total += n;
				if (total > maxBytes) throw new CappedException();
				out.write(buffer, 0, n);
			}
		}
		catch (CappedException | InterruptedIOException e) {
			throw e;
		}
		catch (IOException e) {
			throw new BrokenOffException(total, body.contentLength(), e);
		}
		return out.toByteArray();
	}
}
