package io.github.qwenedit.core;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A cancel button that the pipeline can watch. Calls in flight register a hook so that a cancel
 * aborts them at once instead of waiting for their time-out.
 */
public final class Cancellation {

	private static final ScheduledExecutorService LATER = Executors.newSingleThreadScheduledExecutor(r -> {
		Thread t = new Thread(r, "Qwen Image Edit: cancel after a grace period");
		t.setDaemon(true);
		return t;
	});

	private volatile boolean cancelled;
	private final List<Runnable> hooks = new CopyOnWriteArrayList<>();

	public void cancel() {
		synchronized (this) {
			cancelled = true;
			notifyAll();
		}
		for (Runnable hook : hooks) {
			hook.run();
		}
	}

	/** Waits for {@code duration}, or less if cancelled meanwhile (then throws). */
	public void sleep(java.time.Duration duration) throws EditException {
		sleep(duration, Ticker.SYSTEM);
	}

	/** As {@link #sleep(java.time.Duration)}, in {@code ticker}'s time. */
	public void sleep(java.time.Duration duration, Ticker ticker) throws EditException {
		long end = ticker.nanoTime() + duration.toNanos();
		synchronized (this) {
			while (!cancelled) {
				long left = end - ticker.nanoTime();
				if (left <= 0) return;
				try {
					ticker.timedWait(this, left);
				}
				catch (InterruptedException e) {
					Thread.currentThread().interrupt();
					cancelled = true;
				}
			}
		}
		throw cancelledException();
	}

	public boolean isCancelled() {
		return cancelled;
	}

	/**
	 * Runs {@code hook} when cancelled (at once if already cancelled) until the returned handle is
	 * closed.
	 */
	public Registration onCancel(Runnable hook) {
		hooks.add(hook);
		if (cancelled) hook.run();
		return () -> hooks.remove(hook);
	}

	/**
	 * A cancellation that follows this one {@code grace} later, for a call whose answer is worth a
	 * short wait after a cancel. Close the registration once the call is over; a cancel already on
	 * its way to the follower still arrives, and does no harm then.
	 */
	public Registration passOnAfter(Cancellation follower, Duration grace) {
		return onCancel(() -> LATER.schedule(follower::cancel, grace.toMillis(), TimeUnit.MILLISECONDS));
	}

	public void throwIfCancelled() throws EditException {
		if (cancelled) throw cancelledException();
	}

	public static EditException cancelledException() {
		return new EditException(ErrorKind.CANCELLED, "The edit was cancelled.");
	}

	/** Ends a registration made with {@link #onCancel(Runnable)}. */
	@FunctionalInterface
	public interface Registration extends AutoCloseable {
		@Override
		void close();
	}
}
