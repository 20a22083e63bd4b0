package io.github.qwenedit.provider;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;

/**
 * How one provider spells the states of its jobs. A provider lists its words, every spelling its
 * documentation uses; what each state means (ask again, done, failed, cancelled elsewhere, expired)
 * and what the user is told then is decided here, once for every provider.
 */
public final class StatusWords {

	private enum Meaning {
		QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, EXPIRED
	}

	private final String service;
	private final Map<String, Meaning> meanings;

	private StatusWords(String service, Map<String, Meaning> meanings) {
		this.service = service;
		this.meanings = Map.copyOf(meanings);
	}

	/** @param service the provider's display name, used in the messages */
	public static Builder of(String service) {
		return new Builder(service);
	}

	/**
	 * Translates one status answer.
	 *
	 * @param status the provider's word, in any case; null when the answer had none
	 * @param success builds the final state, called only when the word means success
	 * @param explanation the provider's own words about a failure, or null
	 */
	public JobState read(JobHandle job, String status, Success success, String explanation)
		throws EditException
	{
		return read(job, status, null, success, explanation);
	}

	/**
	 * As {@link #read(JobHandle, String, Success, String)}, for a provider that tells a queued job's
	 * place in its queue.
	 *
	 * @param queuePosition the job's place in the queue, or null when not told
	 */
	public JobState read(JobHandle job, String status, Integer queuePosition, Success success,
		String explanation) throws EditException
	{
		String word = status == null ? "" : status.trim().toLowerCase(Locale.ROOT);
		Meaning meaning = meanings.get(word);
		if (meaning == null) throw JobCalls.unknownStatus(service, status == null ? "none" : status);
		String said = explanation == null || explanation.isBlank() || explanation.equals("null") ? ""
			: " " + service + " said: " + ProviderErrors.clip(explanation);
		switch (meaning) {
			case QUEUED:
				return JobState.queued(job, queuePosition);
			case RUNNING:
				return JobState.running(job);
			case SUCCEEDED:
				return success.get();
			case CANCELLED:
				return JobState.failed(job, new EditException(ErrorKind.CANCELLED, service + " reports that the job was " +
					"cancelled (status \"" + word + "\"), so there is no result." + said));
			case EXPIRED:
				return JobState.failed(job, new EditException(ErrorKind.PROVIDER_FAILURE, service + " reports that the " +
					"job expired before it finished (status \"" + word + "\"). Run the edit again." + said));
			default:
				return JobState.failed(job, new EditException(ErrorKind.PROVIDER_FAILURE, service + " reports that the " +
					"edit failed (status \"" + word + "\")." + said));
		}
	}

	/** Whether the word says the job is accepted and not finished yet (queued or running). */
	public boolean unfinished(String status) {
		Meaning meaning = status == null ? null : meanings.get(status.trim().toLowerCase(Locale.ROOT));
		return meaning == Meaning.QUEUED || meaning == Meaning.RUNNING;
	}

	/** Builds the final state of a job that succeeded, which may take another call (fetching the result). */
	@FunctionalInterface
	public interface Success {
		JobState get() throws EditException;
	}

	/** Collects a provider's words; each word has one meaning. */
	public static final class Builder {
		private final String service;
		private final Map<String, Meaning> meanings = new HashMap<>();

		private Builder(String service) {
			this.service = service;
		}

		/** Accepted, not started yet. */
		public Builder queued(String... words) {
			return put(Meaning.QUEUED, words);
		}

		/** Started, not finished. */
		public Builder running(String... words) {
			return put(Meaning.RUNNING, words);
		}

		/** Finished with a result. */
		public Builder succeeded(String... words) {
			return put(Meaning.SUCCEEDED, words);
		}

		/** Finished without a result because the job failed. */
		public Builder failed(String... words) {
			return put(Meaning.FAILED, words);
		}

		/** Stopped by someone; a cancel by this plugin ends the polling before it is seen. */
		public Builder cancelled(String... words) {
			return put(Meaning.CANCELLED, words);
		}

		/** Dropped by the provider because it waited or ran too long. */
		public Builder expired(String... words) {
			return put(Meaning.EXPIRED, words);
		}

		private Builder put(Meaning meaning, String... words) {
			for (String word : words) {
				Meaning before = meanings.put(word.toLowerCase(Locale.ROOT), meaning);
				if (before != null && before != meaning) {
					throw new IllegalArgumentException("\"" + word + "\" cannot mean both " + before + " and " + meaning);
				}
			}
			return this;
		}

		public StatusWords build() {
			return new StatusWords(service, meanings);
		}
	}
}
