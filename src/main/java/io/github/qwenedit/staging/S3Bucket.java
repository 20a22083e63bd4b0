package io.github.qwenedit.staging;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import org.w3c.dom.Document;
import org.w3c.dom.Element;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.Hashing;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.RetryPolicy;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * The few S3 operations staging needs, signed with {@link SigV4Signer} and sent through
 * {@link Http} (the plugin's one OkHttp client, retry rule, cancellation and deadline). Every
 * operation here is idempotent (a PUT of the same key writes the same object again), so 5xx and
 * network failures are retried. Failures become {@link ErrorKind#STAGING} sentences, or
 * {@link ErrorKind#NETWORK} when the endpoint cannot be reached; none contains a credential or a
 * signed link.
 */
public final class S3Bucket {

	/** Limit of one operation when no edit's deadline applies (clean-up, sweep, self-check). */
	static final Duration OPERATION_LIMIT = Duration.ofMinutes(2);
	private static final Duration UPLOAD_TIMEOUT = Duration.ofMinutes(2);
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
	private static final int PAGE_SIZE = 1000;
	/** 100 pages of 1000: far more than staging ever leaves, and a bound on a runaway listing. */
	static final int MAX_LIST_PAGES = 100;

	private final BucketConfig config;
	private final SigV4Signer signer;
	private final RetryPolicy retry;
	private final Clock clock;
	/** Null when each operation has its own limits rather than an edit's. */
	private final Cancellation cancellation;
	private final Deadline deadline;

	public S3Bucket(BucketConfig config) {
		this(config, RetryPolicy.DEFAULT, Clock.systemUTC());
	}

	/** @param clock signs requests; tests move it to provoke S3's clock-skew check */
	S3Bucket(BucketConfig config, RetryPolicy retry, Clock clock) {
		this(config, retry, clock, null, null);
	}

	private S3Bucket(BucketConfig config, RetryPolicy retry, Clock clock, Cancellation cancellation, Deadline deadline) {
		this.config = config;
		this.signer = config.signer();
		this.retry = retry;
		this.clock = clock;
		this.cancellation = cancellation;
		this.deadline = deadline;
	}

	/**
	 * The same bucket, its calls bounded by an edit's cancellation and deadline. Plain http to the
	 * bucket stays allowed when the user configured an http endpoint, whatever {@code http} allows.
	 */
	public S3Bucket within(Http http) {
		return new S3Bucket(config, http.retryPolicy(), clock, http.cancellation(), http.deadline());
	}

	/** The same bucket, failed calls repeated as {@code retry} says. */
	S3Bucket withRetry(RetryPolicy retry) {
		return new S3Bucket(config, retry, clock, cancellation, deadline);
	}

	public BucketConfig config() {
		return config;
	}

	/** Uploads {@code bytes} as {@code key}, the payload's SHA-256 signed so S3 checks its integrity. */
	public void put(String key, byte[] bytes, String contentType) throws EditException {
		RequestBody body = RequestBody.create(bytes, MediaType.get(contentType));
		HttpReply reply = send("PUT", config.objectUrl(key), Map.of("Content-Type", contentType), body,
			Hashing.sha256Hex(bytes), UPLOAD_TIMEOUT);
		if (!reply.isSuccessful()) throw S3Error.of(reply).toException(config, "Could not upload to " + config.location());
	}

	/** A link that lets anyone fetch {@code key} for {@code ttl}. Signed locally: nothing is sent. */
	public String presignGet(String key, Duration ttl) {
		return signer.presignedUrl("GET", config.objectUrl(key), ttl, clock.instant());
	}

	/** Deletes {@code key}; an object that is already gone counts as deleted. */
	public void delete(String key) throws EditException {
		HttpReply reply = send("DELETE", config.objectUrl(key), Map.of(), null, SigV4Signer.EMPTY_PAYLOAD_SHA256,
			CALL_TIMEOUT);
		if (reply.isSuccessful()) return;
		S3Error error = S3Error.of(reply);
		if (reply.code() == 404 && !error.code().equals("NoSuchBucket")) return;
		throw error.toException(config, "Could not delete " + key + " from the bucket " + config.bucket());
	}

	/**
	 * Every object whose key starts with {@code keyPrefix} (ListObjectsV2, following continuation
	 * tokens), at most {@value #MAX_LIST_PAGES} pages of 1000.
	 */
	public List<BucketObject> list(String keyPrefix) throws EditException {
		return list(keyPrefix, PAGE_SIZE);
	}

	List<BucketObject> list(String keyPrefix, int pageSize) throws EditException {
		List<BucketObject> objects = new ArrayList<>();
		Set<String> tokensSeen = new HashSet<>();
		String token = null;
		for (int page = 0; page < MAX_LIST_PAGES; page++) {
			HttpUrl.Builder url = config.bucketUrl().newBuilder()
				.addEncodedQueryParameter("list-type", "2")
				.addEncodedQueryParameter("max-keys", Integer.toString(pageSize));
			if (!keyPrefix.isEmpty()) url.addEncodedQueryParameter("prefix", SigV4Signer.uriEncode(keyPrefix));
			if (token != null) url.addEncodedQueryParameter("continuation-token", SigV4Signer.uriEncode(token));
			HttpReply reply = send("GET", url.build(), Map.of(), null, SigV4Signer.EMPTY_PAYLOAD_SHA256, CALL_TIMEOUT);
			if (!reply.isSuccessful()) throw S3Error.of(reply).toException(config, "Could not list " + config.location());
			Optional<Document> xml = S3Xml.parse(reply.body());
			if (!xml.isPresent()) {
				throw new EditException(ErrorKind.STAGING, "Could not list " + config.location() +
					": the bucket service answered something that is not an S3 listing. Check " + BucketConfig.ENDPOINT_S3 + ".");
			}
			Element result = xml.get().getDocumentElement();
			for (Element contents : S3Xml.children(result, "Contents")) {
				objects.add(listed(contents));
			}
			token = S3Xml.text(result, "NextContinuationToken");
			boolean more = Boolean.parseBoolean(S3Xml.text(result, "IsTruncated"));
			// A service that repeats or omits its token would otherwise have us loop forever.
			if (!more || token.isEmpty() || !tokensSeen.add(token)) break;
		}
		return Collections.unmodifiableList(objects);
	}

	private BucketObject listed(Element contents) throws EditException {
		String key = S3Xml.text(contents, "Key");
		try {
			String size = S3Xml.text(contents, "Size");
			return new BucketObject(key, Instant.parse(S3Xml.text(contents, "LastModified")),
				size.isEmpty() ? 0 : Long.parseLong(size));
		}
		catch (DateTimeParseException | NumberFormatException e) {
			throw new EditException(ErrorKind.STAGING, "Could not list " + config.location() +
				": the bucket service gave an unreadable date or size for " + key + ".", e);
		}
	}

	/**
	 * Checks the whole route a staged image takes: uploads a tiny object, fetches it back through a
	 * presigned link without credentials (as a provider would), compares the bytes, and deletes it.
	 *
	 * @return a sentence saying that the bucket works
	 * @throws EditException with a sentence saying which step failed and what to change
	 */
	public String selfCheck() throws EditException {
		String key = config.keyFor(UUID.randomUUID() + ".txt");
		byte[] probe = ("Qwen Image Edit bucket check " + key).getBytes(StandardCharsets.UTF_8);
		put(key, probe, "text/plain");
		EditException failure = null;
		try {
			Request get = new Request.Builder().url(presignGet(key, Duration.ofMinutes(1))).get().build();
			HttpReply reply = http().send(get, CallKind.IDEMPOTENT, CALL_TIMEOUT, serviceName());
			if (!reply.isSuccessful()) {
				throw new EditException(ErrorKind.STAGING, "The bucket " + config.location() + " accepted an upload, but " +
					"reading it back through a presigned link failed (" + S3Error.of(reply).summary() + "). Check " +
					BucketConfig.REGION + " and " + BucketConfig.ADDRESSING + " (path or virtual).");
			}
			if (!Arrays.equals(reply.body(), probe)) {
				throw new EditException(ErrorKind.STAGING, "The bucket " + config.location() + " returned other bytes " +
					"through a presigned link than were uploaded. Check " + BucketConfig.ENDPOINT_S3 + ".");
			}
		}
		catch (EditException e) {
			failure = e;
			throw e;
		}
		finally {
			try {
				delete(key);
			}
			catch (EditException e) {
				if (failure == null) throw e;
				failure.addSuppressed(e);
			}
		}
		return "The bucket " + config.location() + " works: a test object was uploaded, read back through a " +
			"presigned link and deleted.";
	}

	private HttpReply send(String method, HttpUrl url, Map<String, String> headers, RequestBody body,
		String payloadSha256, Duration callTimeout) throws EditException
	{
		Request.Builder request = new Request.Builder().url(url).method(method, body);
		headers.forEach(request::header);
		// Signed once: the attempts Http makes take seconds, well inside S3's 15 minutes of tolerance.
		signer.authorizationHeaders(method, url, headers, payloadSha256, clock.instant()).forEach(request::header);
		try {
			return http().send(request.build(), CallKind.IDEMPOTENT, callTimeout, serviceName());
		}
		catch (EditException e) {
			if (deadline == null && e.kind() == ErrorKind.TIMED_OUT) {
				throw new EditException(ErrorKind.NETWORK, "The bucket endpoint " + config.endpoint().host() +
					" did not answer within " + OPERATION_LIMIT.toMinutes() + " minutes. Check the network connection and " +
					BucketConfig.ENDPOINT_S3 + ".", e);
			}
			throw e;
		}
	}

	private Http http() {
		return new Http(retry, cancellation != null ? cancellation : new Cancellation(),
			deadline != null ? deadline : Deadline.after(OPERATION_LIMIT), config.plainHttpHosts());
	}

	private String serviceName() {
		return "the bucket endpoint " + SigV4Signer.hostHeader(config.bucketUrl());
	}

	@Override
	public String toString() {
		return "S3Bucket{" + config + "}";
	}
}
