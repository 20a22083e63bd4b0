package io.github.qwenedit.engine;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

import io.github.qwenedit.codec.InputFitting;
import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.MimeTypes;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.core.OutputImage;
import io.github.qwenedit.core.PhaseTimes;
import io.github.qwenedit.core.ProgressListener;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.core.RequestValidator;
import io.github.qwenedit.core.UsdPerCny;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.JobPoller;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.staging.BucketConfig;
import io.github.qwenedit.staging.Staging;
import io.github.qwenedit.staging.StagingChoice;
import io.github.qwenedit.staging.StagingPlanner;

/**
 * One edit from request to downloaded images: validate, fit the inputs, stage them, submit, wait,
 * download, and always clean up. The same pipeline serves every provider, the Fiji command, the
 * batch and scripts.
 */
public final class EditSession {

	public static final Duration DEFAULT_DEADLINE = Duration.ofMinutes(10);

	/**
	 * How long a create already on its way may still take after a cancel: its answer names the job,
	 * which can then be stopped before it is charged; cut off, the job may exist with no id known.
	 */
	static final Duration CREATE_GRACE = Duration.ofSeconds(5);

	private final EditProvider provider;
	private final StagingPlanner staging;
	private final Set<String> plainHttpHosts;
	private final Duration deadline;
	private final long downloadCapBytes;
	/** Set from the configuration in {@link #configured}; the default for sessions made directly. */
	private UsdPerCny usdPerCny = UsdPerCny.DEFAULT;

	public EditSession(EditProvider provider, StagingPlanner staging, Set<String> plainHttpHosts, Duration deadline) {
		this(provider, staging, plainHttpHosts, deadline, Http.DEFAULT_DOWNLOAD_CAP_BYTES);
	}

	public EditSession(EditProvider provider, StagingPlanner staging, Set<String> plainHttpHosts, Duration deadline,
		long downloadCapBytes)
	{
		this.provider = provider;
		this.staging = staging;
		this.plainHttpHosts = Set.copyOf(plainHttpHosts);
		this.deadline = deadline;
		this.downloadCapBytes = downloadCapBytes;
	}

	public EditProvider provider() {
		return provider;
	}

	/** The time one edit may take, waits for the provider included. */
	public Duration deadline() {
		return deadline;
	}

	/**
	 * The pipeline of one edit, or of every job of a batch, as the configuration sets it up: the
	 * staging route and bucket, the hosts the user allowed plain http for, the deadline and the
	 * download cap.
	 *
	 * @param warnings told, one sentence each, of problems that do not stop the run
	 */
	public static EditSession configured(ProviderDescriptor descriptor, EditProvider provider, StagingChoice choice,
		Configuration config, Consumer<String> warnings) throws EditException
	{
		config.ignoredSecretsWarning().ifPresent(warnings);
		StagingPlanner planner = StagingPlanner.forRun(config, choice, warnings);
		descriptor.unreportedCatalogueProblems(config).forEach(warnings);
		EditSession session = new EditSession(provider, planner, plainHttpHosts(descriptor, config, choice),
			deadline(config), downloadCapBytes(config));
		session.usdPerCny = UsdPerCny.from(config);
		return session;
	}

	/**
	 * The hosts the user configured with plain http, the only ones it may be used for: the
	 * provider's and, unless images only ever go inline, the bucket's endpoint, whose links the
	 * provider is given.
	 */
	public static Set<String> plainHttpHosts(ProviderDescriptor descriptor, Configuration config, StagingChoice choice)
		throws EditException
	{
		Set<String> hosts = new HashSet<>(descriptor.plainHttpHosts(config));
		if (choice != StagingChoice.INLINE) BucketConfig.from(config).ifPresent(b -> hosts.addAll(b.plainHttpHosts()));
		return hosts;
	}

	/** The overall deadline of one edit, from {@code QWEN_EDIT_DEADLINE_SECONDS}. */
	public static Duration deadline(Configuration config) throws EditException {
		int seconds = config.getInt(Configuration.DEADLINE_SECONDS, (int) DEFAULT_DEADLINE.getSeconds());
		if (seconds < 1) throw new EditException(ErrorKind.INVALID_INPUT, Configuration.DEADLINE_SECONDS + " must be at least 1.");
		return Duration.ofSeconds(seconds);
	}

	/** The largest result image downloaded, from {@code QWEN_EDIT_DOWNLOAD_CAP_MB} (default 64 MiB). */
	public static long downloadCapBytes(Configuration config) throws EditException {
		int mib = config.getInt(Configuration.DOWNLOAD_CAP_MB, (int) (Http.DEFAULT_DOWNLOAD_CAP_BYTES / (1024 * 1024)));
		if (mib < 1) throw new EditException(ErrorKind.INVALID_INPUT, Configuration.DOWNLOAD_CAP_MB + " must be at least 1.");
		return mib * 1024L * 1024L;
	}

	/**
	 * Told about each job just before it is sent, the moment the provider has accepted it, and once
	 * it succeeded, with its result links, before they are downloaded: a journal records it there, so
	 * that a result finished or paid for while the program was stopped can still be fetched, and
	 * staged objects of a job cut short are still deleted.
	 */
	public interface SubmissionListener {
		SubmissionListener NONE = new SubmissionListener() {
			@Override
			public void aboutToUpload(List<String> stagedKeys) {}

			@Override
			public void refused(List<String> stagedKeys) {}

			@Override
			public boolean keepsJobs() {
				return false;
			}
		};

		/**
		 * An input is about to be uploaded under a key the plugin chose, listed with those staged
		 * before it: a kill during the upload leaves the object stored, and a journal that names it
		 * lets the next run delete it. Nothing has been sent to the provider yet. Not a default, so
		 * that a listener wrapping another must pass it on.
		 */
		void aboutToUpload(List<String> stagedKeys) throws EditException;

		/**
		 * The inputs are staged and the create is about to go out.
		 *
		 * @param provenance what the results will carry, but for what only the provider's answer tells
		 *          (see {@link EditSession#finish})
		 * @param planned the job's handle where the provider lets the client name it ({@link EditProvider#plannedJob})
		 */
		default void aboutToSubmit(List<String> stagedKeys, Provenance provenance, Optional<JobHandle> planned)
			throws EditException
		{}

		/**
		 * The provider took the job: its handle, and its result links once it succeeded (at once for a
		 * job final in the create's answer). Told again when a job that was running has succeeded.
		 */
		default void accepted(JobState state, List<String> stagedKeys) throws EditException {}

		/**
		 * The provider refused the create (HTTP 429, handed back by {@link Http} at once): it holds no
		 * job and charged nothing, and the create is sent again after a wait with the inputs already
		 * staged. Not a default, so that a listener wrapping another must pass it on.
		 */
		void refused(List<String> stagedKeys) throws EditException;

		/**
		 * How often a create the provider refused is sent, the first time included: for a single edit
		 * as often as any call is tried ({@link RetryPolicy#DEFAULT}); more for a batch, which runs
		 * unattended.
		 */
		default int createAttempts() {
			return RetryPolicy.DEFAULT.maxAttempts();
		}

		/**
		 * Whether a job this listener recorded outlives the program, so that a later run can fetch it:
		 * a job whose status cannot be read is then left running rather than stopped. Not a default, so
		 * that a listener wrapping another must pass its answer on.
		 */
		boolean keepsJobs();
	}

	/**
	 * The checks {@link #run} makes before it stages anything that do not depend on the images: the
	 * model's built-in limits, then its published schema, read at most once per session and within
	 * {@link io.github.qwenedit.provider.PublishedSchemas#READ_TIME}. A batch makes them before it asks
	 * to start, so that an option none of its edits could be sent with is refused once, before any
	 * upload or paid call, instead of failing every image.
	 *
	 * @return the sentence for the log when the schema could not be read and the built-in table was used
	 */
	public Optional<String> checkOptions(String instruction, EditOptions options, Cancellation cancellation)
		throws EditException
	{
		RequestValidator.validateInstructionAndOptions(instruction, options, provider.model(options.model()));
		Http http = new Http(RetryPolicy.DEFAULT, cancellation, Deadline.after(deadline), plainHttpHosts);
		return provider.checkPublishedSchema(new EditRequest(List.of(), instruction, options), http);
	}

	/** Runs the edit; any failure arrives as an {@link EditException} with a sentence for the user. */
	public EditResult run(EditRequest request, ProgressListener progress, Cancellation cancellation)
		throws EditException
	{
		return run(request, progress, cancellation, SubmissionListener.NONE);
	}

	/** As {@link #run(EditRequest, ProgressListener, Cancellation)}, telling {@code listener} of the job. */
	public EditResult run(EditRequest request, ProgressListener progress, Cancellation cancellation,
		SubmissionListener listener) throws EditException
	{
		Deadline editDeadline = Deadline.after(deadline);
		PhaseTimes times = new PhaseTimes();
		ModelSpec model = provider.model(request.options().model());
		RequestValidator.validate(request, model);
		List<String> warnings = new ArrayList<>();
		progress.progress("Preparing " + count(request.images().size(), "image"), 0.02);

		List<String> adjustments = new ArrayList<>();
		List<InputImage> fitted = new ArrayList<>();
		for (InputImage image : request.images()) {
			InputFitting.Fitted f = InputFitting.fitSides(image, model.inputMinSide(), InputFitting.MAX_SIDE);
			fitted.add(f.image());
			f.note().ifPresent(n -> adjustments.add("image " + (fitted.size()) + ": " + n));
		}

		editDeadline.throwIfExpired();
		Http http = new Http(RetryPolicy.DEFAULT, cancellation, editDeadline, plainHttpHosts);
		StagingPlanner.Plan plan = staging.plan(provider, fitted);
		adjustments.addAll(plan.adjustments());
		List<InputImage> sent;
		try {
			sent = fitEachFile(plan.images(), model, adjustments);
			// After the local checks, so that what the plugin can refuse by itself costs no request at all.
			provider.checkPublishedSchema(request, http).ifPresent(notice -> {
				warnings.add(notice);
				progress.progress(notice, 0.03);
			});
		}
		catch (EditException | RuntimeException e) {
			closeQuietly(plan.staging(), e);
			throw e;
		}
		EditRequest prepared = request.withImages(sent);

		times.lap("prepare");
		java.util.OptionalDouble estimate = model.estimatedCostUsd(request.options().outputs(), usdPerCny);
		progress.progress(provider.displayName() + " " + model.id() + ": estimated cost " +
			model.describeCost(request.options().outputs(), usdPerCny), 0.04);
		Optional<String> rateUsed = model.pricedInCny() ? Optional.of(usdPerCny.describe()) : Optional.empty();
		Instant started = Instant.now();
		JobState finalState;
		List<OutputImage> outputs;
		Staging stage = plan.staging();
		EditException failure = null;
		Provenance before = null;
		// The last journal write that failed once the provider had the job; null when it was recorded.
		Unjournalled unjournalled = null;
		try {
			List<String> links = new ArrayList<>();
			for (int i = 0; i < sent.size(); i++) {
				cancellation.throwIfCancelled();
				progress.progress("Uploading image " + (i + 1) + " of " + sent.size(), 0.05 + 0.15 * i / sent.size());
				links.add(stage.stage(sent.get(i), http, listener::aboutToUpload));
			}
			times.lap("upload");
			cancellation.throwIfCancelled();
			progress.progress("Submitting to " + provider.displayName(), 0.2);
			before = provenanceBeforeSubmit(model, prepared, request, started, stage, adjustments, estimate, rateUsed);
			JobState submitted = submitUntilTaken(prepared, links, stage, before, listener, progress, http);
			times.lap("submit");
			if (submitted.status() != JobState.Status.FAILED) unjournalled = accepted(listener, submitted, stage);
			finalState = JobPoller.awaitFinal(provider, submitted, http, progress,
				model.id() + "|" + request.options().outputs() + " outputs", listener.keepsJobs() && unjournalled == null);
			times.lap("wait");
			if (finalState.status() == JobState.Status.FAILED) {
				throw finalState.error().orElseGet(() -> new EditException(ErrorKind.PROVIDER_FAILURE,
					provider.displayName() + " reported that the edit failed, without a reason."));
			}
			List<String> urls = finalState.outputUrls();
			int asked = request.options().outputs();
			if (urls.size() > asked) {
				warnings.add(provider.displayName() + " returned " + urls.size() + " images where " + (asked == 1
					? "1 was asked for: only the first was downloaded" : asked + " were asked for: only the first " + asked +
						" were downloaded") + "; the other " + (urls.size() - asked) + " links were left unopened.");
				JobState trimmed = JobState.succeeded(finalState.handle(), urls.subList(0, asked), finalState.facts());
				for (String notice : finalState.notices()) {
					trimmed = trimmed.withNotice(notice);
				}
				finalState = trimmed;
			}
			if (!submitted.status().isFinal()) unjournalled = accepted(listener, finalState, stage);
			outputs = download(provider.displayName(), finalState, http, downloadCapBytes, progress, provider::downloadHeaders);
			times.lap("download");
		}
		catch (EditException e) {
			// Uploads that cannot be deleted outlive a failed edit too, and the user must hear of them.
			failure = warnedOf(stage, model).map(e::followedBy).orElse(e);
			if (unjournalled != null) failure = failure.followedBy(unjournalled.afterFailure());
			throw failure;
		}
		finally {
			progress.progress("Cleaning up", 0.97);
			try {
				stage.close();
			}
			catch (EditException cleanup) {
				if (failure != null) failure.addSuppressed(cleanup);
				else warnings.add(cleanup.getMessage());
			}
			times.lap("cleanup");
		}

		if (unjournalled != null) warnings.add(unjournalled.afterSuccess());
		Provenance provenance = finish(before, finalState);
		// As the edit ended: an edit handed to another server left its copies there instead.
		stage.notice().ifPresent(note -> provenance.put(Provenance.STAGING_NOTE, note));
		warnings.addAll(finalState.notices());
		warnedOf(stage, model).ifPresent(warnings::add);
		if (model.selfHosted()) stage.notice().ifPresent(note -> progress.progress(note, 0.98));
		StringBuilder done = new StringBuilder("Done: " + count(outputs.size(), "image"));
		finalState.facts().forEach((k, v) -> done.append(", ").append(k).append(' ').append(v));
		progress.progress(done.toString(), 1);
		return new EditResult(outputs, provenance, warnings, times);
	}

	/** A job the journal could not record once the provider had taken it: why, and which job. */
	private static final class Unjournalled {
		final EditException why;
		final String jobId;

		Unjournalled(EditException why, String jobId) {
			this.why = why;
			this.jobId = jobId;
		}

		String afterSuccess() {
			return why.getMessage() + " The edit went on with job " + jobId + ", but had it stopped before its result " +
				"was saved, the job could not have been fetched later.";
		}

		/** Whatever the failure says of the journal, this job is not in it: nothing can fetch it later. */
		String afterFailure() {
			return why.getMessage() + " So job " + jobId + " is not in the journal, and what it left cannot be fetched " +
				"later.";
		}
	}

	/**
	 * Tells {@code listener} of the job. A job the listener could not record (a journal on a full
	 * disk) is paid for and running: the edit goes on to fetch it rather than abandon it, and only a
	 * stop before its result is saved loses track of it, as the edit then says.
	 *
	 * @return null when the job was recorded
	 */
	private static Unjournalled accepted(SubmissionListener listener, JobState state, Staging stage) {
		try {
			listener.accepted(state, stage.objectKeys());
			return null;
		}
		catch (EditException e) {
			return new Unjournalled(e, state.handle().id());
		}
	}

	/**
	 * Downloads every result of a job that succeeded, the same for an edit and for a recovery. A
	 * failure says what it left: a result that may still be fetched, whenever a link could not be
	 * downloaded (a link that answers 404 now may work later, one over the download cap works once the
	 * cap is raised; a recovery gives up on links that still answer 403 or 404 after its own tries),
	 * or one that cannot (no link at all, or what was downloaded is not an image).
	 *
	 * @param providerName as messages name the provider
	 * @param headers the headers each link needs ({@link EditProvider#downloadHeaders})
	 */
	public static List<OutputImage> download(String providerName, JobState succeeded, Http http, long capBytes,
		ProgressListener progress, java.util.function.Function<String, okhttp3.Headers> headers) throws EditException
	{
		List<String> urls = succeeded.outputUrls();
		JobHandle job = succeeded.handle();
		if (urls.isEmpty()) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, providerName +
				" finished the job but returned no image. Try again, perhaps with another instruction.")
					.leaving(EditException.Charge.LOST_RESULT, job, urls);
		}
		List<OutputImage> outputs = new ArrayList<>();
		for (int i = 0; i < urls.size(); i++) {
			progress.progress("Downloading result " + (i + 1) + " of " + urls.size(), 0.8 + 0.15 * i / urls.size());
			byte[] bytes;
			try {
				bytes = http.download(urls.get(i), capBytes, providerName, headers.apply(urls.get(i)));
			}
			catch (io.github.qwenedit.http.ExpiredLinkException e) {
				// Kept as the cause: a recovery tells an expired result from a broken one.
				throw new EditException(e.kind(), e.getMessage(), e).leaving(EditException.Charge.UNSAVED_RESULT, job, urls);
			}
			catch (EditException e) {
				throw e.leaving(EditException.Charge.UNSAVED_RESULT, job, urls);
			}
			String mime = MimeTypes.sniff(bytes);
			if (mime == null) {
				throw new EditException(ErrorKind.PROVIDER_FAILURE, providerName +
					" returned a result that is not an image. Try again; if it persists, report it to the provider.")
						.leaving(EditException.Charge.LOST_RESULT, job, urls);
			}
			outputs.add(new OutputImage(bytes, mime));
		}
		return outputs;
	}

	/**
	 * Every route ends in a file the provider reads, so its per-image limit applies after the route's
	 * own fitting: an inline JPEG is then usually small enough already, and a staged PNG is shrunk here
	 * rather than refused by the provider after the upload.
	 */
	private List<InputImage> fitEachFile(List<InputImage> images, ModelSpec model, List<String> adjustments)
		throws EditException
	{
		if (model.maxImageBytes() <= 0) return images;
		InputFitting.FittedSet fitted = InputFitting.fitEachFile(images, model.maxImageBytes(), model.inputMinSide(),
			provider.displayName() + " " + model.id());
		adjustments.addAll(fitted.notes());
		return fitted.images();
	}

	/**
	 * The staging's notice where the user must be warned of it: inputs left in a cloud service's
	 * storage. Inputs left on the lab's own server (ComfyUI's input folder, documented in the README)
	 * are recorded in the provenance and shown in the status bar instead: a warning on every edit
	 * would open Fiji's Console each time (scijava-common's AbstractConsolePane shows it on any
	 * output to stderr, where warnings go).
	 */
	private static Optional<String> warnedOf(Staging stage, ModelSpec model) {
		return model.selfHosted() ? Optional.empty() : stage.notice();
	}

	/** Nothing was staged yet, so closing only releases the route; a failure there must not hide {@code cause}. */
	private static void closeQuietly(Staging stage, Exception cause) {
		try {
			stage.close();
		}
		catch (EditException | RuntimeException cleanup) {
			cause.addSuppressed(cleanup);
		}
	}

	/**
	 * Sends the create, and again, as often as the listener allows within the deadline, while the
	 * provider refuses it (HTTP 429): a refused create left no job, so it is sent again with the
	 * links already staged, never by staging the inputs anew, after the provider's Retry-After or
	 * the retry policy's back-off. The refusal comes straight back from {@link Http}
	 * ({@link Http#handingRefusedCreatesBack()}), so every wait is here: the journal is told of the
	 * refusal before it, a kill during it leaves an entry that says nothing was charged, and a cancel
	 * ends it at once.
	 */
	private JobState submitUntilTaken(EditRequest prepared, List<String> links, Staging stage, Provenance before,
		SubmissionListener listener, ProgressListener progress, Http http) throws EditException
	{
		for (int attempt = 1;; attempt++) {
			Optional<JobHandle> planned = provider.plannedJob(links);
			listener.aboutToSubmit(stage.objectKeys(), before.copy(), planned);
			try {
				return submit(prepared, links, planned, http);
			}
			catch (EditException e) {
				boolean refused = e.kind() == ErrorKind.RATE_LIMITED && !e.charge().leavesSomethingToFetch();
				if (!refused || attempt >= listener.createAttempts()) throw e;
				Duration wait = http.retryPolicy().delayAfter(attempt, e.retryAfter());
				Duration left = http.deadline().remaining();
				if (wait.compareTo(left) >= 0) {
					throw new EditException(ErrorKind.RATE_LIMITED, provider.displayName() + " refused the job (HTTP " +
						"429) and asked to wait " + RetryPolicy.describeWait(wait) + ", more than is left of this edit's " +
						"deadline (" + Deadline.describe(left) + "), so it was not sent again; try again later.", wait, e);
				}
				listener.refused(stage.objectKeys());
				progress.progress(provider.displayName() + " refused the job (HTTP 429): sending it again in " +
					RetryPolicy.describeWait(wait), 0.2);
				http.cancellation().sleep(wait, http.deadline().ticker());
			}
		}
	}

	/**
	 * A cancel while the create call is in flight lets the call finish, for at most
	 * {@link #CREATE_GRACE} and within the deadline: with the job's id in hand the job is journalled
	 * and then stopped at the provider by {@link JobPoller#awaitFinal}, which sees the cancel at once.
	 * A create cut off all the same cannot tell whether the provider already took the job, so the
	 * user is told it may still be charged.
	 */
	private JobState submit(EditRequest prepared, List<String> links, Optional<JobHandle> planned, Http http)
		throws EditException
	{
		Cancellation afterGrace = new Cancellation();
		try (Cancellation.Registration passedOn = http.cancellation().passOnAfter(afterGrace, CREATE_GRACE)) {
			return provider.submit(prepared, links, http.handingRefusedCreatesBack().withCancellation(afterGrace));
		}
		catch (EditException e) {
			boolean unanswered = e.kind() == ErrorKind.CANCELLED || e.kind() == ErrorKind.TIMED_OUT ||
				e.kind() == ErrorKind.NETWORK && !neverSent(e.getCause());
			if (!unanswered) throw e;
			EditException cutOff = e.kind() == ErrorKind.NETWORK ? e : e.followedBy("The request had been sent to " +
				provider.displayName() + (provider.chargesForJobs() ? ", which may still run and charge for it."
					: ", which may still run it."));
			// A job the client named (planned, or named by the provider's own failure) can be asked about later.
			JobHandle named = e.job().orElse(planned.orElse(null));
			throw cutOff.leaving(named == null ? EditException.Charge.UNIDENTIFIED_JOB : EditException.Charge.RUNNING_JOB,
				named, List.of());
		}
	}

	/** A connection that was never made: the request cannot have reached the provider. */
	private static boolean neverSent(Throwable cause) {
		return cause instanceof java.net.ConnectException || cause instanceof java.net.UnknownHostException ||
			cause instanceof java.net.NoRouteToHostException;
	}

	/**
	 * What the results will carry that is known before the create goes out; a journal keeps it, so
	 * that a result fetched by a later recovery carries the same record as one fetched at once.
	 */
	private Provenance provenanceBeforeSubmit(ModelSpec model, EditRequest sent, EditRequest asked, Instant started, Staging stage,
		List<String> adjustments, java.util.OptionalDouble estimate, Optional<String> rateUsed)
	{
		EditOptions o = sent.options();
		Provenance p = Provenance.ofAiEdit()
			.put(Provenance.PROVIDER, provider.displayName())
			.put(Provenance.MODEL, o.model())
			.put(Provenance.PROMPT, sent.instruction())
			.put(Provenance.NEGATIVE_PROMPT, o.negativePrompt())
			.put(Provenance.SEED, o.seed().map(String::valueOf).orElse("random"))
			.put(Provenance.SIZE, o.size().map(ImageSize::toString).orElse("as input"))
			.put(Provenance.OUTPUTS, String.valueOf(o.outputs()))
			.put(Provenance.TIMESTAMP, started.truncatedTo(ChronoUnit.SECONDS).toString())
			.put(Provenance.STAGING, stage.route().label());
		// Known once the inputs are staged, and journalled with the rest: a result fetched by a later
		// run names the copies left behind too.
		stage.notice().ifPresent(note -> p.put(Provenance.STAGING_NOTE, note));
		// Only what was sent: a model without the option (the lab's own ComfyUI) neither extended the
		// prompt nor added a watermark, whatever the dialog held.
		if (model.supportsPromptExtend()) p.put(Provenance.PROMPT_EXTEND, String.valueOf(o.promptExtend()));
		if (model.supportsWatermark()) p.put(Provenance.WATERMARK, String.valueOf(o.watermark()));
		for (int i = 0; i < sent.images().size(); i++) {
			InputImage image = sent.images().get(i);
			p.put(Provenance.sourceTitle(i + 1), asked.images().get(i).sourceTitle());
			p.put(Provenance.sourceSize(i + 1), image.width() + "*" + image.height());
			p.put(Provenance.sourceSha256(i + 1), image.sha256());
		}
		if (!adjustments.isEmpty()) p.put(Provenance.INPUT_ADJUSTMENTS, String.join("; ", adjustments));
		if (estimate.isPresent()) {
			p.put(Provenance.ESTIMATED_COST_USD, String.format(java.util.Locale.ROOT, "%.3f", estimate.getAsDouble()));
			rateUsed.ifPresent(rate -> p.put(Provenance.ESTIMATED_COST_RATE, rate));
		}
		return p;
	}

	/**
	 * The whole record of a job's results: what was known before the create, the provider's id of
	 * the job and what it reported of it.
	 */
	public static Provenance finish(Provenance beforeSubmit, JobState succeeded) {
		return beforeSubmit.copy().put(Provenance.REQUEST_ID, succeeded.handle().id()).endWith(succeeded.facts());
	}

	private static String count(int n, String noun) {
		return n + " " + noun + (n == 1 ? "" : "s");
	}
}
