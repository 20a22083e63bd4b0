package io.github.qwenedit.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.Ticker;
import io.github.qwenedit.fixtures.VirtualTime;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.RetryPolicy;

/**
 * The shared polling loop, driven by a provider that answers from a script, in virtual time (its
 * waits take none and are asserted exactly) except where jobs on several threads wake each other.
 */
class JobPollerTest {

	private static final JobHandle JOB = new JobHandle("job-1", "https://example.com/jobs/job-1", null, null);
	private static final ProviderDescriptor SCRIPTED = new ProviderDescriptor("scripted", "Scripted", List.of(),
		"SCRIPTED_BASE_URL", "https://example.com", "SCRIPTED_KEY", "scripted key",
		(baseUrl, key) -> new ScriptedProvider(true));

	/** Answers each poll with the next scripted state, or throws the next scripted failure. */
	private static class ScriptedProvider implements EditProvider {
		final Deque<Object> script = new ArrayDeque<>();
		int polls;
		int cancels;
		final boolean confirmsCancel;
		String address = "scripted";
		PollSchedule schedule = PollSchedule.DEFAULT;

		ScriptedProvider(boolean confirmsCancel, Object... answers) {
			this.confirmsCancel = confirmsCancel;
			script.addAll(List.of(answers));
		}

		/** What a look after an accepted cancel finds; null to go on with the script. */
		JobState afterCancel;

		@Override
		public JobState poll(JobHandle job, Http http) throws EditException {
			polls++;
			if (cancels > 0 && afterCancel != null) return afterCancel;
			Object next = script.isEmpty() ? JobState.running(job) : script.removeFirst();
			if (next instanceof EditException e) throw e;
			return (JobState) next;
		}

		@Override
		public boolean cancel(JobHandle job, Http http) {
			cancels++;
			return confirmsCancel;
		}

		@Override
		public ProviderDescriptor descriptor() {
			return SCRIPTED;
		}

		@Override
		public String serviceAddress() {
			return address;
		}

		ScriptedProvider at(String serviceAddress) {
			this.address = serviceAddress;
			return this;
		}

		@Override
		public PollSchedule pollSchedule() {
			return schedule;
		}

		ScriptedProvider lookingEvery(PollSchedule schedule) {
			this.schedule = schedule;
			return this;
		}

		@Override
		public long maxInlineBytes() {
			return 0;
		}

		@Override
		public JobState submit(EditRequest request, List<String> imageUrls, Http http) {
			throw new UnsupportedOperationException();
		}

		@Override
		public String checkKey(Http http) {
			throw new UnsupportedOperationException();
		}
	}

	/** A script of {@code looks} answers that the job is running, then {@code last}. */
	private static Object[] runningThen(int looks, JobState last) {
		Object[] script = new Object[looks + 1];
		for (int i = 0; i < looks; i++) script[i] = JobState.running(JOB);
		script[looks] = last;
		return script;
	}

	/** An edit's calls within {@code deadline} of virtual time: its waits take none. */
	private static Http http(Duration deadline) {
		return http(deadline, new VirtualTime());
	}

	private static Http http(Duration deadline, Ticker time) {
		return new Http(RetryPolicy.DEFAULT, new Cancellation(), Deadline.after(deadline, time), Set.of());
	}

	@Test
	void looksEveryHalfSecondForAMinuteThenBacksOffToFiveSeconds() {
		assertEquals(Duration.ofMillis(500), JobPoller.next(PollSchedule.DEFAULT.firstLook(), Duration.ofSeconds(1)));
		assertEquals(Duration.ofMillis(500), JobPoller.next(Duration.ofMillis(500), Duration.ofSeconds(59)));
		assertEquals(Duration.ofMillis(750), JobPoller.next(Duration.ofMillis(500), Duration.ofSeconds(61)));
		Duration interval = Duration.ofMillis(500);
		for (int i = 0; i < 20; i++) {
			interval = JobPoller.next(interval, Duration.ofMinutes(2));
		}
		assertEquals(Duration.ofSeconds(5), interval);
	}

	/**
	 * The last job of a kind ran five seconds (a long queue, say); the next one is done at once. The
	 * plugin still looks within three seconds instead of waiting for the learned end.
	 */
	@Test
	void aJobMuchQuickerThanTheLastOfItsKindIsStillSeenWithinSeconds() throws Exception {
		JobState done = JobState.succeeded(JOB, List.of("https://example.com/out.png"), Map.of());
		Object[] slow = runningThen(10, done);
		VirtualTime time = new VirtualTime();
		JobPoller.awaitFinal(new ScriptedProvider(true, slow), JobState.queued(JOB, null), http(Duration.ofMinutes(1), time),
			(message, fraction) -> {}, "five-second kind", false);
		assertEquals(Duration.ofMillis(5250), time.elapsed(), "the slow job: a first look, then ten every half-second");

		ScriptedProvider quick = new ScriptedProvider(true, done);
		Duration start = time.elapsed();
		assertEquals(done, JobPoller.awaitFinal(quick, JobState.queued(JOB, null), http(Duration.ofMinutes(1), time),
			(message, fraction) -> {}, "five-second kind", false));
		Duration took = time.elapsed().minus(start);
		assertEquals(1, quick.polls);
		assertEquals(JobPoller.LONGEST_GAP_BEFORE_EXPECTED_END, took, "seen after " + took.toMillis() + " ms");
	}

	/**
	 * What was learned of one service (a slow gateway, a test's emulator) must not hold back the first
	 * look at a job of the same kind on another.
	 */
	@Test
	void whatIsLearnedOfOneServiceDoesNotDelayAnother() throws Exception {
		JobState done = JobState.succeeded(JOB, List.of("https://example.com/out.png"), Map.of());
		Object[] slow = runningThen(10, done);
		JobPoller.awaitFinal(new ScriptedProvider(true, slow).at("https://slow.example"), JobState.queued(JOB, null),
			http(Duration.ofMinutes(1)), (message, fraction) -> {}, "shared kind", false);

		ScriptedProvider elsewhere = new ScriptedProvider(true, done).at("https://other.example");
		VirtualTime time = new VirtualTime();
		assertEquals(done, JobPoller.awaitFinal(elsewhere, JobState.queued(JOB, null), http(Duration.ofMinutes(1), time),
			(message, fraction) -> {}, "shared kind", false));
		assertEquals(1, elsewhere.polls);
		assertEquals(PollSchedule.DEFAULT.firstLook(), time.elapsed(), "first look after " + time.elapsed().toMillis() +
			" ms, as for a kind never seen");
	}

	/**
	 * A job the provider follows with a call that itself waits for news (fal's status stream) is
	 * called again at once, without the schedule's waits, until the provider falls back to status
	 * requests for it; those then keep to the schedule.
	 */
	@Test
	void aJobFollowedOnAStreamIsCalledAgainAtOnceAndOnTheScheduleOnceItFallsBack() throws Exception {
		JobState done = JobState.succeeded(JOB, List.of("https://example.com/out.png"), Map.of());
		ScriptedProvider streaming = new ScriptedProvider(true, JobState.running(JOB), JobState.running(JOB), done) {
			@Override
			public Observation observation(JobHandle job) {
				return polls < 2 ? Observation.STREAM : Observation.POLL;
			}
		};
		VirtualTime time = new VirtualTime();
		assertEquals(done, JobPoller.awaitFinal(streaming, JobState.queued(JOB, null), http(Duration.ofMinutes(1), time),
			(message, fraction) -> {}, "streamed kind", false));
		assertEquals(3, streaming.polls);
		assertEquals(PollSchedule.DEFAULT.steady(), time.elapsed(), "two streamed calls at once, then one scheduled wait");
	}

	@Test
	void itStopsAtTheFirstFinalStateAndShowsThePhaseAndTime() throws Exception {
		JobState done = JobState.succeeded(JOB, List.of("https://example.com/out.png"), Map.of());
		ScriptedProvider provider = new ScriptedProvider(true, JobState.queued(JOB, 2), JobState.running(JOB), done,
			JobState.running(JOB));
		List<String> shown = new ArrayList<>();
		JobState last = JobPoller.awaitFinal(provider, JobState.queued(JOB, null), http(Duration.ofMinutes(1)),
			(message, fraction) -> shown.add(message));
		assertEquals(done, last);
		assertEquals(3, provider.polls);
		assertEquals(0, provider.cancels);
		assertEquals(3, shown.size());
		assertTrue(shown.get(0).matches("Scripted: queued \\(\\d+ s\\)"), shown.get(0));
		assertTrue(shown.get(1).matches("Scripted: queued at position 2 \\(\\d+ s\\)"), shown.get(1));
		assertTrue(shown.get(2).matches("Scripted: processing \\(\\d+ s\\)"), shown.get(2));
	}

	@Test
	void aRateLimitedStatusRequestOnlySlowsThePollingDown() throws Exception {
		EditException limited = new EditException(ErrorKind.RATE_LIMITED, "slow down", Duration.ZERO, null);
		JobState done = JobState.succeeded(JOB, List.of("https://example.com/out.png"), Map.of());
		ScriptedProvider provider = new ScriptedProvider(true, limited, limited, done);
		List<String> shown = new ArrayList<>();
		assertEquals(done, JobPoller.awaitFinal(provider, JobState.queued(JOB, null), http(Duration.ofMinutes(1)),
			(message, fraction) -> shown.add(message)));
		assertEquals(3, provider.polls);
		assertTrue(shown.get(1).endsWith(", asking less often at Scripted's request"), shown.get(1));
	}

	/**
	 * A cancel that reaches the provider just after the job ended is answered as gladly (Replicate:
	 * 200, the prediction still "succeeded"); taken for "stopped", the paid result was forgotten and
	 * the next run paid again. The job is looked at once more, and a finished one is kept as paid.
	 */
	@Test
	void aJobThatFinishedJustBeforeItsCancelIsKeptAsPaidNotForgottenAsStopped() {
		ScriptedProvider provider = new ScriptedProvider(true);
		provider.afterCancel = JobState.succeeded(JOB, List.of("https://example.com/out.png"), Map.of());
		EditException e = assertThrows(EditException.class, () -> JobPoller.awaitFinal(provider, JobState.queued(JOB,
			null), http(Duration.ofMillis(600)), (message, fraction) -> {}, "kept", true));
		assertEquals(ErrorKind.TIMED_OUT, e.kind());
		assertEquals(1, provider.cancels);
		assertEquals(EditException.Charge.RUNNING_JOB, e.charge(), e.getMessage());
		assertEquals(Optional.of(JOB), e.job());
		assertTrue(e.getMessage().endsWith("Scripted had finished the job just before it was asked to stop it, so it is " +
			"paid for."), e.getMessage());

		ScriptedProvider stoppedInTime = new ScriptedProvider(true);
		EditException stopped = assertThrows(EditException.class, () -> JobPoller.awaitFinal(stoppedInTime,
			JobState.queued(JOB, null), http(Duration.ofMillis(600)), (message, fraction) -> {}, "kept", true));
		assertEquals(EditException.Charge.NONE, stopped.charge(), "a job still running when stopped was not charged");
	}

	/**
	 * A status request answered 429 "come back in an hour" made the edit wait, silent, to its deadline
	 * and then say it timed out, which was not true of the job (finished long before). A wait beyond
	 * the deadline is said at once, and a kept job is left to a later look.
	 */
	@Test
	void aStatusWaitBeyondTheDeadlineIsSaidAtOnceAndAKeptJobLeftRunning() {
		EditException limited = new EditException(ErrorKind.RATE_LIMITED, "slow down", RetryPolicy.LONGEST_RETRY_AFTER,
			null);
		ScriptedProvider provider = new ScriptedProvider(true, limited);
		EditException e = assertThrows(EditException.class, () -> JobPoller.awaitFinal(provider, JobState.queued(JOB, null),
			http(Duration.ofMinutes(1)), (message, fraction) -> {}, "kept", true));
		assertEquals(ErrorKind.RATE_LIMITED, e.kind(), e.getMessage());
		assertTrue(e.getMessage().startsWith("Scripted asked to wait an hour or more before the job's status is asked " +
			"again, more than is left of this edit's deadline ("), e.getMessage());
		assertEquals(EditException.Charge.RUNNING_JOB, e.charge());
		assertEquals(0, provider.cancels, "a kept job was stopped");
	}

	/**
	 * Issue 15 M11: a recovery whose every look was answered 429 within its window reported the job
	 * "still running", which nobody had said; the rate limit is what the user is told.
	 */
	@Test
	void aLookNeverAnsweredButWithRateLimitsIsTheRateLimitNotAStateOfTheJob() throws Exception {
		EditException limited = new EditException(ErrorKind.RATE_LIMITED, "slow down", Duration.ofHours(3), null);
		ScriptedProvider provider = new ScriptedProvider(true, limited, limited);
		EditException e = assertThrows(EditException.class, () -> JobPoller.lookUntil(provider, JOB,
			http(Duration.ofMinutes(1)), (message, fraction) -> {}, Duration.ofMillis(300)));
		assertEquals(ErrorKind.RATE_LIMITED, e.kind());

		EditException brief = new EditException(ErrorKind.RATE_LIMITED, "slow down", Duration.ofMillis(50), null);
		ScriptedProvider answered = new ScriptedProvider(true, brief, JobState.running(JOB));
		JobState state = JobPoller.lookUntil(answered, JOB, http(Duration.ofMinutes(1)), (message, fraction) -> {},
			Duration.ofSeconds(2));
		assertEquals(JobState.Status.RUNNING, state.status(), "a job seen running is reported as running");
	}

	/**
	 * An unreadable status says nothing about the job, which most likely runs on and is paid for:
	 * when a journal keeps the job, stopping it over a passing 5xx would throw that away.
	 */
	@Test
	void aStatusThatCannotBeReadLeavesAKeptJobRunningWithItsHandle() {
		ScriptedProvider provider = new ScriptedProvider(false, unreadableStatusInARow(JobPoller.UNREADABLE_IN_A_ROW));
		EditException e = assertThrows(EditException.class, () -> JobPoller.awaitFinal(provider, JobState.queued(JOB, null),
			http(Duration.ofMinutes(1)), (message, fraction) -> {}, "kept", true));
		assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
		assertEquals(0, provider.cancels);
		assertEquals(EditException.Charge.RUNNING_JOB, e.charge());
		assertEquals(Optional.of(JOB), e.job());
		assertEquals("Scripted had an internal problem (HTTP 500). Scripted said: boom. The job was left running at " +
			"Scripted, and its result can still be fetched later.", e.getMessage());
	}

	/**
	 * Issue 15 M5: one status answer that could not be read ended the edit, though the job ran on and
	 * the next look would have seen it finished. It is asked again; only answers unreadable
	 * {@value JobPoller#UNREADABLE_IN_A_ROW} times in a row end it.
	 */
	@Test
	void aStatusUnreadableOnceIsAskedAgainAndTheJobFollowedToItsResult() throws EditException {
		Object[] script = { unreadableStatusInARow(1)[0], JobState.running(JOB), unreadableStatusInARow(1)[0],
			unreadableStatusInARow(1)[0], JobState.succeeded(JOB, List.of("https://results.example/1.png"), Map.of()) };
		ScriptedProvider provider = new ScriptedProvider(false, script);
		List<String> said = new ArrayList<>();
		JobState done = JobPoller.awaitFinal(provider, JobState.queued(JOB, null), http(Duration.ofMinutes(1)),
			(message, fraction) -> said.add(message), "kept", true);
		assertEquals(JobState.Status.SUCCEEDED, done.status());
		assertEquals(5, provider.polls);
		assertEquals(0, provider.cancels);
		assertTrue(said.stream().anyMatch(m -> m.endsWith("asking again: the last status answer could not be read")), said
			.toString());
	}

	private static Object[] unreadableStatusInARow(int times) {
		Object[] answers = new Object[times];
		java.util.Arrays.fill(answers, new EditException(ErrorKind.PROVIDER_FAILURE,
			"Scripted had an internal problem (HTTP 500). Scripted said: boom"));
		return answers;
	}

	/** When nothing keeps the job, its result would be lost unseen: it is stopped rather than paid for. */
	@Test
	void aStatusThatCannotBeReadStopsAJobNothingKeeps() {
		ScriptedProvider provider = new ScriptedProvider(false, unreadableStatusInARow(JobPoller.UNREADABLE_IN_A_ROW));
		EditException e = assertThrows(EditException.class, () -> JobPoller.awaitFinal(provider, JobState.queued(JOB, null),
			http(Duration.ofMinutes(1)), (message, fraction) -> {}));
		assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
		assertEquals(1, provider.cancels);
		assertEquals("Scripted had an internal problem (HTTP 500). Scripted said: boom. The job's result could no longer " +
			"be followed, so the plugin asked Scripted to stop it: Scripted did not confirm, so it may still charge for it.",
			e.getMessage());
	}

	/** The lab's own server bills nothing: a job it did not confirm stopped runs on there, and is said to. */
	@Test
	void aJobNotStoppedOnTheUsersOwnServerIsSaidToRunOnNotToCharge() throws EditException {
		io.github.qwenedit.core.Configuration config = io.github.qwenedit.core.Configuration.of(Map.of(
			"REPLICATE_API_TOKEN", "r8_x"));
		assertEquals(false, io.github.qwenedit.provider.registry.ProviderRegistry.get("comfyui").create(config)
			.chargesForJobs());
		assertEquals(true, io.github.qwenedit.provider.registry.ProviderRegistry.get("replicate").create(config)
			.chargesForJobs());
		ScriptedProvider ownServer = new ScriptedProvider(false) {
			@Override
			public boolean chargesForJobs() {
				return false;
			}
		};
		EditException e = assertThrows(EditException.class, () -> JobPoller.awaitFinal(ownServer,
			JobState.queued(JOB, null), http(Duration.ofSeconds(1)), (message, fraction) -> {}));
		assertTrue(e.getMessage().endsWith("Scripted did not confirm that the job stopped, so it may still run there."),
			e.getMessage());
	}

	@Test
	void theDeadlineStopsTheJobToo() {
		ScriptedProvider provider = new ScriptedProvider(true);
		EditException e = assertThrows(EditException.class, () -> JobPoller.awaitFinal(provider, JobState.queued(JOB, null),
			http(Duration.ofSeconds(1)), (message, fraction) -> {}));
		assertEquals(ErrorKind.TIMED_OUT, e.kind());
		assertEquals(1, provider.cancels);
		assertTrue(e.getMessage().endsWith("Scripted confirmed that the job was stopped."), e.getMessage());
	}

	/** A first look at 100 ms, then every 5 s: only a job woken by another's end looks sooner. */
	private static final PollSchedule SLOW = new PollSchedule(Duration.ofMillis(100), Duration.ofSeconds(5),
		Duration.ofMillis(50), 4);

	@Test
	void jobsOfANewKindSideBySideFirstLookAtMomentsSpreadOverTheInterval() {
		assertEquals(PollSchedule.DEFAULT.firstLook(), JobPoller.staggeredFirstLook(PollSchedule.DEFAULT, 0),
			"a job on its own looks first as the schedule says");
		List<Long> offsets = new ArrayList<>();
		for (int place = 0; place < 10; place++) {
			Duration look = JobPoller.staggeredFirstLook(PollSchedule.DEFAULT, place);
			offsets.add(look.minus(PollSchedule.DEFAULT.firstLook()).toMillis());
		}
		offsets.sort(null);
		long steady = PollSchedule.DEFAULT.steady().toMillis();
		long widestGap = offsets.get(0) + steady - offsets.get(9);
		for (int i = 1; i < 10; i++) widestGap = Math.max(widestGap, offsets.get(i) - offsets.get(i - 1));
		assertTrue(offsets.get(9) < steady, "an offset of a whole interval or more: " + offsets);
		assertTrue(widestGap <= steady / 5, "ten jobs leave a gap of " + widestGap + " ms between their looks: " + offsets);
	}

	/**
	 * Two jobs of a kind run side by side; the second would look first after three seconds. When the
	 * first is found done, the second, which has run as long, looks at once and is seen done too.
	 */
	@Test
	void whenOneJobOfAKindIsFoundDoneAnotherThatHasRunAsLongLooksAtOnce() throws Exception {
		JobState done = JobState.succeeded(JOB, List.of("https://example.com/out.png"), Map.of());
		ScriptedProvider first = new ScriptedProvider(true, done).lookingEvery(SLOW);
		ScriptedProvider second = new ScriptedProvider(true, done).lookingEvery(SLOW);
		java.util.concurrent.CountDownLatch firstStarted = new java.util.concurrent.CountDownLatch(1);
		java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
		try {
			var firstJob = pool.submit(() -> {
				firstStarted.countDown();
				return JobPoller.awaitFinal(first, JobState.queued(JOB, null), http(Duration.ofMinutes(1), Ticker.SYSTEM),
					(message, fraction) -> {}, "side by side", false);
			});
			assertTrue(firstStarted.await(10, java.util.concurrent.TimeUnit.SECONDS));
			Thread.sleep(20);
			long start = System.nanoTime();
			var secondJob = pool.submit(() -> JobPoller.awaitFinal(second, JobState.queued(JOB, null),
				http(Duration.ofMinutes(1), Ticker.SYSTEM), (message, fraction) -> {}, "side by side", false));
			assertEquals(done, secondJob.get(30, java.util.concurrent.TimeUnit.SECONDS));
			Duration took = Duration.ofNanos(System.nanoTime() - start);
			assertEquals(done, firstJob.get(30, java.util.concurrent.TimeUnit.SECONDS));
			assertEquals(1, second.polls, "looked more than once");
			assertTrue(took.compareTo(Duration.ofMillis(1500)) < 0,
				"seen after " + took.toMillis() + " ms, as if on its own (first look at " +
					JobPoller.staggeredFirstLook(SLOW, 1).toMillis() + " ms)");
		}
		finally {
			pool.shutdownNow();
		}
	}

	@Test
	void aCancelEndsTheWaitAtOnceWhileOtherJobsOfTheKindAreWatched() throws Exception {
		ScriptedProvider provider = new ScriptedProvider(true).lookingEvery(SLOW);
		Cancellation cancellation = new Cancellation();
		Http http = new Http(RetryPolicy.DEFAULT, cancellation, Deadline.after(Duration.ofMinutes(1)), Set.of());
		java.util.concurrent.ScheduledExecutorService later = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
		long start = System.nanoTime();
		EditException e;
		try {
			later.schedule(cancellation::cancel, 300, java.util.concurrent.TimeUnit.MILLISECONDS);
			e = assertThrows(EditException.class, () -> JobPoller.awaitFinal(provider, JobState.queued(JOB, null), http,
				(message, fraction) -> {}, "cancelled kind", false));
		}
		finally {
			later.shutdownNow();
		}
		Duration took = Duration.ofNanos(System.nanoTime() - start);
		assertEquals(ErrorKind.CANCELLED, e.kind());
		assertEquals(1, provider.cancels);
		assertTrue(took.compareTo(Duration.ofSeconds(3)) < 0, "the cancel took " + took.toMillis() + " ms to arrive");
	}
}
