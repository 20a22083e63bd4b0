package io.github.qwenedit.provider;

import java.time.Duration;

/**
 * How often a provider's job status may be asked: a first look, a steady interval for the first
 * minute, and, once the plugin knows how long such an edit usually takes, a few close looks around
 * that time (see {@link JobPoller}). Providers with a tight request limit choose a slower schedule.
 */
public final class PollSchedule {

	/**
	 * A first look soon after submit, then every half second, as fal's and Replicate's JavaScript
	 * clients poll by default; close looks 50 ms apart around the expected end.
	 */
	public static final PollSchedule DEFAULT = new PollSchedule(Duration.ofMillis(250), Duration.ofMillis(500),
		Duration.ofMillis(50), 4);

	private final Duration firstLook;
	private final Duration steady;
	private final Duration closeStep;
	private final int closeLooks;

	/**
	 * @param firstLook when to look first, for an edit of a kind not seen before
	 * @param steady the interval during the first minute
	 * @param closeStep the interval of the looks around the expected end
	 * @param closeLooks how many looks around the expected end before the steady interval resumes
	 */
	public PollSchedule(Duration firstLook, Duration steady, Duration closeStep, int closeLooks) {
		this.firstLook = firstLook;
		this.steady = steady;
		this.closeStep = closeStep;
		this.closeLooks = closeLooks;
	}

	public Duration firstLook() {
		return firstLook;
	}

	public Duration steady() {
		return steady;
	}

	public Duration closeStep() {
		return closeStep;
	}

	public int closeLooks() {
		return closeLooks;
	}
}
