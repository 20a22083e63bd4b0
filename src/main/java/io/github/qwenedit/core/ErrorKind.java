package io.github.qwenedit.core;

/**
 * The small vocabulary every provider's failures are mapped onto, so the user interface can explain
 * any of them without knowing which service produced it.
 */
public enum ErrorKind {
	INVALID_INPUT("Invalid input"),
	UNAUTHORIZED("Not authorised"),
	NOT_FOUND("Not found"),
	RATE_LIMITED("Rate limited"),
	INSUFFICIENT_CREDIT("Insufficient credit"),
	CONTENT_REJECTED("Content rejected"),
	PROVIDER_FAILURE("Provider failure"),
	TIMED_OUT("Timed out"),
	CANCELLED("Cancelled"),
	NETWORK("Network problem"),
	STAGING("Bucket problem"),
	/** The output folder cannot take this run: another run writes into it, or it holds the images to edit. */
	OUTPUT_FOLDER("Output folder"),
	/** Results or the journal could not be written on this computer (disk full, no permission). */
	LOCAL_FILES("Cannot write to disk"),
	/** The Java heap is too small for a result. */
	MEMORY("Not enough memory");

	private final String title;

	ErrorKind(String title) {
		this.title = title;
	}

	/** A short heading for dialogs and logs. */
	public String title() {
		return title;
	}
}
