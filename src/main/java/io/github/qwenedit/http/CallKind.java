package io.github.qwenedit.http;

/** Whether a call may be repeated after a failure without risking a second charge. */
public enum CallKind {
	/**
	 * Reading or deleting: repeated on 429, 5xx and network failures.
	 */
	IDEMPOTENT,
	/**
	 * Creating a paid job: repeated only when the provider cannot have received it (429, or a
	 * connection that was never made), because repeating it could run and bill the job twice.
	 */
	CREATE
}
