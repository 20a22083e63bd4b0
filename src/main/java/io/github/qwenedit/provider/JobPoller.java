package io.github.qwenedit.provider;

import java.time.Duration;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ProgressListener;
import io.github.qwenedit.http.Http;

/**
 * The one place that decides when a job is finished, how often to ask, and what to do on cancel or
 * time-out. Providers only translate one status answer at a time.
 */
public final class JobPoller {

	/** A first look soon after submit: many edits take only a few seconds. */
	static final Duration FIRST_LOOK = Duration.ofMillis(250);
	/**
	 * Then every half second, as the providers' own clients do by default (fal's and Replicate's
	 * JavaScript clients poll at 500 ms), while an edit is young ...
	 */
	static final Duration STEADY = Duration.ofMillis(500);
	static final Duration STEADY_FOR = Duration.ofSeconds(60);
	/** ... and less often for jobs that wait in a long queue. */
	static final Duration MAX_INTERVAL = Duration.ofSeconds(5);

	private JobPoller() {}

	/**
	 * Polls until the job is final. On cancel or time-out asks the provider to stop the job and
	 * rethrows, saying whether the provider may still charge.
	 */
	public static JobState awaitFinal(EditProvider provider, JobState submitted, Http http, ProgressListener progress)
		throws EditException
	{
		JobState state = submitted;
		long start = System.nanoTime();
		Duration interval = FIRST_LOOK;
		try {
			while (!state.status().isFinal()) {
				progress.progress(describe(provider, state, start), -1);
				Duration wait = state.pollAfter().orElse(interval);
				Duration left = http.deadline().remaining();
				http.cancellation().sleep(wait.compareTo(left) < 0 ? wait : left);
				http.deadline().throwIfExpired();
				state = provider.poll(state.handle(), http);
				interval = next(interval, Duration.ofNanos(System.nanoTime() - start));
			}
			return state;
		}
		catch (EditException e) {
			if (e.kind() != ErrorKind.CANCELLED && e.kind() != ErrorKind.TIMED_OUT) throw e;
			boolean stopped = provider.cancel(state.handle(), http.forCleanup());
			String charge = stopped ? " " + provider.displayName() + " confirmed that the job was stopped."
				: " " + provider.displayName() + " did not confirm that the job stopped, so it may still charge for it.";
			throw new EditException(e.kind(), e.getMessage() + charge, e);
		}
	}

	static Duration next(Duration interval, Duration elapsed) {
		if (elapsed.compareTo(STEADY_FOR) < 0) return STEADY;
		Duration grown = Duration.ofMillis(Math.max(interval.toMillis(), STEADY.toMillis()) * 3 / 2);
		return grown.compareTo(MAX_INTERVAL) > 0 ? MAX_INTERVAL : grown;
	}

	private static String describe(EditProvider provider, JobState state, long startNanos) {
		long seconds = (System.nanoTime() - startNanos) / 1_000_000_000L;
		if (state.status() == JobState.Status.QUEUED) {
			return provider.displayName() + ": queued" +
				state.queuePosition().map(p -> " at position " + p).orElse("") + " (" + seconds + " s)";
		}
		return provider.displayName() + ": processing (" + seconds + " s)";
	}
}
