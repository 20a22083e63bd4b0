package io.github.qwenedit.provider;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.Ticker;

/**
 * What the jobs of each kind at a provider tell each other about when they end, learned while the
 * program runs ({@link JobPoller} plans its looks with it). Each {@link ProviderDescriptor} holds
 * one, so that what one provider's jobs teach never holds back another's; a test that must start
 * from nothing learned makes its own.
 */
public final class JobTimings {

	/** Kinds are service address, model and number of outputs, so the map stays small. */
	private final Map<String, Kind> kinds = new ConcurrentHashMap<>();

	/** The jobs of {@code kind} on the service at {@code serviceAddress}. */
	Kind of(String serviceAddress, String kind) {
		return kinds.computeIfAbsent(serviceAddress + "|" + kind, k -> new Kind());
	}

	/**
	 * When the successful jobs of a kind end, as far as the looks at them tell: after the last look
	 * that found one running and by the look that found it done. The next job of that kind is
	 * looked at within that span, more closely each time, so the wait beyond completion shrinks
	 * without more status requests. Jobs of a kind running side by side, as in a batch, look at
	 * staggered moments, and when one of them is found done the others that have run as long look at
	 * once: a batch's jobs, submitted together, are seen done together instead of at the next
	 * half-second.
	 */
	static final class Kind {
		private Span lastEnd;
		private int running;
		private long ends;

		synchronized Span lastEnd() {
			return lastEnd;
		}

		/** Counts a job in; the number of others running is its place in the stagger. */
		synchronized int started() {
			return running++;
		}

		synchronized void stopped() {
			running--;
		}

		/**
		 * Jobs that ended alike narrow the span down together; one that does not fit the span (the
		 * kind got slower or quicker) starts it anew.
		 */
		synchronized void ended(Span span) {
			lastEnd = lastEnd == null ? span : lastEnd.with(span);
			ends++;
			notifyAll();
		}

		private synchronized void wake() {
			notifyAll();
		}

		/** Sleeps for {@code duration}, or less; true when another job of the kind ended meanwhile. */
		boolean sleepUnlessAnotherEnds(Duration duration, Cancellation cancellation, Ticker ticker)
			throws EditException
		{
			long end = ticker.nanoTime() + duration.toNanos();
			try (Cancellation.Registration woken = cancellation.onCancel(this::wake)) {
				synchronized (this) {
					long seen = ends;
					while (ends == seen) {
						cancellation.throwIfCancelled();
						long left = end - ticker.nanoTime();
						if (left <= 0) return false;
						ticker.timedWait(this, left);
					}
				}
			}
			catch (InterruptedException e) {
				Thread.currentThread().interrupt();
				cancellation.cancel();
			}
			cancellation.throwIfCancelled();
			return true;
		}
	}

	/** Between these times after submit the job ended. */
	static final class Span {
		final Duration after;
		final Duration by;
		/** False when no look found the job running, so {@link #after} is a guess. */
		final boolean afterSeen;

		Span(Duration after, Duration by, boolean afterSeen) {
			this.after = after;
			this.by = by;
			this.afterSeen = afterSeen;
		}

		Duration width() {
			return by.minus(after);
		}

		/**
		 * What this span and a later job's say together. A guessed start does not narrow anything, so
		 * a kind that got quicker is followed down.
		 */
		Span with(Span later) {
			if (!later.afterSeen) return later;
			Duration start = after.compareTo(later.after) >= 0 ? after : later.after;
			Duration end = by.compareTo(later.by) <= 0 ? by : later.by;
			return start.compareTo(end) < 0 ? new Span(start, end, true) : later;
		}
	}

}
