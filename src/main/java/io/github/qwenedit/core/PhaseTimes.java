package io.github.qwenedit.core;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How long each phase of one edit took (prepare, upload, submit, wait, download, cleanup), for the
 * batch log and the benchmarks: where the time goes beyond the provider's own processing.
 */
public final class PhaseTimes {

	private final Map<String, Duration> phases = new LinkedHashMap<>();
	private final Map<String, Long> ends = new LinkedHashMap<>();
	private long mark = System.nanoTime();

	/** Ends the current phase under {@code name} and starts the next one. */
	public synchronized void lap(String name) {
		long now = System.nanoTime();
		phases.merge(name, Duration.ofNanos(now - mark), Duration::plus);
		ends.put(name, now);
		mark = now;
	}

	/** {@link System#nanoTime()} when {@code name} last ended, or 0 if it never ran. */
	public synchronized long endNanos(String name) {
		return ends.getOrDefault(name, 0L);
	}

	public synchronized Map<String, Duration> asMap() {
		return Collections.unmodifiableMap(new LinkedHashMap<>(phases));
	}

	/** For logs: {@code prepare=12ms upload=40ms ...}. */
	@Override
	public synchronized String toString() {
		StringBuilder sb = new StringBuilder();
		phases.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : " ").append(k).append('=').append(v.toMillis()).append("ms"));
		return sb.toString();
	}
}
