package io.github.qwenedit.core;

import java.time.Duration;
import java.util.Optional;

/**
 * A failure the user can act on. The message is one plain sentence (or two) that says what happened
 * and what to change; it never contains a key, a secret or a signed link.
 */
public class EditException extends Exception {

	private static final long serialVersionUID = 1L;

	private final ErrorKind kind;
	private final Duration retryAfter;

	public EditException(ErrorKind kind, String message) {
		this(kind, message, null, null);
	}

	public EditException(ErrorKind kind, String message, Throwable cause) {
		this(kind, message, null, cause);
	}

	public EditException(ErrorKind kind, String message, Duration retryAfter, Throwable cause) {
		super(message, cause);
		this.kind = kind;
		this.retryAfter = retryAfter;
	}

	public ErrorKind kind() {
		return kind;
	}

	/** How long the provider asked us to wait, for {@link ErrorKind#RATE_LIMITED}. */
	public Optional<Duration> retryAfter() {
		return Optional.ofNullable(retryAfter);
	}

	/** Heading and sentence together, as shown to the user. */
	public String describe() {
		return kind.title() + ": " + getMessage();
	}
}
