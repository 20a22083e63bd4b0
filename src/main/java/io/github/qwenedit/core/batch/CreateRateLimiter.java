package io.github.qwenedit.core.batch;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.EditException;

/**
 * At most so many new jobs in any window of time (a sliding window, as providers count): a batch
 * asks before each create and waits its turn instead of being refused with 429. The window is kept
 * a twentieth longer than the provider's, since a create granted here reaches the provider a moment
 * later and an earlier one may have travelled slower.
 */
public final class CreateRateLimiter {

	private final int perWindow;
	private final Duration window;
	private final Deque<Long> granted = new ArrayDeque<>();

	CreateRateLimiter(int perWindow, Duration window) {
		if (perWindow < 1) throw new IllegalArgumentException("perWindow must be at least 1");
		this.perWindow = perWindow;
		this.window = window.plus(window.dividedBy(20));
	}

	public static CreateRateLimiter perMinute(int creates) {
		return new CreateRateLimiter(creates, Duration.ofMinutes(1));
	}

	/** Waits until one more create fits in the window; a cancel ends the wait with an exception. */
	public void acquire(Cancellation cancellation) throws EditException {
		while (true) {
			cancellation.throwIfCancelled();
			long wait;
			synchronized (granted) {
				long now = System.nanoTime();
				while (!granted.isEmpty() && now - granted.peekFirst() >= window.toNanos()) {
					granted.removeFirst();
				}
				if (granted.size() < perWindow) {
					granted.addLast(now);
					return;
				}
				wait = granted.peekFirst() + window.toNanos() - now;
			}
			cancellation.sleep(Duration.ofNanos(Math.max(wait, 1_000_000)));
		}
	}
}
