package io.github.qwenedit.staging;

import java.util.Optional;

/**
 * What staging needs to know of the service the images are staged for: how it reads them (inline,
 * through its own upload service, or from links only). Every provider is one.
 */
public interface ImageRecipient {

	/** Name shown to the user, such as {@code DashScope}. */
	String displayName();

	/**
	 * The largest total length of the data URIs that may travel inline in one request (the images'
	 * share of the provider's body limit); 0 when the provider only fetches links.
	 */
	long maxInlineBytes();

	/**
	 * Whether images too large to travel inline may be re-encoded and scaled down until they fit;
	 * when false, they must go through a bucket instead.
	 */
	default boolean shrinksToFitInline() {
		return true;
	}

	/**
	 * The provider's own upload service as a staging route, for users without a bucket; empty when
	 * the provider has none. Objects it creates are deleted on close where the API allows.
	 */
	default Optional<Staging> uploadStaging() {
		return Optional.empty();
	}

	/**
	 * Whether input images reach the provider only through {@link #uploadStaging()}: a server of the
	 * user's own reads files from its own input folder, never links or data URIs.
	 */
	default boolean readsOnlyOwnUploads() {
		return false;
	}
}
