package io.github.qwenedit.core;

import java.util.concurrent.TimeUnit;

/**
 * The time in which an edit's waits and deadline are measured. The system's for every edit; a test
 * gives its own, which moves only when something waits, so that a wait of minutes takes none and its
 * length can be asserted exactly.
 */
public interface Ticker {

	/** The system's monotonic time ({@link System#nanoTime()}) and real waits. */
	Ticker SYSTEM = new Ticker() {
		@Override
		public long nanoTime() {
			return System.nanoTime();
		}

		@Override
		public void timedWait(Object monitor, long nanos) throws InterruptedException {
			TimeUnit.NANOSECONDS.timedWait(monitor, nanos);
		}
	};

	/** Now, in nanoseconds from an arbitrary origin, never going back. */
	long nanoTime();

	/**
	 * Waits on {@code monitor}, whose lock the caller holds, for at most {@code nanos} or until it is
	 * notified; callers check their condition and the time again afterwards, as for
	 * {@link Object#wait(long)}.
	 */
	void timedWait(Object monitor, long nanos) throws InterruptedException;
}
