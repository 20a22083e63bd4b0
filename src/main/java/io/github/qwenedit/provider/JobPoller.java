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
	 * Polls until the job is final: a first look soon, every half second for a minute, then less
	 * often up to a cap, or later when the provider asks ({@code Retry-After}, also on a 429 to a
	 * status request, which only slows the polling down). When the polling ends without a final
	 * state (cancel, time-out, a status that cannot be read) it asks the provider to stop the job,
	 * since its result would be lost anyway, and rethrows, saying whether the provider may still charge.
	 */
	public static JobState awaitFinal(EditProvider provider, JobState submitted, Http http, ProgressListener progress)
		throws EditException
	{
		JobState[] last = { submitted };
		try {
			return follow(provider, submitted, http, progress, null, last);
		}
		catch (EditException e) {
			JobState state = last[0];
			boolean stopped = provider.cancel(state.handle(), http.forCleanup());
			String name = provider.displayName();
			String outcome;
			if (e.kind() == ErrorKind.CANCELLED || e.kind() == ErrorKind.TIMED_OUT) {
				outcome = stopped ? name + " confirmed that the job was stopped."
					: name + " did not confirm that the job stopped, so it may still charge for it.";
			}
			else {
				outcome = "The job's result could no longer be followed, so the plugin asked " + name + " to stop it: " +
					(stopped ? name + " confirmed." : name + " did not confirm, so it may still charge for it.");
			}
			throw new EditException(e.kind(), ProviderErrors.followedBy(e.getMessage(), outcome),
				e.retryAfter().orElse(null), e);
		}
	}

	/**
	 * Looks at a job submitted earlier (by a run that stopped) at once, then as {@link #awaitFinal}
	 * does until it is final or {@code window} has passed, and returns where it stands. Unlike
	 * {@link #awaitFinal} it never stops the job: on a cancel, a time-out or an unreadable status the
	 * job runs on, so that a later look can still fetch its result.
	 */
	public static JobState lookUntil(EditProvider provider, JobHandle job, Http http, ProgressListener progress,
		Duration window) throws EditException
	{
		return follow(provider, provider.poll(job, http), http, progress, System.nanoTime() + window.toNanos(),
			new JobState[1]);
	}

	/**
	 * Polls until the job is final or {@code stopAtNanos} (when not null) has passed; {@code last}
	 * holds the latest state, for the caller to stop the job after a failure.
	 */
	private static JobState follow(EditProvider provider, JobState first, Http http, ProgressListener progress,
		Long stopAtNanos, JobState[] last) throws EditException
	{
		JobState state = first;
		last[0] = state;
		long start = System.nanoTime();
		Duration interval = FIRST_LOOK;
		Duration wait = first.pollAfter().orElse(interval);
		String slowedDown = "";
		while (!state.status().isFinal()) {
			Duration left = http.deadline().remaining();
			if (stopAtNanos != null) {
				Duration windowLeft = Duration.ofNanos(stopAtNanos - System.nanoTime());
				if (windowLeft.isNegative() || windowLeft.isZero()) return state;
				if (windowLeft.compareTo(left) < 0) left = windowLeft;
			}
			progress.progress(describe(provider, state, start) + slowedDown, -1);
			http.cancellation().sleep(wait.compareTo(left) < 0 ? wait : left);
			http.deadline().throwIfExpired();
			interval = next(interval, Duration.ofNanos(System.nanoTime() - start));
			try {
				state = provider.poll(state.handle(), http);
				last[0] = state;
				wait = state.pollAfter().orElse(interval);
				slowedDown = "";
			}
			catch (EditException e) {
				if (e.kind() != ErrorKind.RATE_LIMITED) throw e;
				// The job runs on; only its status may not be asked so often. Retry-After is a minimum:
				// "0" must not turn the polling into a tight loop.
				Duration asked = e.retryAfter().orElse(MAX_INTERVAL);
				wait = asked.compareTo(interval) > 0 ? asked : interval;
				slowedDown = ", asking less often at " + provider.displayName() + "'s request";
			}
		}
		return state;
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
