package io.github.qwenedit.provider;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
	/** The places taken in the window, each since when it counts; few (a provider's limit), so a list. */
	private final List<Place> taken = new ArrayList<>();

	/** One request's place in the window. */
	public final class Place {
		private long sinceNanos;

		private Place(long sinceNanos) {
			this.sinceNanos = sinceNanos;
		}

		/**
		 * The request goes out now, some time after its place was granted (a journal entry written to
		 * disk in between, say): the place counts from now, so that the wait before it does not shorten
		 * the provider's window.
		 */
		public void sendingNow() {
			synchronized (taken) {
				sinceNanos = Math.max(sinceNanos, System.nanoTime());
			}
		}
	}

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

	/**
	 * Waits until one more request fits in the window, and takes its place; a cancel ends the wait
	 * with an exception.
	 */
	public Place acquire(Cancellation cancellation) throws EditException {
		while (true) {
			cancellation.throwIfCancelled();
			long wait;
			synchronized (taken) {
				long now = System.nanoTime();
				taken.removeIf(place -> now - place.sinceNanos >= window.toNanos());
				if (taken.size() < perWindow) {
					Place place = new Place(now);
					taken.add(place);
					return place;
				}
				long oldest = taken.stream().mapToLong(place -> place.sinceNanos).min().getAsLong();
				wait = oldest + window.toNanos() - now;
			}
			cancellation.sleep(Duration.ofNanos(Math.max(wait, 1_000_000)));
		}
	}
}
