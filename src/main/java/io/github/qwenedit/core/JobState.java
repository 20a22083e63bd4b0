package io.github.qwenedit.core;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;


/**
 * Where a provider job stands, in the plugin's own terms. Providers translate their status
 * spellings into this; {@link JobPoller} alone decides what to do next.
 */
public final class JobState {

	public enum Status {
		QUEUED, RUNNING, SUCCEEDED, FAILED;

		public boolean isFinal() {
			return this == SUCCEEDED || this == FAILED;
		}
	}

	private final Status status;
	private final JobHandle handle;
	private final Integer queuePosition;
	private final List<String> outputUrls;
	private final Map<String, String> facts;
	private final EditException error;
	private final Duration pollAfter;
	private final List<String> notices;
	/** Steps done and steps in all, as a server that streams its progress tells them; null when not told. */
	private final int[] steps;

	private JobState(Status status, JobHandle handle, Integer queuePosition, List<String> outputUrls,
		Map<String, String> facts, EditException error, Duration pollAfter)
	{
		this(status, handle, queuePosition, outputUrls, facts, error, pollAfter, List.of(), null);
	}

	private JobState(Status status, JobHandle handle, Integer queuePosition, List<String> outputUrls,
		Map<String, String> facts, EditException error, Duration pollAfter, List<String> notices, int[] steps)
	{
		this.steps = steps;
		this.status = status;
		this.handle = handle;
		this.queuePosition = queuePosition;
		this.outputUrls = outputUrls == null ? List.of() : List.copyOf(outputUrls);
		this.facts = facts == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(facts));
		this.error = error;
		this.pollAfter = pollAfter;
		this.notices = List.copyOf(notices);
	}

	public static JobState queued(JobHandle handle, Integer position) {
		return new JobState(Status.QUEUED, handle, position, null, null, null, null);
	}

	public static JobState running(JobHandle handle) {
		return new JobState(Status.RUNNING, handle, null, null, null, null, null);
	}

	/**
	 * @param facts provider details for the provenance (cost, credits, processing time), keyed by
	 *          their provenance names without prefix, such as {@code Cost}; they complete and
	 *          override the facts the handle kept from the submit answer
	 */
	public static JobState succeeded(JobHandle handle, List<String> outputUrls, Map<String, String> facts) {
		Map<String, String> all = new LinkedHashMap<>(handle.submitFacts());
		if (facts != null) all.putAll(facts);
		return new JobState(Status.SUCCEEDED, handle, null, outputUrls, all, null, null);
	}

	public static JobState failed(JobHandle handle, EditException error) {
		return new JobState(Status.FAILED, handle, null, null, null, error, null);
	}

	/** The same state with a server's hint of when to look again ({@code Retry-After}). */
	public JobState withPollAfter(Duration wait) {
		return new JobState(status, handle, queuePosition, outputUrls, facts, error, wait, notices, steps);
	}

	/** The same state with one more sentence for the user about a result that is not quite what was asked. */
	public JobState withNotice(String sentence) {
		List<String> more = new java.util.ArrayList<>(notices);
		more.add(sentence);
		return new JobState(status, handle, queuePosition, outputUrls, facts, error, pollAfter, more, steps);
	}

	/** The same state with how far the job's own steps have come (a sampler's step {@code done} of {@code total}). */
	public JobState withSteps(int done, int total) {
		return new JobState(status, handle, queuePosition, outputUrls, facts, error, pollAfter, notices,
			new int[] { done, total });
	}

	/** Steps done of a job that tells them, with {@link #stepsTotal()}; empty when it does not. */
	public java.util.OptionalInt stepsDone() {
		return steps == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(steps[0]);
	}

	public java.util.OptionalInt stepsTotal() {
		return steps == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(steps[1]);
	}

	/** Sentences for the user about the result, such as outputs the provider withheld; empty when none. */
	public List<String> notices() {
		return notices;
	}

	public Status status() {
		return status;
	}

	public JobHandle handle() {
		return handle;
	}

	public Optional<Integer> queuePosition() {
		return Optional.ofNullable(queuePosition);
	}

	public List<String> outputUrls() {
		return outputUrls;
	}

	public Map<String, String> facts() {
		return facts;
	}

	public Optional<EditException> error() {
		return Optional.ofNullable(error);
	}

	public Optional<Duration> pollAfter() {
		return Optional.ofNullable(pollAfter);
	}
}
