package io.github.qwenedit.staging;

/** How input images reach the provider. */
public enum StagingRoute {
	/** A temporary object in the user's S3-compatible bucket behind a presigned link. */
	BUCKET,
	/** Inside the request itself, as a {@code data:} URI. */
	INLINE,
	/** The provider's own upload service. */
	PROVIDER_UPLOAD;

	public String label() {
		switch (this) {
			case BUCKET:
				return "bucket (presigned link)";
			case INLINE:
				return "inline (data URI)";
			default:
				return "provider upload";
		}
	}
}
