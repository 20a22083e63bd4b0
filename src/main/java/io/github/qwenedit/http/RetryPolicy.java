package io.github.qwenedit.http;

import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

import io.github.qwenedit.core.Deadline;

/**
 * The waits of the plugin's one retry rule, whose choice of what is tried again is made in
 * {@link Http}'s exchange core: exponential back-off with full jitter, capped, honouring the
 * server's {@code Retry-After}.
 */
public final class RetryPolicy {

	public static final RetryPolicy DEFAULT = new RetryPolicy(4, Duration.ofMillis(500), Duration.ofSeconds(8));

	private final int maxAttempts;
	private final Duration base;
	private final Duration cap;

	public RetryPolicy(int maxAttempts, Duration base, Duration cap) {
		this.maxAttempts = maxAttempts;
		this.base = base;
		this.cap = cap;
	}

	public int maxAttempts() {
		return maxAttempts;
	}

	/**
	 * How long to wait before attempt {@code attempt + 1} (attempt counts from 1): the server's
	 * {@code Retry-After} when given, else a random time up to base × 2^(attempt-1), capped.
	 */
	public Duration delayAfter(int attempt, Optional<Duration> retryAfter) {
		if (retryAfter.isPresent()) return retryAfter.get();
		long ceiling = Math.min(cap.toMillis(), base.toMillis() << Math.min(attempt - 1, 20));
		long half = ceiling / 2;
		return Duration.ofMillis(half + ThreadLocalRandom.current().nextLong(half + 1));
	}

	/**
	 * The bounds a provider's {@code Retry-After} is held to: a negative, zero or past value would
	 * turn retries into a tight loop, and a huge one ("Infinity", a date a year ahead) would outlast
	 * any deadline, whose checks then decide.
	 */
	public static final Duration SHORTEST_RETRY_AFTER = Duration.ofSeconds(1);
	public static final Duration LONGEST_RETRY_AFTER = Duration.ofHours(1);

	/** Reads {@code Retry-After} as seconds or as an HTTP date, held within the bounds above. */
	public static Optional<Duration> parseRetryAfter(String value) {
		if (value == null || value.isBlank()) return Optional.empty();
		String v = value.trim();
		try {
			double seconds = Double.parseDouble(v);
			if (Double.isNaN(seconds)) return Optional.empty();
			if (seconds >= LONGEST_RETRY_AFTER.getSeconds()) return Optional.of(LONGEST_RETRY_AFTER);
			return Optional.of(bounded(Duration.ofMillis((long) (Math.max(0, seconds) * 1000))));
		}
		catch (NumberFormatException notSeconds) {
			try {
				ZonedDateTime when = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
				ZonedDateTime now = ZonedDateTime.now(when.getZone());
				if (when.isAfter(now.plus(LONGEST_RETRY_AFTER))) return Optional.of(LONGEST_RETRY_AFTER);
				return Optional.of(bounded(Duration.between(now, when)));
			}
			catch (DateTimeParseException notDate) {
				return Optional.empty();
			}
		}
	}

	/** A wait a provider asked for, for a sentence: "an hour or more" at the bound, "90 seconds" below it. */
	public static String describeWait(Duration wait) {
		return wait.compareTo(LONGEST_RETRY_AFTER) >= 0 ? "an hour or more" : Deadline.describe(wait);
	}

	private static Duration bounded(Duration d) {
		if (d.compareTo(SHORTEST_RETRY_AFTER) < 0) return SHORTEST_RETRY_AFTER;
		return d.compareTo(LONGEST_RETRY_AFTER) > 0 ? LONGEST_RETRY_AFTER : d;
	}
}
