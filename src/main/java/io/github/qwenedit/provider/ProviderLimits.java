package io.github.qwenedit.provider;

/**
 * How hard one key may drive each provider: jobs in flight at once and new jobs a minute. A batch
 * stays under both, so that a 429 is the exception it is in the providers' own documentation, not
 * the way a run finds its pace. Each provider's descriptor states its own
 * ({@link ProviderDescriptor#withLimits}), with the section of docs/providers.md it comes from.
 */
public final class ProviderLimits {

	/** Where nothing is documented: a pace no public client of these services was seen to exceed. */
	public static final ProviderLimits UNDOCUMENTED = new ProviderLimits(Integer.MAX_VALUE, 60);

	private final int maxConcurrentJobs;
	private final int createsPerMinute;
	private final int requestsPerMinute;
	private final String scope;

	public ProviderLimits(int maxConcurrentJobs, int createsPerMinute) {
		this(maxConcurrentJobs, createsPerMinute, 0);
	}

	public ProviderLimits(int maxConcurrentJobs, int createsPerMinute, int requestsPerMinute) {
		this(maxConcurrentJobs, createsPerMinute, requestsPerMinute, "per key");
	}

	private ProviderLimits(int maxConcurrentJobs, int createsPerMinute, int requestsPerMinute, String scope) {
		this.maxConcurrentJobs = maxConcurrentJobs;
		this.createsPerMinute = createsPerMinute;
		this.requestsPerMinute = requestsPerMinute;
		this.scope = scope;
	}

	/** The same limits over something other than one key, such as "on its 2 servers" for the lab's own. */
	public ProviderLimits over(String what) {
		return new ProviderLimits(maxConcurrentJobs, createsPerMinute, requestsPerMinute, what);
	}

	/** What the limits hold for, as a user reads it after "at most 3 edits at once": "per key" unless stated. */
	public String scope() {
		return scope;
	}

	/**
	 * How many jobs can be followed at once on {@code schedule}'s steady interval with half of a
	 * budget of {@code requestsPerMinute} (status requests included), the other half left for creates.
	 */
	public static int jobsWithin(int requestsPerMinute, PollSchedule schedule) {
		long pollsPerMinutePerJob = Math.max(1, java.time.Duration.ofMinutes(1).toMillis() / schedule.steady().toMillis());
		return (int) Math.max(1, requestsPerMinute / 2 / pollsPerMinutePerJob);
	}

	/** How many jobs may run at once per key; more would only be refused with 429. */
	public int maxConcurrentJobs() {
		return maxConcurrentJobs;
	}

	/**
	 * How many requests of any kind, status requests included, one key may make in any minute; 0
	 * when only creates are counted.
	 */
	public int requestsPerMinute() {
		return requestsPerMinute;
	}

	/** How many jobs may be created per key in any minute. */
	public int createsPerMinute() {
		return createsPerMinute;
	}
}
