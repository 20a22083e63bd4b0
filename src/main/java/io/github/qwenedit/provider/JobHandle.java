package io.github.qwenedit.provider;

import java.util.Optional;

/** How to find a submitted job again: its id and the links the provider gave for it. */
public final class JobHandle {

	private final String id;
	private final String pollUrl;
	private final String cancelUrl;
	private final String resultUrl;

	public JobHandle(String id, String pollUrl, String cancelUrl, String resultUrl) {
		this.id = id;
		this.pollUrl = pollUrl;
		this.cancelUrl = cancelUrl;
		this.resultUrl = resultUrl;
	}

	/** A job that finished in the submit call itself (synchronous APIs). */
	public static JobHandle finishedAtOnce(String requestId) {
		return new JobHandle(requestId, null, null, null);
	}

	/** The provider's request or job id, recorded in the provenance. */
	public String id() {
		return id;
	}

	public Optional<String> pollUrl() {
		return Optional.ofNullable(pollUrl);
	}

	public Optional<String> cancelUrl() {
		return Optional.ofNullable(cancelUrl);
	}

	public Optional<String> resultUrl() {
		return Optional.ofNullable(resultUrl);
	}
}
