package io.github.qwenedit.emulator;

/** Why an emulator could not get an input image; each emulator words this the way its provider does. */
public final class ImageFetchException extends Exception {

	private static final long serialVersionUID = 1L;

	public enum Reason {
		/** Neither an http(s) URL nor a base64 data URI, or not parseable as one. */
		UNSUPPORTED_REFERENCE,
		/** No connection, a time-out, a redirect or a non-2xx answer. */
		UNREACHABLE,
		/** The answer or the data URI is not a decodable image. */
		NOT_AN_IMAGE,
		/** More bytes than the provider takes. */
		TOO_LARGE
	}

	private final Reason reason;

	ImageFetchException(Reason reason, String detail) {
		super(detail);
		this.reason = reason;
	}

	public Reason reason() {
		return reason;
	}
}
