package io.github.qwenedit.provider;

import java.util.List;
import java.util.Optional;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.staging.ImageRecipient;
import io.github.qwenedit.staging.Staging;

/**
 * One cloud service that runs Qwen image edits. Providers differ only in how they spell requests
 * and statuses: validation, staging, polling, downloading and clean-up live once, in
 * the edit session and {@link JobPoller}.
 */
public interface EditProvider extends ImageRecipient {

	/** Its identity, models and settings, the same ones the dialog lists before any provider is created. */
	ProviderDescriptor descriptor();

	/**
	 * How hard this provider may be driven: its descriptor's limits, unless the provider was configured
	 * with more capacity (several servers of the user's own).
	 */
	default ProviderLimits limits() {
		return descriptor().limits();
	}

	/** Stable identifier used in macros and settings, such as {@code dashscope}. */
	default String id() {
		return descriptor().id();
	}

	@Override
	default String displayName() {
		return descriptor().displayName();
	}

	/**
	 * The base address this provider was configured with. What the poller learns of how long jobs
	 * take holds for one service, not for another region or gateway of the same provider.
	 */
	String serviceAddress();

	/**
	 * Every base address this provider was configured with, {@link #serviceAddress()} first: a job of a
	 * journal may name any of them (several servers of the user's own), and no other.
	 */
	default List<String> serviceAddresses() {
		return List.of(serviceAddress());
	}

	/**
	 * Whether a journalled job on an address not configured now is kept for when it is configured
	 * again (the user's own servers, whose list changes) rather than set aside as a journal from
	 * elsewhere (a cloud service has one address). Either way it is never called with the key.
	 */
	default boolean keepsJobsOfOtherAddresses() {
		return false;
	}

	/** The models offered, the default first, with those the user added in the settings folder. */
	default List<ModelSpec> models() {
		return descriptor().models(this);
	}

	default ModelSpec model(String id) throws EditException {
		for (ModelSpec m : models()) {
			if (m.id().equals(id)) return m;
		}
		StringBuilder names = new StringBuilder();
		for (ModelSpec m : models()) {
			names.append(names.length() == 0 ? "" : ", ").append(m.id());
		}
		throw new EditException(ErrorKind.INVALID_INPUT, displayName() + " has no model \"" + id +
			"\". Choose one of: " + names + ".");
	}

	/**
	 * The handle the job of the create about to go out with {@code imageUrls} will have, where the
	 * client names its jobs itself (ComfyUI takes the request's own {@code prompt_id}); empty where the
	 * provider names them in its answer. Journalled before the create, it lets a run killed while the
	 * create was in flight be followed up by asking for that job, rather than the edit sent twice;
	 * {@link #submit} then uses it.
	 */
	default Optional<JobHandle> plannedJob(List<String> imageUrls) {
		return Optional.empty();
	}

	/**
	 * Model names the service itself lists as installed, beyond the catalogue's, for the dialog to
	 * offer after them: the lab's own server names its model files. Empty for a cloud service, whose
	 * models are the catalogue's.
	 */
	default List<String> installedModels(Http http) throws EditException {
		return List.of();
	}

	/**
	 * The uploads an earlier run staged with {@link #uploadStaging()} and recorded in its journal
	 * ({@link Staging#objectKeys()}), as a staging whose {@link Staging#close()} deletes them; empty
	 * when none of {@code journalKeys} is such an upload.
	 */
	default Optional<Staging> stagedUploads(List<String> journalKeys, Http http) {
		return Optional.empty();
	}

	/** Whether {@code journalKey} names an upload of {@link #uploadStaging()} rather than a bucket object. */
	default boolean isStagedUploadKey(String journalKey) {
		return false;
	}

	/**
	 * Checks the options against the model's input schema where the provider publishes one (read
	 * through {@link PublishedSchemas}), before anything is uploaded or paid for.
	 *
	 * @return a sentence for the log when the schema could not be read and the built-in table was used
	 */
	default Optional<String> checkPublishedSchema(EditRequest request, Http http) throws EditException {
		return Optional.empty();
	}

	/**
	 * What the model's published schema allows, for the dialog to offer, when this program has read
	 * it already: no call is made, so the dialog never waits for a provider. Empty when no schema was
	 * read, or the provider publishes none.
	 */
	default Optional<PublishedChoices> publishedChoices(String model) throws EditException {
		return Optional.empty();
	}

	/**
	 * Sends the job. A synchronous API returns a final state at once; a queue returns a handle.
	 *
	 * @param imageUrls one link (https or data URI) per request image, in order
	 */
	JobState submit(EditRequest request, List<String> imageUrls, Http http) throws EditException;

	/**
	 * Headers the download of one of this provider's result links needs (a proxy's authentication in
	 * front of the user's own server); none for the cloud providers, whose links are signed.
	 */
	default okhttp3.Headers downloadHeaders(String outputUrl) {
		return okhttp3.Headers.of();
	}

	/**
	 * Whether a job here costs money: false for the user's own server, whose models are all
	 * self-hosted, so that a job that was not stopped is said to run on, not to charge.
	 */
	default boolean chargesForJobs() {
		List<ModelSpec> offered = models();
		return offered.isEmpty() || offered.stream().anyMatch(model -> !model.selfHosted());
	}

	/**
	 * How {@code job} is followed: by status requests on the {@link #pollSchedule()} (the default),
	 * or by a {@link #poll} that itself waits for news ({@link Observation#STREAM}). Asked before each
	 * wait, since a provider may fall back from its stream to status requests for one job.
	 */
	default Observation observation(JobHandle job) {
		return Observation.POLL;
	}

	/** How often {@link #poll} may be called; providers with a tight request limit ask less often. */
	default PollSchedule pollSchedule() {
		return PollSchedule.DEFAULT;
	}

	/** Asks where the job stands. Called only for states that are not final. */
	JobState poll(JobHandle job, Http http) throws EditException;

	/**
	 * Checks the key with the cheapest authenticated call the provider offers, starting no job.
	 *
	 * @return a sentence for the user when the key works
	 */
	String checkKey(Http http) throws EditException;

	/**
	 * Asks the provider to stop the job, where its API allows.
	 *
	 * @return whether the provider confirmed the cancellation (if not, it may still charge)
	 */
	boolean cancel(JobHandle job, Http http);
}
