package io.github.qwenedit.staging;

import java.time.Instant;
import java.util.Objects;

/** One object as a bucket listing shows it. */
public final class BucketObject {

	private final String key;
	private final Instant lastModified;
	private final long size;

	public BucketObject(String key, Instant lastModified, long size) {
		this.key = Objects.requireNonNull(key, "key");
		this.lastModified = Objects.requireNonNull(lastModified, "lastModified");
		this.size = size;
	}

	public String key() {
		return key;
	}

	public Instant lastModified() {
		return lastModified;
	}

	public long size() {
		return size;
	}

	@Override
	public String toString() {
		return key + " (" + size + " bytes, " + lastModified + ")";
	}
}
