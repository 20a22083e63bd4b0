package io.github.qwenedit.http;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

import okhttp3.Headers;

/** A finished HTTP exchange whose (small, JSON) body has been read in full. */
public final class HttpReply {

	private final int code;
	private final Headers headers;
	private final byte[] body;

	public HttpReply(int code, Headers headers, byte[] body) {
		this.code = code;
		this.headers = headers;
		this.body = body;
	}

	public int code() {
		return code;
	}

	public boolean isSuccessful() {
		return code >= 200 && code < 300;
	}

	public Headers headers() {
		return headers;
	}

	public String header(String name) {
		return headers.get(name);
	}

	public byte[] body() {
		return body;
	}

	public String bodyText() {
		return new String(body, StandardCharsets.UTF_8);
	}

	/** The {@code Retry-After} header as a duration, when present and readable. */
	public Optional<Duration> retryAfter() {
		return RetryPolicy.parseRetryAfter(header("Retry-After"));
	}
}
