package io.github.qwenedit.core;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** How to find a submitted job again: its id and the links the provider gave for it. */
public final class JobHandle {

	private final String id;
	private final String pollUrl;
	private final String cancelUrl;
	private final String resultUrl;
	private final Map<String, String> submitFacts;

	public JobHandle(String id, String pollUrl, String cancelUrl, String resultUrl) {
		this(id, pollUrl, cancelUrl, resultUrl, Map.of());
	}

	private JobHandle(String id, String pollUrl, String cancelUrl, String resultUrl, Map<String, String> submitFacts) {
		this.id = id;
		this.pollUrl = pollUrl;
		this.cancelUrl = cancelUrl;
		this.resultUrl = resultUrl;
		this.submitFacts = Map.copyOf(submitFacts);
	}

	/**
	 * The same job with provenance facts that only the submit answer carries (credits remaining on
	 * PixelDojo); {@link JobState#succeeded} adds them to the final facts.
	 */
	public JobHandle withSubmitFacts(Map<String, String> facts) {
		Map<String, String> all = new LinkedHashMap<>(submitFacts);
		all.putAll(facts);
		return new JobHandle(id, pollUrl, cancelUrl, resultUrl, all);
	}

	/** The same job with the cancel link a later status answer gave. */
	public JobHandle withCancelUrl(String link) {
		return new JobHandle(id, pollUrl, link, resultUrl, submitFacts);
	}

	public Map<String, String> submitFacts() {
		return submitFacts;
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
