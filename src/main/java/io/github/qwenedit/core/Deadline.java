package io.github.qwenedit.core;

import java.time.Duration;

/** The overall time an edit may take, from submit to the last download. */
public final class Deadline {

	private final Ticker ticker;
	private final long endNanos;
	private final Duration total;

	private Deadline(Duration total, Ticker ticker) {
		this.ticker = ticker;
		this.total = total;
		this.endNanos = ticker.nanoTime() + total.toNanos();
	}

	public static Deadline after(Duration total) {
		return new Deadline(total, Ticker.SYSTEM);
	}

	/** A deadline in {@code ticker}'s time, which the waits within the edit follow too. */
	public static Deadline after(Duration total, Ticker ticker) {
		return new Deadline(total, ticker);
	}

	/** The time this deadline is measured in, for whatever waits within the edit. */
	public Ticker ticker() {
		return ticker;
	}

	public Duration remaining() {
		long left = endNanos - ticker.nanoTime();
		return left <= 0 ? Duration.ZERO : Duration.ofNanos(left);
	}

	public boolean expired() {
		return endNanos - ticker.nanoTime() <= 0;
	}

	public Duration total() {
		return total;
	}

	public void throwIfExpired() throws EditException {
		if (expired()) throw timedOut();
	}

	public EditException timedOut() {
		return new EditException(ErrorKind.TIMED_OUT, "The edit did not finish within " + describe(total) +
			". Try again later, or raise the deadline in Plugins > Qwen Image Edit > Settings.");
	}

	/** "90 seconds", "10 minutes": for messages. */
	public static String describe(Duration d) {
		long s = d.getSeconds();
		if (s < 1) return "less than a second";
		if (s == 1) return "1 second";
		if (s >= 120 && s % 60 == 0) return (s / 60) + " minutes";
		return s + " seconds";
	}
}
