package io.github.qwenedit.staging;

import java.util.Optional;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.http.Http;

/**
 * Puts input images where a provider can read them, and takes them away again. {@link #close()}
 * is called whatever happened to the job, and deletes everything {@link #stage} created.
 */
public interface Staging extends AutoCloseable {

	StagingRoute route();

	/** @return the link (https or data URI) that the provider is given for this image */
	String stage(InputImage image, Http http) throws EditException;

	/** Keys of the objects staged so far and not yet deleted, for a journal that outlives a crash. */
	default java.util.List<String> objectKeys() {
		return java.util.List.of();
	}

	/**
	 * What the user must know about copies that outlive the edit (a provider's storage without a
	 * delete call), for the provenance and the log; empty when {@link #close()} removes everything.
	 */
	default Optional<String> notice() {
		return Optional.empty();
	}

	/**
	 * Deletes every staged object, retrying failed deletes; throws only when something is left
	 * behind, with the keys that are.
	 */
	@Override
	void close() throws EditException;
}
