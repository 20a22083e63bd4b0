package io.github.qwenedit.staging;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import io.github.qwenedit.core.Hashing;
import okhttp3.HttpUrl;

/**
 * AWS Signature Version 4 for S3, written from the S3 API reference ("Authenticating Requests (AWS
 * Signature Version 4)"), so the plugin needs no SDK. Signs either in the {@code Authorization}
 * header or in the query string (presigned links). The time is always an argument, so that AWS's
 * published examples can be reproduced.
 */
public final class SigV4Signer {

	public static final String ALGORITHM = "AWS4-HMAC-SHA256";
	/** Presigned links are fetched by someone else, whose body we cannot hash. */
	public static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
	public static final String EMPTY_PAYLOAD_SHA256 = Hashing.sha256Hex(new byte[0]);
	/** The S3 specification's ceiling on {@code X-Amz-Expires}: seven days. */
	public static final Duration MAX_PRESIGNED_LIFETIME = Duration.ofDays(7);

	private static final String SERVICE = "s3";
	private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT)
		.withZone(ZoneOffset.UTC);
	private static final DateTimeFormatter DATE_STAMP = DateTimeFormatter.ofPattern("yyyyMMdd", Locale.ROOT)
		.withZone(ZoneOffset.UTC);

	private final String accessKeyId;
	private final String secretAccessKey;
	private final String sessionToken;
	private final String region;

	public SigV4Signer(String accessKeyId, String secretAccessKey, Optional<String> sessionToken, String region) {
		this.accessKeyId = Objects.requireNonNull(accessKeyId, "accessKeyId");
		this.secretAccessKey = Objects.requireNonNull(secretAccessKey, "secretAccessKey");
		this.sessionToken = sessionToken.orElse(null);
		this.region = Objects.requireNonNull(region, "region");
	}

	/**
	 * The headers to add to a request so that S3 accepts it: {@code x-amz-content-sha256},
	 * {@code x-amz-date}, {@code x-amz-security-token} when a session token is set, and
	 * {@code Authorization}. {@code headers} are the request's other headers that are to be signed
	 * (the host is taken from the URL); the caller sends them unchanged.
	 */
	public Map<String, String> authorizationHeaders(String method, HttpUrl url, Map<String, String> headers,
		String payloadSha256, Instant now)
	{
		Signed signed = signHeaders(method, url, headers, payloadSha256, now);
		Map<String, String> added = new LinkedHashMap<>();
		added.put("x-amz-content-sha256", payloadSha256);
		added.put("x-amz-date", AMZ_DATE.format(now));
		if (sessionToken != null) added.put("x-amz-security-token", sessionToken);
		added.put("Authorization", ALGORITHM + " Credential=" + accessKeyId + "/" + scope(now) + ",SignedHeaders=" +
			signed.signedHeaders + ",Signature=" + signed.signature);
		return Collections.unmodifiableMap(added);
	}

	/**
	 * A link that lets anyone who holds it make this one request until {@code lifetime} after
	 * {@code now}: the signature travels in the query string and only the host header is signed.
	 */
	public String presignedUrl(String method, HttpUrl url, Duration lifetime, Instant now) {
		Signed signed = signQuery(method, url, lifetime, now);
		return url.scheme() + "://" + hostHeader(url) + signed.canonicalUri + "?" + signed.canonicalQuery +
			"&X-Amz-Signature=" + signed.signature;
	}

	/** The pieces of a header signature, exposed so tests can compare each step with AWS's examples. */
	Signed signHeaders(String method, HttpUrl url, Map<String, String> headers, String payloadSha256, Instant now) {
		TreeMap<String, String> canonicalHeaders = new TreeMap<>();
		for (Map.Entry<String, String> header : headers.entrySet()) {
			canonicalHeaders.put(header.getKey().toLowerCase(Locale.ROOT), trimAll(header.getValue()));
		}
		canonicalHeaders.put("host", hostHeader(url));
		canonicalHeaders.put("x-amz-content-sha256", payloadSha256);
		canonicalHeaders.put("x-amz-date", AMZ_DATE.format(now));
		if (sessionToken != null) canonicalHeaders.put("x-amz-security-token", sessionToken);
		return sign(method, url, canonicalQuery(queryOf(url)), canonicalHeaders, payloadSha256, now);
	}

	Signed signQuery(String method, HttpUrl url, Duration lifetime, Instant now) {
		if (lifetime.getSeconds() < 1 || lifetime.compareTo(MAX_PRESIGNED_LIFETIME) > 0) {
			throw new IllegalArgumentException("A presigned link lives between 1 second and 7 days, not " + lifetime);
		}
		List<String[]> query = queryOf(url);
		query.add(new String[] { "X-Amz-Algorithm", ALGORITHM });
		query.add(new String[] { "X-Amz-Credential", accessKeyId + "/" + scope(now) });
		query.add(new String[] { "X-Amz-Date", AMZ_DATE.format(now) });
		query.add(new String[] { "X-Amz-Expires", Long.toString(lifetime.getSeconds()) });
		if (sessionToken != null) query.add(new String[] { "X-Amz-Security-Token", sessionToken });
		query.add(new String[] { "X-Amz-SignedHeaders", "host" });
		TreeMap<String, String> canonicalHeaders = new TreeMap<>();
		canonicalHeaders.put("host", hostHeader(url));
		return sign(method, url, canonicalQuery(query), canonicalHeaders, UNSIGNED_PAYLOAD, now);
	}

	private Signed sign(String method, HttpUrl url, String canonicalQuery, TreeMap<String, String> canonicalHeaders,
		String payloadSha256, Instant now)
	{
		String canonicalUri = canonicalUri(url);
		StringBuilder headerBlock = new StringBuilder();
		for (Map.Entry<String, String> header : canonicalHeaders.entrySet()) {
			headerBlock.append(header.getKey()).append(':').append(header.getValue()).append('\n');
		}
		String signedHeaders = String.join(";", canonicalHeaders.keySet());
		String canonicalRequest = method + "\n" + canonicalUri + "\n" + canonicalQuery + "\n" + headerBlock + "\n" +
			signedHeaders + "\n" + payloadSha256;
		String stringToSign = ALGORITHM + "\n" + AMZ_DATE.format(now) + "\n" + scope(now) + "\n" +
			Hashing.sha256Hex(canonicalRequest.getBytes(StandardCharsets.UTF_8));
		String signature = Hashing.hex(hmac(signingKey(now), stringToSign));
		return new Signed(canonicalUri, canonicalQuery, canonicalRequest, stringToSign, signedHeaders, signature);
	}

	private String scope(Instant now) {
		return DATE_STAMP.format(now) + "/" + region + "/" + SERVICE + "/aws4_request";
	}

	private byte[] signingKey(Instant now) {
		byte[] dateKey = hmac(("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8), DATE_STAMP.format(now));
		byte[] regionKey = hmac(dateKey, region);
		byte[] serviceKey = hmac(regionKey, SERVICE);
		return hmac(serviceKey, "aws4_request");
	}

	private static byte[] hmac(byte[] key, String data) {
		try {
			Mac mac = Mac.getInstance("HmacSHA256");
			mac.init(new SecretKeySpec(key, "HmacSHA256"));
			return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
		}
		catch (NoSuchAlgorithmException | InvalidKeyException e) {
			throw new IllegalStateException("Every Java runtime has HmacSHA256", e);
		}
	}

	/**
	 * S3 encodes the path once (unlike other AWS services), segment by segment, keeping the slashes.
	 */
	static String canonicalUri(HttpUrl url) {
		StringBuilder path = new StringBuilder();
		for (String segment : url.pathSegments()) {
			path.append('/').append(uriEncode(segment));
		}
		return path.length() == 0 ? "/" : path.toString();
	}

	private static List<String[]> queryOf(HttpUrl url) {
		List<String[]> query = new ArrayList<>();
		for (int i = 0; i < url.querySize(); i++) {
			String value = url.queryParameterValue(i);
			query.add(new String[] { url.queryParameterName(i), value == null ? "" : value });
		}
		return query;
	}

	private static String canonicalQuery(List<String[]> parameters) {
		List<String[]> encoded = new ArrayList<>();
		for (String[] p : parameters) {
			encoded.add(new String[] { uriEncode(p[0]), uriEncode(p[1]) });
		}
		encoded.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
		StringBuilder query = new StringBuilder();
		for (String[] p : encoded) {
			if (query.length() > 0) query.append('&');
			query.append(p[0]).append('=').append(p[1]);
		}
		return query.toString();
	}

	/**
	 * AWS's URI encoding: every byte of the UTF-8 form except the unreserved characters
	 * {@code A-Z a-z 0-9 - _ . ~} as {@code %XX} with upper-case hex. Stricter than OkHttp's, so the
	 * plugin builds its URLs with it too: what is sent is then exactly what was signed.
	 */
	static String uriEncode(String text) {
		StringBuilder out = new StringBuilder();
		for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
			char c = (char) (b & 0xff);
			if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
				c == '.' || c == '~')
			{
				out.append(c);
			}
			else {
				out.append('%').append(Character.toUpperCase(Character.forDigit((c >> 4) & 0xf, 16)))
					.append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
			}
		}
		return out.toString();
	}

	/** The Host header as OkHttp sends it: the port only when it is not the scheme's default. */
	static String hostHeader(HttpUrl url) {
		String host = url.host().contains(":") ? "[" + url.host() + "]" : url.host();
		return url.port() == HttpUrl.defaultPort(url.scheme()) ? host : host + ":" + url.port();
	}

	private static String trimAll(String value) {
		return value.trim().replaceAll(" +", " ");
	}

	/** The intermediate results of one signature. */
	static final class Signed {
		final String canonicalUri;
		final String canonicalQuery;
		final String canonicalRequest;
		final String stringToSign;
		final String signedHeaders;
		final String signature;

		Signed(String canonicalUri, String canonicalQuery, String canonicalRequest, String stringToSign,
			String signedHeaders, String signature)
		{
			this.canonicalUri = canonicalUri;
			this.canonicalQuery = canonicalQuery;
			this.canonicalRequest = canonicalRequest;
			this.stringToSign = stringToSign;
			this.signedHeaders = signedHeaders;
			this.signature = signature;
		}
	}

	@Override
	public String toString() {
		return "SigV4Signer{region=" + region + (sessionToken != null ? ", with session token" : "") + "}";
	}
}
