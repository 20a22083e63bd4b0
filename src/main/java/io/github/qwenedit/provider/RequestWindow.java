package io.github.qwenedit.provider;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.EditException;

/**
 * At most so many requests in any window of time (a sliding window, as providers count): a batch
 * asks before each create, and a provider that counts every request against its limit before each
 * call, and waits its turn instead of being refused with 429. The window is kept a twentieth longer
 * than the provider's, since a request granted here reaches the provider a moment later and an
 * earlier one may have travelled slower.
 */
public final class RequestWindow {

	/** The windows of keys that count every request, one per service address and key, for the whole program. */
	private static final Map<String, RequestWindow> SHARED = new ConcurrentHashMap<>();

	private final int perWindow;
	private final Duration window;
	private final Deque<Long> granted = new ArrayDeque<>();

	public RequestWindow(int perWindow, Duration window) {
		if (perWindow < 1) throw new IllegalArgumentException("perWindow must be at least 1");
		this.perWindow = perWindow;
		this.window = window.plus(window.dividedBy(20));
	}

	public static RequestWindow perMinute(int requests) {
		return new RequestWindow(requests, Duration.ofMinutes(1));
	}

	/**
	 * The one window of {@code scope} (such as a service address and key) in this program, made as
	 * {@code perMinute} requests a minute the first time it is asked for: every edit and batch using
	 * that key shares it.
	 */
	public static RequestWindow shared(String scope, int perMinute) {
		return SHARED.computeIfAbsent(scope, s -> perMinute(perMinute));
	}

	/** Sets the window of {@code scope} in advance, for a service whose limit is counted over a shorter time. */
	public static void share(String scope, RequestWindow window) {
		SHARED.put(scope, window);
	}

	/** Waits until one more request fits in the window; a cancel ends the wait with an exception. */
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
