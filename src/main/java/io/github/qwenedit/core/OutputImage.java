package io.github.qwenedit.core;

/** One image the provider returned, downloaded at once because provider links expire. */
public final class OutputImage {

	private final byte[] bytes;
	private final String mimeType;

	public OutputImage(byte[] bytes, String mimeType) {
		this.bytes = bytes;
		this.mimeType = mimeType;
	}

	/** The encoded bytes as downloaded; callers must not modify the array. */
	public byte[] bytes() {
		return bytes;
	}

	public String mimeType() {
		return mimeType;
	}

	public String sha256() {
		return Hashing.sha256Hex(bytes);
	}
}
