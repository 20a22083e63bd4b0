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

	/**
	 * @param beforeUpload told every key staged so far, this one included, before an upload whose key
	 *          the plugin chooses itself begins: a kill during the upload can leave the object stored,
	 *          and a journal that names it lets the next run delete it. Storages that name the object
	 *          in their answer (a provider's own) cannot tell it earlier and do not call it.
	 * @return the link (https or data URI) that the provider is given for this image
	 */
	String stage(InputImage image, Http http, UploadListener beforeUpload) throws EditException;

	/** {@link #stage(InputImage, Http, UploadListener)} for a caller that keeps no journal. */
	default String stage(InputImage image, Http http) throws EditException {
		return stage(image, http, keys -> {});
	}

	/** See {@link Staging#stage(InputImage, Http, UploadListener)}. */
	interface UploadListener {
		/** @throws EditException when the keys cannot be recorded: the upload is then not made */
		void aboutToUpload(java.util.List<String> keys) throws EditException;
	}

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
