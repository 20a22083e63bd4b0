package io.github.qwenedit.provider;

import java.time.Duration;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.ProgressListener;
import io.github.qwenedit.core.Ticker;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.provider.JobTimings.Kind;
import io.github.qwenedit.provider.JobTimings.Span;

/**
 * The one waiter: the one place that decides when a job is finished, how often to ask, and what to
 * do on cancel or time-out. Its parts are those of the AWS SDK's waiters
 * (https://docs.aws.amazon.com/sdk-for-java/latest/developer-guide/waiters.html):
 * <ul>
 * <li>the call: {@link EditProvider#poll}, a status request, or a call that itself waits for news
 * such as fal.ai's status stream, as the provider declares for each job
 * ({@link EditProvider#observation}): the latter is made again at once;</li>
 * <li>the acceptor: {@link StatusWords}, where every provider that names its states says what each
 * word means (finished, failed, cancelled elsewhere, expired, ask again);</li>
 * <li>the delay: the provider's {@link PollSchedule}, narrowed by what earlier jobs of the kind
 * taught ({@link JobTimings}, held by the provider's descriptor), and any {@code Retry-After};</li>
 * <li>the sleeper: the deadline's {@link io.github.qwenedit.core.Ticker}, the system's time, or
 * a test's virtual time.</li>
 * </ul>
 * Retries of a single call are {@link Http}'s; a create refused with 429 is sent again by the edit
 * session; a 429 to a status request only slows the looks down here.
 */
public final class JobPoller {

	/** Jobs that wait in a long queue are asked less often, up to this interval. */
	static final Duration MAX_INTERVAL = Duration.ofSeconds(5);
	/**
	 * Status answers in a row that cannot be read (after {@link Http}'s own retries) before the job
	 * is given up on: one odd answer, a gateway's hiccup, must not end an edit that the next look
	 * would see finished.
	 */
	public static final int UNREADABLE_IN_A_ROW = 3;
	/** The steady interval holds for the first minute of a job. */
	static final Duration STEADY_FOR = Duration.ofSeconds(60);

	private JobPoller() {}

	/**
	 * As {@link #awaitFinal(EditProvider, JobState, Http, ProgressListener, String, boolean)}, learning
	 * per service address, for a job nothing keeps.
	 */
	public static JobState awaitFinal(EditProvider provider, JobState submitted, Http http, ProgressListener progress)
		throws EditException
	{
		return awaitFinal(provider, submitted, http, progress, provider.id(), false);
	}

	/**
	 * Polls until the job is final, on the provider's {@link PollSchedule}: for a kind of job not seen
	 * before, a first look soon, the steady interval for a minute, then less often up to a cap; for a
	 * kind seen before, a few close looks within the span in which the last such job ended. A provider
	 * may ask for later ({@code Retry-After}, also on a 429 to a status request, which only slows the
	 * polling down). On a cancel or the deadline it asks the provider to stop the job, since nobody
	 * waits for its result any more, and rethrows, saying whether the provider may still charge. A
	 * status that cannot be read {@value #UNREADABLE_IN_A_ROW} times in a row (a 5xx, a broken
	 * connection, an odd answer, each after {@link Http}'s own retries) says nothing about the job, which most likely runs on and will be charged: when
	 * something keeps the job (a journal), it is left running for a later run or a recovery to fetch;
	 * when nothing does, its result would be lost, so it is stopped as on a cancel.
	 *
	 * @param kind what makes jobs take alike long, such as model and number of outputs (the service address is added)
	 * @param jobIsKept whether the job's handle outlives this program, so that its result can be fetched later
	 */
	public static JobState awaitFinal(EditProvider provider, JobState submitted, Http http, ProgressListener progress,
		String kind, boolean jobIsKept) throws EditException
	{
		JobState[] last = { submitted };
		try {
			return follow(provider, submitted, http, progress, kind, null, last);
		}
		catch (EditException e) {
			JobHandle job = last[0].handle();
			String name = provider.displayName();
			boolean unreadable = e.kind() != ErrorKind.CANCELLED && e.kind() != ErrorKind.TIMED_OUT;
			if (unreadable && jobIsKept) {
				throw new EditException(e.kind(), EditException.followedBy(e.getMessage(), "The job was left running at " +
					name + ", and its result can still be fetched later."), e.retryAfter().orElse(null), e)
						.leaving(EditException.Charge.RUNNING_JOB, job, java.util.List.of());
			}
			boolean cancelAccepted = provider.cancel(job, http.forCleanup());
			boolean finished = cancelAccepted && finishedFirst(provider, job, http);
			boolean stopped = cancelAccepted && !finished;
			String runsOn = provider.chargesForJobs() ? "so it may still charge for it." : "so it may still run there.";
			String outcome;
			if (finished) {
				outcome = name + " had finished the job just before it was asked to stop it" +
					(provider.chargesForJobs() ? ", so it is paid for." : ".");
			}
			else if (!unreadable) {
				outcome = stopped ? name + " confirmed that the job was stopped."
					: name + " did not confirm that the job stopped, " + runsOn;
			}
			else {
				outcome = "The job's result could no longer be followed, so the plugin asked " + name + " to stop it: " +
					(stopped ? name + " confirmed." : name + " did not confirm, " + runsOn);
			}
			// A job not confirmed stopped may finish and be charged: its handle goes with the failure, so
			// that the journal keeps it for a later run or a recovery to fetch what was paid for.
			throw new EditException(e.kind(), EditException.followedBy(e.getMessage(), outcome),
				e.retryAfter().orElse(null), e).leaving(stopped ? EditException.Charge.NONE
					: EditException.Charge.RUNNING_JOB, job, java.util.List.of());
		}
	}

	/**
	 * Whether a job whose cancel was accepted had in fact finished before it: a cancel that arrives
	 * after the end is answered as gladly (Replicate answers 200 with the prediction, still
	 * "succeeded"), and such a job is paid for, with a result to fetch. One look tells; a look that
	 * cannot be made is taken for "finished", since that keeps the job in the journal rather than
	 * forgetting a result that may be there.
	 */
	private static boolean finishedFirst(EditProvider provider, JobHandle job, Http http) {
		try {
			return provider.poll(job, http.forCleanup()).status() == JobState.Status.SUCCEEDED;
		}
		catch (EditException | RuntimeException unknown) {
			return true;
		}
	}

	/**
	 * Looks at a job submitted earlier (by a run that stopped) at once, then as {@link #awaitFinal}
	 * does until it is final or {@code window} has passed, and returns where it stands. Unlike
	 * {@link #awaitFinal} it never stops the job: on a cancel, a time-out or an unreadable status the
	 * job runs on, so that a later look can still fetch its result. Nothing is learned from it, since
	 * when it was submitted is not known.
	 */
	public static JobState lookUntil(EditProvider provider, JobHandle job, Http http, ProgressListener progress,
		Duration window) throws EditException
	{
		JobState first;
		EditException limited = null;
		try {
			first = provider.poll(job, http);
		}
		catch (EditException e) {
			if (e.kind() != ErrorKind.RATE_LIMITED) throw e;
			// Waited out like a 429 to any later look, within the window.
			limited = e;
			first = JobState.queued(job, null).withPollAfter(e.retryAfter().orElse(MAX_INTERVAL));
		}
		JobState state = follow(provider, first, http, progress, null, http.deadline().ticker().nanoTime() + window.toNanos(),
			new JobState[1]);
		// No look was answered within the window: the job's state is unknown, which is not "still running".
		if (state == first && limited != null) throw limited;
		return state;
	}

	/**
	 * Polls until the job is final or {@code stopAtNanos} (when not null) has passed; {@code last}
	 * holds the latest state, for the caller to stop the job after a failure. A {@code kind} of null
	 * neither uses nor updates what was learned of earlier jobs.
	 */
	private static JobState follow(EditProvider provider, JobState first, Http http, ProgressListener progress,
		String kind, Long stopAtNanos, JobState[] last) throws EditException
	{
		Kind alike = kind == null ? null : provider.descriptor().jobTimings().of(provider.serviceAddress(), kind);
		if (alike == null) return follow(provider, first, http, progress, null, 0, stopAtNanos, last);
		int place = alike.started();
		try {
			return follow(provider, first, http, progress, alike, place, stopAtNanos, last);
		}
		finally {
			alike.stopped();
		}
	}

	/** As above, for the {@code place}-th job of {@code alike} running side by side (0 when alone). */
	private static JobState follow(EditProvider provider, JobState first, Http http, ProgressListener progress,
		Kind alike, int place, Long stopAtNanos, JobState[] last) throws EditException
	{
		PollSchedule schedule = provider.pollSchedule();
		Ticker ticker = http.deadline().ticker();
		Span expected = alike == null ? null : alike.lastEnd();
		JobState state = first;
		last[0] = state;
		long start = ticker.nanoTime();
		Duration interval = schedule.firstLook();
		Plan plan = new Plan(schedule, expected);
		Duration wait = first.pollAfter().orElse(streamed(provider, first) ? Duration.ZERO : expected == null
			? staggeredFirstLook(schedule, place) : min(plan.firstWait, longestGap(schedule, expected)));
		Duration lastUnfinished = null;
		Duration seenDone = null;
		Duration lastLook = Duration.ZERO;
		int closeLooksLeft = expected == null ? 0 : schedule.closeLooks();
		int looksOnOthersEndLeft = alike == null ? 0 : schedule.closeLooks();
		String slowedDown = "";
		int unreadableInARow = 0;
		// A wait the provider asked for (a 429's Retry-After) is not cut short by a last look at the end
		// of a window.
		boolean waitAsked = first.pollAfter().isPresent();
		while (!state.status().isFinal()) {
			Duration left = http.deadline().remaining();
			if (stopAtNanos != null) {
				Duration windowLeft = Duration.ofNanos(stopAtNanos - ticker.nanoTime());
				if (windowLeft.isNegative() || windowLeft.isZero()) return state;
				if (waitAsked && wait.compareTo(windowLeft) >= 0) return state;
				if (windowLeft.compareTo(left) < 0) left = windowLeft;
			}
			progress.progress(describe(provider, state, Duration.ofNanos(ticker.nanoTime() - start)) + slowedDown, fraction(state));
			Duration sleep = wait.compareTo(left) < 0 ? wait : left;
			if (looksOnOthersEndLeft > 0 && alike.sleepUnlessAnotherEnds(sleep, http.cancellation(), ticker)) {
				// Another job of the kind ended: look around the time it took from now on.
				Span learned = alike.lastEnd();
				if (learned != expected) {
					expected = learned;
					plan = new Plan(schedule, expected);
					closeLooksLeft = schedule.closeLooks();
				}
				Duration elapsed = Duration.ofNanos(ticker.nanoTime() - start);
				if (elapsed.compareTo(plan.firstWait) < 0) {
					wait = min(plan.firstWait.minus(elapsed), longestGap(schedule, expected));
					continue;
				}
				Duration sinceLook = elapsed.minus(lastLook);
				if (sinceLook.compareTo(plan.closeStep) < 0) {
					// Just looked: several ending at once must not make it ask again and again.
					wait = plan.closeStep.minus(sinceLook);
					continue;
				}
				looksOnOthersEndLeft--;
			}
			else if (looksOnOthersEndLeft == 0) {
				http.cancellation().sleep(sleep, ticker);
			}
			http.deadline().throwIfExpired();
			Duration elapsed = Duration.ofNanos(ticker.nanoTime() - start);
			lastLook = elapsed;
			interval = next(schedule, interval, elapsed);
			try {
				state = provider.poll(state.handle(), http);
				last[0] = state;
				if (state.status().isFinal()) seenDone = elapsed;
				else lastUnfinished = elapsed;
				Duration untilExpected = expected == null ? Duration.ZERO : plan.firstWait.minus(elapsed);
				Duration next = interval;
				if (untilExpected.compareTo(plan.closeStep) > 0) {
					next = min(untilExpected, longestGap(schedule, expected));
				}
				else if (closeLooksLeft > 0) {
					closeLooksLeft--;
					next = plan.closeStep;
				}
				wait = state.pollAfter().orElse(streamed(provider, state) ? Duration.ZERO : next);
				waitAsked = state.pollAfter().isPresent();
				slowedDown = "";
				unreadableInARow = 0;
			}
			catch (EditException e) {
				boolean unreadable = e.kind() == ErrorKind.PROVIDER_FAILURE || e.kind() == ErrorKind.NETWORK;
				if (unreadable && ++unreadableInARow < UNREADABLE_IN_A_ROW) {
					wait = interval;
					waitAsked = false;
					slowedDown = ", asking again: the last status answer could not be read";
					continue;
				}
				if (e.kind() != ErrorKind.RATE_LIMITED) throw e;
				// The job runs on; only its status may not be asked so often. Retry-After is a minimum:
				// "0" must not turn the polling into a tight loop.
				Duration asked = e.retryAfter().orElse(MAX_INTERVAL);
				Duration deadlineLeft = http.deadline().remaining();
				if (stopAtNanos == null && asked.compareTo(deadlineLeft) >= 0) {
					// Waiting it out would end in a time-out that says nothing true of the job, which most
					// likely runs on (or has ended): said as it is, so that a kept job is left to a later look.
					throw new EditException(ErrorKind.RATE_LIMITED, provider.displayName() + " asked to wait " +
						RetryPolicy.describeWait(asked) + " before the job's status is asked again, more than is left of " +
						"this edit's deadline (" + Deadline.describe(deadlineLeft) + ").", asked, e);
				}
				wait = asked.compareTo(interval) > 0 ? asked : interval;
				waitAsked = true;
				closeLooksLeft = 0;
				looksOnOthersEndLeft = 0;
				slowedDown = ", asking less often at " + provider.displayName() + "'s request";
			}
		}
		if (alike != null && state.status() == JobState.Status.SUCCEEDED && seenDone != null) {
			// When the very first look found it done, it may have ended well before: a tenth earlier is
			// searched next time, so a kind that got faster is followed down.
			Duration after = lastUnfinished != null ? lastUnfinished : seenDone.multipliedBy(9).dividedBy(10);
			alike.ended(new Span(after, seenDone, lastUnfinished != null));
		}
		return state;
	}

	/** Whether the provider follows this job with a call that itself waits for news: made again at once. */
	private static boolean streamed(EditProvider provider, JobState state) {
		return provider.observation(state.handle()) == Observation.STREAM;
	}

	/** When to look first and how closely after, from the span in which the last job of the kind ended. */
	private static final class Plan {
		final Duration closeStep;
		final Duration firstWait;

		Plan(PollSchedule schedule, Span expected) {
			// A wide span is halved at once; a narrow one is searched from its start, step by step.
			closeStep = expected == null ? schedule.closeStep() : max(schedule.closeStep(), expected.width().dividedBy(4));
			firstWait = expected == null ? schedule.firstLook()
				: max(schedule.firstLook(), expected.width().compareTo(closeStep.multipliedBy(2)) > 0
					? expected.after.plus(expected.width().dividedBy(2)) : expected.after);
		}
	}

	/**
	 * The first look at the {@code place}-th of several jobs of a new kind running side by side: each
	 * a different fraction of the steady interval later (golden-ratio steps, evenly spread however
	 * many there are), so that between them one looks soon after they end. The first job looks at
	 * the schedule's first look.
	 */
	static Duration staggeredFirstLook(PollSchedule schedule, int place) {
		double fraction = (place * GOLDEN_RATIO_CONJUGATE) % 1.0;
		return schedule.firstLook().plus(Duration.ofNanos((long) (fraction * schedule.steady().toNanos())));
	}

	private static final double GOLDEN_RATIO_CONJUGATE = (Math.sqrt(5) - 1) / 2;

	/**
	 * While a job of a known kind is not expected to be done yet, looks are still at most this far
	 * apart (eachlabs' own clients poll every ~3 s, docs/providers.md §2.4): a job that ends much sooner
	 * than the last one, whose time included a long queue say, is still seen within seconds.
	 */
	static final Duration LONGEST_GAP_BEFORE_EXPECTED_END = Duration.ofSeconds(3);

	private static Duration longestGap(PollSchedule schedule, Span expected) {
		if (expected == null) return schedule.firstLook();
		return max(LONGEST_GAP_BEFORE_EXPECTED_END, schedule.steady());
	}

	private static Duration min(Duration a, Duration b) {
		return a.compareTo(b) <= 0 ? a : b;
	}

	private static Duration max(Duration a, Duration b) {
		return a.compareTo(b) >= 0 ? a : b;
	}

	/** The steady interval of the default schedule for the first minute, then growing ×1.5 up to the cap. */
	static Duration next(Duration interval, Duration elapsed) {
		return next(PollSchedule.DEFAULT, interval, elapsed);
	}

	static Duration next(PollSchedule schedule, Duration interval, Duration elapsed) {
		Duration steady = schedule.steady();
		if (elapsed.compareTo(STEADY_FOR) < 0) return steady;
		Duration grown = Duration.ofMillis(Math.max(interval.toMillis(), steady.toMillis()) * 3 / 2);
		Duration cap = steady.compareTo(MAX_INTERVAL) > 0 ? steady : MAX_INTERVAL;
		return grown.compareTo(cap) > 0 ? cap : grown;
	}

	/**
	 * Where a job that tells its steps stands in the whole edit, between the submit (0.2) and the
	 * downloads (0.8, engine.EditSession); unknown (-1) for a job that does not.
	 */
	private static double fraction(JobState state) {
		if (!state.stepsDone().isPresent() || state.stepsTotal().getAsInt() <= 0) return -1;
		return 0.2 + 0.6 * Math.min(1.0, state.stepsDone().getAsInt() / (double) state.stepsTotal().getAsInt());
	}

	private static String describe(EditProvider provider, JobState state, Duration elapsed) {
		long seconds = elapsed.getSeconds();
		if (state.stepsDone().isPresent()) {
			return provider.displayName() + ": step " + state.stepsDone().getAsInt() + " of " + state.stepsTotal().getAsInt() +
				" (" + seconds + " s)";
		}
		if (state.status() == JobState.Status.QUEUED) {
			return provider.displayName() + ": queued" +
				state.queuePosition().map(p -> " at position " + p).orElse("") + " (" + seconds + " s)";
		}
		return provider.displayName() + ": processing (" + seconds + " s)";
	}
}
