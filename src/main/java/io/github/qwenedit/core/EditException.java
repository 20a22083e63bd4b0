package io.github.qwenedit.core;

import java.time.Duration;
import java.util.List;
import java.util.Optional;


/**
 * A failure the user can act on. The message is one plain sentence (or two) that says what happened
 * and what to change; it never contains a key, a secret or a signed link. What the failure left at
 * the provider (a job that may charge, a paid result not yet saved) is a field, {@link #charge()},
 * so that what is kept and what a program reports never depend on the message's words.
 */
public class EditException extends Exception {

	private static final long serialVersionUID = 1L;

	/** What a failed edit left at the provider, as far as the plugin can know. */
	public enum Charge {
		/** No job was made, or it ended without a result (failed, or stopped as the provider confirmed). */
		NONE(false),
		/** The create was sent and its answer never came: a job may exist, and may be charged, with no id known. */
		UNIDENTIFIED_JOB(true),
		/** A job with a known handle may still run and be charged: it was not confirmed stopped. */
		RUNNING_JOB(true),
		/** The job succeeded and was paid for; its result was not saved but can still be fetched. */
		UNSAVED_RESULT(true),
		/** The job succeeded and was paid for, and its result can no longer be fetched (links expired, not an image). */
		LOST_RESULT(true),
		/**
		 * The job succeeded and was paid for, and its result, which the output folder refused, was written
		 * elsewhere (the failure says where): nothing is left to fetch.
		 */
		SAVED_ELSEWHERE(true);

		private final boolean mayHaveCost;

		Charge(boolean mayHaveCost) {
			this.mayHaveCost = mayHaveCost;
		}

		/** Whether the provider may have charged for the edit. */
		public boolean mayHaveCost() {
			return mayHaveCost;
		}

		/** Whether a later run or a recovery can still fetch something, or must still report it. */
		public boolean leavesSomethingToFetch() {
			return this == UNIDENTIFIED_JOB || this == RUNNING_JOB || this == UNSAVED_RESULT;
		}
	}

	private final ErrorKind kind;
	private final Duration retryAfter;
	private final Charge charge;
	private final transient JobHandle job;
	private final List<String> outputUrls;

	public EditException(ErrorKind kind, String message) {
		this(kind, message, null, null);
	}

	public EditException(ErrorKind kind, String message, Throwable cause) {
		this(kind, message, null, cause);
	}

	public EditException(ErrorKind kind, String message, Duration retryAfter, Throwable cause) {
		this(kind, message, retryAfter, cause, Charge.NONE, null, List.of());
	}

	private EditException(ErrorKind kind, String message, Duration retryAfter, Throwable cause, Charge charge,
		JobHandle job, List<String> outputUrls)
	{
		super(message, cause);
		this.kind = kind;
		this.retryAfter = retryAfter;
		this.charge = charge;
		this.job = job;
		this.outputUrls = List.copyOf(outputUrls);
	}

	/**
	 * The same failure, saying what it left at the provider.
	 *
	 * @param job the job's handle, when one is known
	 * @param outputUrls the result links of a job that succeeded, when known
	 */
	public EditException leaving(Charge left, JobHandle job, List<String> outputUrls) {
		EditException e = new EditException(kind, getMessage(), retryAfter, getCause(), left, job, outputUrls);
		e.setStackTrace(getStackTrace());
		for (Throwable s : getSuppressed()) {
			e.addSuppressed(s);
		}
		return e;
	}

	/** The same failure with {@code more} after its message, and what it left unchanged. */
	public EditException followedBy(String more) {
		return new EditException(kind, followedBy(getMessage(), more), retryAfter, this, charge, job, outputUrls);
	}

	/**
	 * A message with one more sentence after it. Messages often end with a provider's own words,
	 * which may lack a full stop.
	 */
	public static String followedBy(String message, String sentence) {
		String end = message.endsWith(".") || message.endsWith("!") || message.endsWith("?") ? "" : ".";
		return message + end + " " + sentence;
	}

	public ErrorKind kind() {
		return kind;
	}

	/** How long the provider asked us to wait, for {@link ErrorKind#RATE_LIMITED}. */
	public Optional<Duration> retryAfter() {
		return Optional.ofNullable(retryAfter);
	}

	/** What the failure left at the provider. */
	public Charge charge() {
		return charge;
	}

	/** The job the failure left, when its handle is known. */
	public Optional<JobHandle> job() {
		return Optional.ofNullable(job);
	}

	/** The result links of a job that succeeded and whose result was not saved; empty otherwise. */
	public List<String> outputUrls() {
		return outputUrls;
	}

	/** Heading and sentence together, as shown to the user. */
	public String describe() {
		return kind.title() + ": " + getMessage();
	}
}
