package io.github.qwenedit.provider;

import java.util.Map;

import io.github.qwenedit.provider.comfyui.ComfyUiProvider;
import io.github.qwenedit.provider.dashscope.DashScopeProvider;
import io.github.qwenedit.provider.eachlabs.EachLabsProvider;
import io.github.qwenedit.provider.fal.FalProvider;
import io.github.qwenedit.provider.pixeldojo.PixelDojoProvider;
import io.github.qwenedit.provider.replicate.ReplicateProvider;

/**
 * How hard one key may drive each provider: jobs in flight at once and new jobs a minute. A batch
 * stays under both, so that a 429 is the exception it is in the providers' own documentation, not
 * the way a run finds its pace. Figures from docs/providers.md, with the section they come from.
 */
public final class ProviderLimits {

	/** Where nothing is documented: a pace no public client of these services was seen to exceed. */
	static final int UNDOCUMENTED_CREATES_PER_MINUTE = 60;

	private static final Map<String, ProviderLimits> TABLE = Map.of(
		// No figure for qwen-image-edit (§1.6); the neighbouring wanx2.1-imageedit page allows 2
		// concurrent tasks and 2 submissions a second, the most conservative documented figure.
		DashScopeProvider.ID, new ProviderLimits(2, 120),
		// Per-key limits from the project's issue tracker; docs/providers.md §2 found none published.
		EachLabsProvider.ID, new ProviderLimits(10, 100),
		// "60 requests per minute" in its legacy docs (§3), status requests included; another source says
		// 10, but 60 is PixelDojo's own. A job polled every 2 s takes half of that: one job at once, and
		// the other half for creates. Every request also waits for its turn in the key's window.
		PixelDojoProvider.ID, new ProviderLimits(jobsWithin(60, PixelDojoProvider.POLL_SCHEDULE), 30, 60),
		// New accounts run 2 at once and up to 40 later; more only wait in fal's queue, never refused (§4).
		FalProvider.ID, new ProviderLimits(Integer.MAX_VALUE, UNDOCUMENTED_CREATES_PER_MINUTE),
		// "create prediction 600 req/min" (§5).
		ReplicateProvider.ID, new ProviderLimits(Integer.MAX_VALUE, 600),
		// One GPU runs one prompt at a time and queues the rest; a few queued keep it busy between jobs
		// without parking a whole batch in a queue that a restart of the server empties.
		ComfyUiProvider.ID, new ProviderLimits(3, 600));

	private final int maxConcurrentJobs;
	private final int createsPerMinute;
	private final int requestsPerMinute;

	ProviderLimits(int maxConcurrentJobs, int createsPerMinute) {
		this(maxConcurrentJobs, createsPerMinute, 0);
	}

	ProviderLimits(int maxConcurrentJobs, int createsPerMinute, int requestsPerMinute) {
		this.maxConcurrentJobs = maxConcurrentJobs;
		this.createsPerMinute = createsPerMinute;
		this.requestsPerMinute = requestsPerMinute;
	}

	/**
	 * How many jobs can be followed at once on {@code schedule}'s steady interval with half of a
	 * budget of {@code requestsPerMinute} (status requests included), the other half left for creates.
	 */
	static int jobsWithin(int requestsPerMinute, PollSchedule schedule) {
		long pollsPerMinutePerJob = Math.max(1, java.time.Duration.ofMinutes(1).toMillis() / schedule.steady().toMillis());
		return (int) Math.max(1, requestsPerMinute / 2 / pollsPerMinutePerJob);
	}

	/** The limits of the provider {@code id}; an unknown one gets the undocumented-service pace. */
	public static ProviderLimits of(String id) {
		return TABLE.getOrDefault(id, new ProviderLimits(Integer.MAX_VALUE, UNDOCUMENTED_CREATES_PER_MINUTE));
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
