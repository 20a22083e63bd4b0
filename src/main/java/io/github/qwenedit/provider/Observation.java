package io.github.qwenedit.provider;

/** How the state of a provider's job is followed, which decides how long {@link JobPoller} waits between calls. */
public enum Observation {
	/** Status requests, on the provider's {@link PollSchedule}. */
	POLL,
	/**
	 * A call that itself waits for news (a status stream read for a while, a long poll) and is made
	 * again at once when it ends without the job's end.
	 */
	STREAM
}
