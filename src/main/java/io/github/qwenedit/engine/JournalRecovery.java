package io.github.qwenedit.engine;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.OutputImage;
import io.github.qwenedit.core.PhaseTimes;
import io.github.qwenedit.core.ProgressListener;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.http.ExpiredLinkException;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.JobCalls;
import io.github.qwenedit.provider.JobPoller;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.registry.ProviderRegistry;
import io.github.qwenedit.staging.BucketConfig;
import io.github.qwenedit.staging.S3Bucket;
import io.github.qwenedit.staging.S3Staging;
import io.github.qwenedit.staging.Staging;
import io.github.qwenedit.staging.StagingChoice;
import okhttp3.HttpUrl;

/**
 * Fetches what the jobs journalled in an output folder produced while the program that sent them
 * was stopped (closed, crashed, killed), saves it like any batch result, and deletes the input
 * objects those jobs had staged: nothing paid for is lost, nothing is paid twice. The shell batch
 * runs it before each run, the Fiji command "Recover Unfinished Edits..." on demand.
 * <p>
 * What happens to each journal entry: a result fetched and saved, a job that failed, a result whose
 * links have expired and an entry without a job id are all final, so the entry is dropped and its
 * staged objects deleted. A job still running, or one that could not be reached now (network, key,
 * a cancelled recovery), stays in the journal with its staged objects, for a later recovery.
 */
public final class JournalRecovery {

	/** Saves a recovered result exactly like a batch result, as TIFF with its provenance. */
	@FunctionalInterface
	public interface ResultSaver {
		/** @return the names of the files written in {@code folder} */
		List<String> save(BatchJournal.Entry entry, EditResult result, Path folder) throws EditException;
	}

	/** What became of one journal entry. */
	public enum Kind {
		RECOVERED("Recovered"),
		STILL_RUNNING("Still running at the provider (left in the journal for a later recovery)"),
		EXPIRED("Could not be fetched: the links expired"),
		/** Paid for and fetched, but what came back can never be saved (not an image, too large to open). */
		LOST("Fetched, but what came back can never be saved"),
		FAILED("Failed"),
		NOT_CONFIRMED("Sent, but the provider's reply never arrived"),
		/** Stopped while its inputs were uploading: no job, no charge; the image is edited by the next run. */
		NEVER_SENT("Stopped before it was sent (nothing charged)"),
		NOT_CONFIGURED("Left in the journal: no key for the provider is configured"),
		/** On a server of the user's own that is not configured now; fetched once it is again. */
		SERVER_NOT_CONFIGURED("Left in the journal: its server is not configured now"),
		IN_PROGRESS("Left alone: still being edited by a program that is running");

		private final String heading;

		Kind(String heading) {
			this.heading = heading;
		}

		public String heading() {
			return heading;
		}
	}

	/** One entry's outcome, with a sentence for the user. */
	public static final class Outcome {
		public final BatchJournal.Entry entry;
		public final Kind kind;
		public final String reason;
		public final List<String> files;
		public final boolean keptInJournal;
		/** What the saved files carry; null unless recovered. */
		final Provenance provenance;

		Outcome(BatchJournal.Entry entry, Kind kind, String reason, List<String> files, boolean keptInJournal) {
			this(entry, kind, reason, files, keptInJournal, null);
		}

		Outcome(BatchJournal.Entry entry, Kind kind, String reason, List<String> files, boolean keptInJournal,
			Provenance provenance)
		{
			this.entry = entry;
			this.kind = kind;
			this.reason = reason;
			this.files = List.copyOf(files);
			this.keptInJournal = keptInJournal;
			this.provenance = provenance;
		}
	}

	/** Everything one recovery did. */
	public static final class Report {
		private final List<Outcome> outcomes = new ArrayList<>();
		private final List<String> deletedKeys = new ArrayList<>();
		private final List<String> problems = new ArrayList<>();
		private boolean cancelled;

		public List<Outcome> outcomes() {
			return Collections.unmodifiableList(outcomes);
		}

		public List<Outcome> of(Kind kind) {
			List<Outcome> some = new ArrayList<>();
			outcomes.forEach(o -> {
				if (o.kind == kind) some.add(o);
			});
			return some;
		}


		/** Keys of staged input objects deleted from the bucket. */
		public List<String> deletedKeys() {
			return Collections.unmodifiableList(deletedKeys);
		}

		/** Staged objects that could not be deleted, and the like: one sentence each. */
		public List<String> problems() {
			return Collections.unmodifiableList(problems);
		}

		/** Whether the user stopped the recovery before every entry was looked at. */
		public boolean cancelled() {
			return cancelled;
		}

		public boolean isEmpty() {
			return outcomes.isEmpty() && deletedKeys.isEmpty() && problems.isEmpty() && !cancelled;
		}

		/** The whole report in a few lines, grouped by outcome, for a dialog or a log. */
		public String describe() {
			if (isEmpty()) return "No unfinished edits were found in the journal.";
			StringBuilder text = new StringBuilder();
			for (Kind kind : Kind.values()) {
				List<Outcome> some = of(kind);
				if (some.isEmpty()) continue;
				text.append(kind.heading()).append(" (").append(some.size()).append("):\n");
				for (Outcome o : some) {
					text.append("  ").append(o.entry.source);
					if (!o.files.isEmpty()) text.append(" -> ").append(String.join(", ", o.files));
					if (o.kind != Kind.RECOVERED) text.append(": ").append(o.reason);
					text.append('\n');
				}
			}
			if (!deletedKeys.isEmpty()) {
				text.append("Staged objects deleted from the bucket (").append(deletedKeys.size()).append("): ")
					.append(String.join(", ", deletedKeys)).append('\n');
			}
			problems.forEach(p -> text.append(p).append('\n'));
			if (cancelled) text.append("Stopped before every journalled job was looked at: run the recovery again to go on.\n");
			return text.toString().trim();
		}
	}

	private final Configuration config;
	private final ResultSaver saver;

	public JournalRecovery(Configuration config, ResultSaver saver) {
		this.config = config;
		this.saver = saver;
	}

	/**
	 * Recovers the journalled jobs of {@code output}: those of {@code providerId}, or, when it is
	 * empty, those of every provider whose key is configured. Only for a run that holds the folder
	 * alone ({@link OutputFolderLock#claim}).
	 *
	 * @param waitForRunning how long to keep waiting, in all, for jobs still running; then they are
	 *          left in the journal, running, for a later recovery
	 */
	public Report recover(Path output, Optional<String> providerId, Duration waitForRunning, ProgressListener progress,
		Cancellation cancellation)
	{
		Report report = new Report();
		// Before any result is saved, so that a recovered one gets the name its killed write held.
		List<String> unfinished = WholeFiles.removeWhatAKilledWriteLeft(output);
		if (!unfinished.isEmpty()) {
			report.problems.add("Removed what a stopped run left half-written in " + output + ": " +
				String.join(", ", unfinished) + ".");
		}
		List<BatchJournal.Entry> entries = new ArrayList<>();
		BatchJournal journal = new BatchJournal(output);
		for (BatchJournal.Entry entry : journal.entries(report.problems::add)) {
			if (!providerId.isPresent() || providerId.get().equals(entry.provider)) entries.add(entry);
		}
		long windowEnds = System.nanoTime() + waitForRunning.toNanos();
		Map<String, Optional<EditProvider>> providers = new LinkedHashMap<>();
		for (int i = 0; i < entries.size(); i++) {
			BatchJournal.Entry entry = entries.get(i);
			if (cancellation.isCancelled()) {
				report.cancelled = true;
				break;
			}
			progress.progress("Recovering " + (i + 1) + " of " + entries.size() + ": " + entry.source,
				(double) i / entries.size());
			Optional<EditProvider> provider = providers.computeIfAbsent(entry.provider, this::providerIfConfigured);
			// A job kept for when its address is configured again is followed below only as far as the
			// provider allows (never calling that address); any other is set aside.
			Optional<String> foreign = provider.filter(p -> !p.keepsJobsOfOtherAddresses())
				.flatMap(p -> foreignJobLink(entry, p));
			if (foreign.isPresent()) {
				journal.setAside(entry.file, "it names job links on " + foreign.get() + ", which is not the configured " +
					"address of " + displayName(entry.provider) + ", and calling them would send your key there (a journal " +
					"copied from elsewhere or edited)", report.problems::add);
				continue;
			}
			Outcome outcome;
			try {
				outcome = recoverOne(entry, provider, output, Duration.ofNanos(Math.max(0, windowEnds - System.nanoTime())),
					progress, cancellation);
			}
			catch (RuntimeException unusable) {
				// An entry this code cannot follow (edited by hand, or of a shape not foreseen) must not
				// stop every later run into the folder.
				journal.setAside(entry.file, "it could not be followed (" + unusable + ")", report.problems::add);
				continue;
			}
			catch (BatchJournal.MalformedEntry unusable) {
				journal.setAside(entry.file, unusable.getMessage(), report.problems::add);
				continue;
			}
			if (outcome.keptInJournal && cancellation.isCancelled()) {
				// Stopped while looking at this job: it is as untouched as the ones after it.
				report.cancelled = true;
				break;
			}
			report.outcomes.add(outcome);
			// A job left in the journal is logged once its outcome is final, by a later recovery; the
			// log line comes first, so that a kill in between leaves the job known to one of the two.
			// One never sent has nothing to log: the image was not edited, and the next edit of it is its first.
			if (!outcome.keptInJournal && (outcome.kind == Kind.NEVER_SENT || log(output, outcome, report))) {
				deleteStaged(entry, report);
				journal.clear(entry);
			}
		}
		progress.progress("Recovery done", 1);
		return report;
	}

	/**
	 * The host of a journalled job link (status, result, cancel) that is not on the provider's
	 * configured address: the provider is called there with the key, so a journal copied in from
	 * elsewhere or edited by hand must not choose where the key goes. Result images are downloaded
	 * without credentials, from any https host, as in the edit itself.
	 */
	private static Optional<String> foreignJobLink(BatchJournal.Entry entry, EditProvider provider) {
		if (entry.job == null) return Optional.empty();
		List<Optional<String>> links = List.of(entry.job.pollUrl(), entry.job.resultUrl(), entry.job.cancelUrl());
		for (Optional<String> link : links) {
			if (!link.isPresent()) continue;
			HttpUrl url = HttpUrl.parse(link.get());
			if (url == null) return Optional.of("an address that is not http(s)");
			boolean samePlace = false;
			for (String address : provider.serviceAddresses()) {
				HttpUrl configured = HttpUrl.parse(address);
				samePlace |= configured != null && JobCalls.onConfiguredHost(configured, link.get()).isPresent() &&
					(!url.host().equalsIgnoreCase(configured.host()) || url.port() == configured.port());
			}
			if (!samePlace) return Optional.of(url.host() + (url.port() == HttpUrl.defaultPort(url.scheme()) ? ""
				: ":" + url.port()));
		}
		return Optional.empty();
	}

	private Optional<EditProvider> providerIfConfigured(String id) {
		try {
			ProviderDescriptor descriptor = ProviderRegistry.get(id);
			if (!descriptor.isConfigured(config)) return Optional.empty();
			return Optional.of(descriptor.create(config));
		}
		catch (EditException unknownOrUnconfigured) {
			return Optional.empty();
		}
	}

	/**
	 * @throws BatchJournal.MalformedEntry when the entry names links this program never follows, so
	 *           that no later recovery could fetch its job either
	 */
	private Outcome recoverOne(BatchJournal.Entry entry, Optional<EditProvider> configured, Path output, Duration wait,
		ProgressListener progress, Cancellation cancellation) throws BatchJournal.MalformedEntry
	{
		if (entry.writerIsRunning()) {
			return new Outcome(entry, Kind.IN_PROGRESS, "The program that sent it is still running and saves the result " +
				"itself; recover once it has stopped if the result does not arrive.", List.of(), true);
		}
		if (!entry.savedResults.isEmpty() && entry.savedResults.stream().allMatch(name -> java.nio.file.Files.isRegularFile(
			output.resolve(name), java.nio.file.LinkOption.NOFOLLOW_LINKS)))
		{
			// Saved whole by the run that sent it, which then could not log it: logged now, not saved twice.
			return new Outcome(entry, Kind.RECOVERED, "Saved by the run that sent it.", entry.savedResults, false);
		}
		if (entry.phase == BatchJournal.Phase.UPLOADING) {
			return new Outcome(entry, Kind.NEVER_SENT, "The program stopped while uploading its inputs, before anything was " +
				"sent to " + displayName(entry.provider) + ": nothing was charged, and the uploads are deleted; edit the image " +
				"again to get a result.", List.of(), false);
		}
		if (entry.job == null) {
			return new Outcome(entry, Kind.NOT_CONFIRMED, "It was sent to " + displayName(entry.provider) + ", but the " +
				"job's id was never recorded (the program stopped before the answer came, the answer was unusable, or the " +
				"journal could not be written), so a job may have been " + (configured.map(EditProvider::chargesForJobs)
					.orElse(true) ? "created (and charged)" : "queued (and run)") + " that cannot be fetched; edit the image " +
				"again to get a result.", List.of(), false);
		}
		if (configured.isPresent() && configured.get().keepsJobsOfOtherAddresses()) {
			Optional<String> elsewhere = foreignJobLink(entry, configured.get());
			if (elsewhere.isPresent()) {
				return new Outcome(entry, Kind.SERVER_NOT_CONFIGURED, "Its job " + entry.job.id() + " is on " + elsewhere.get() +
					", which is not among the addresses of " + displayName(entry.provider) + " configured now: add it again " +
					"(see the README) and recover, or run the batch, to fetch the result.", List.of(), true);
			}
		}
		boolean linksKnown = !entry.outputUrls.isEmpty();
		if (!linksKnown && !configured.isPresent()) {
			return new Outcome(entry, Kind.NOT_CONFIGURED, "Set the key of " + displayName(entry.provider) + " and recover " +
				"again to fetch job " + entry.job.id() + ".", List.of(), true);
		}
		String name = displayName(entry.provider);
		Instant started = Instant.now();
		try {
			Http http = new Http(RetryPolicy.DEFAULT, cancellation, Deadline.after(wait.plus(EditSession.deadline(config))),
				EditSession.plainHttpHosts(ProviderRegistry.get(entry.provider), config, StagingChoice.AUTO));
			List<String> links = new ArrayList<>(entry.outputUrls);
			entry.job.pollUrl().ifPresent(links::add);
			entry.job.resultUrl().ifPresent(links::add);
			for (String link : links) {
				// Kept, such an entry would be reported pending on every run, forever.
				if (!http.follows(link)) {
					throw new BatchJournal.MalformedEntry("its job's link " + config.redact(link) + " is neither https " +
						"nor an address you configured, so this program never follows it and its result cannot be fetched; " +
						"a batch edits the image again");
				}
			}
			JobState state;
			if (linksKnown) {
				// Journalled before the download: the job succeeded, and its links are all that is needed.
				state = JobState.succeeded(entry.job, entry.outputUrls, entry.facts);
			}
			else {
				state = JobPoller.lookUntil(configured.get(), entry.job, http, progress, wait);
			}
			if (!state.status().isFinal()) {
				return new Outcome(entry, Kind.STILL_RUNNING, name + " is still running job " + entry.job.id() +
					"; recover again once it is done.", List.of(), true);
			}
			if (state.status() == JobState.Status.FAILED) {
				return new Outcome(entry, Kind.FAILED, state.error().map(e -> config.redact(e.getMessage()))
					.orElse(name + " reported that the edit failed, without a reason."), List.of(), false);
			}
			List<OutputImage> images = EditSession.download(name, state, http, EditSession.downloadCapBytes(config),
				progress, url -> configured.map(p -> p.downloadHeaders(url)).orElse(okhttp3.Headers.of()));
			// What the edit recorded before its create, where the entry holds it; the entry's own fields
			// for the rest, and for entries of the first format.
			Provenance before = firstFormatProvenance(entry, name, started);
			entry.provenance().ifPresent(before::putAll);
			Provenance provenance = EditSession.finish(before.put(Provenance.PREFIX + "Recovered",
				"fetched by a later recovery after an interruption"), state);
			EditResult result = new EditResult(images, provenance, List.of(), new PhaseTimes());
			try {
				return new Outcome(entry, Kind.RECOVERED, "Saved.", saver.save(entry, result, output), false, provenance);
			}
			catch (EditException e) {
				if (e.charge() == EditException.Charge.LOST_RESULT) {
					// What was fetched can never become an image: kept, it would be pending on every run.
					return new Outcome(entry, Kind.LOST, "The result was fetched but can never be saved (" +
						config.redact(e.getMessage()) + "); it was dropped from the journal, so edit the image again to " +
						"get one.", List.of(), false);
				}
				return new Outcome(entry, Kind.FAILED, "The result was fetched but could not be saved (" +
					config.redact(e.getMessage()) + "); it stays in the journal to be fetched again.", List.of(), true);
			}
		}
		catch (EditException e) {
			if (causedBy(e, ExpiredLinkException.class)) {
				return new Outcome(entry, Kind.EXPIRED, "The result links of job " + entry.job.id() + " at " + name +
					" have expired, so the result can no longer be fetched; edit the image again to get one.", List.of(),
					false);
			}
			if (e.kind() == ErrorKind.NOT_FOUND) {
				return new Outcome(entry, Kind.EXPIRED, name + " no longer knows job " + entry.job.id() + " (it keeps jobs " +
					"for a limited time), so the result can no longer be fetched; edit the image again to get one.", List.of(),
					false);
			}
			if (e.charge() == EditException.Charge.LOST_RESULT) {
				return new Outcome(entry, Kind.FAILED, config.redact(e.getMessage()), List.of(), false);
			}
			return new Outcome(entry, Kind.FAILED, config.redact(e.getMessage()) + " The job stays in the journal to be " +
				"fetched by a later recovery.", List.of(), true);
		}
	}

	private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
		for (Throwable t = e; t != null; t = t.getCause()) {
			if (type.isInstance(t)) return true;
		}
		return false;
	}

	static String displayName(String providerId) {
		try {
			return ProviderRegistry.get(providerId).displayName();
		}
		catch (EditException unknown) {
			return String.valueOf(providerId);
		}
	}

	/**
	 * What an entry of the first format, which holds no provenance of its own, tells of the edit:
	 * fewer facts than a result fetched at once carries.
	 */
	private static Provenance firstFormatProvenance(BatchJournal.Entry entry, String providerName, Instant fetched) {
		return Provenance.ofAiEdit()
			.put(Provenance.PROVIDER, providerName)
			.put(Provenance.MODEL, entry.model)
			.put(Provenance.PROMPT, entry.instruction)
			.put(Provenance.NEGATIVE_PROMPT, entry.negativePrompt)
			.put(Provenance.SEED, entry.seed)
			.put(Provenance.SIZE, entry.size)
			.put(Provenance.TIMESTAMP, entry.sentAt != null ? entry.sentAt : fetched.truncatedTo(ChronoUnit.SECONDS).toString())
			.put(Provenance.sourceTitle(1), entry.sourceTitle());
	}

	private void deleteStaged(BatchJournal.Entry entry, Report report) {
		if (entry.stagedKeys.isEmpty()) return;
		List<String> bucketKeys = deleteStagedUploads(entry, report);
		if (bucketKeys.isEmpty()) return;
		Optional<BucketConfig> bucket;
		try {
			bucket = BucketConfig.from(config);
		}
		catch (EditException e) {
			report.problems.add("Staged objects " + String.join(", ", bucketKeys) + " were not deleted: " +
				config.redact(e.getMessage()));
			return;
		}
		if (!bucket.isPresent()) {
			report.problems.add("Staged objects " + String.join(", ", bucketKeys) + " were not deleted: no bucket is " +
				"configured now. Delete them by hand, or configure the bucket and run the recovery again.");
			return;
		}
		S3Bucket s3 = new S3Bucket(bucket.get());
		for (String key : bucketKeys) {
			if (!S3Staging.isStagedKey(bucket.get(), key)) {
				report.problems.add("The journal names " + key + " as a staged object, but it is not a name this plugin " +
					"stages under " + bucket.get().location() + ", so it was left alone.");
				continue;
			}
			try {
				s3.delete(key);
				report.deletedKeys.add(key);
			}
			catch (EditException e) {
				report.problems.add("Staged object " + key + " was left in the bucket: " + config.redact(e.getMessage()));
			}
		}
	}

	/**
	 * Deletes the keys that name uploads to the provider's own storage (Replicate's files) through
	 * the provider, as its staging would have at the end of the job.
	 *
	 * @return the other keys, those of bucket objects
	 */
	private List<String> deleteStagedUploads(BatchJournal.Entry entry, Report report) {
		Optional<EditProvider> provider = providerIfConfigured(entry.provider);
		List<String> uploads = new ArrayList<>();
		List<String> bucketKeys = new ArrayList<>();
		for (String key : entry.stagedKeys) {
			if (provider.isPresent() && provider.get().isStagedUploadKey(key)) uploads.add(key);
			else bucketKeys.add(key);
		}
		if (uploads.isEmpty()) return bucketKeys;
		try {
			Http http = new Http(RetryPolicy.DEFAULT, new Cancellation(), Deadline.after(EditSession.deadline(config)),
				EditSession.plainHttpHosts(ProviderRegistry.get(entry.provider), config, StagingChoice.AUTO));
			Optional<Staging> staged = provider.get().stagedUploads(uploads, http);
			if (staged.isPresent()) staged.get().close();
			report.deletedKeys.addAll(uploads);
		}
		catch (EditException e) {
			report.problems.add("Uploaded inputs " + String.join(", ", uploads) + " were not deleted: " +
				config.redact(e.getMessage()));
		}
		return bucketKeys;
	}

	/** @return whether the line was written */
	private boolean log(Path output, Outcome outcome, Report report) {
		BatchJournal.Entry entry = outcome.entry;
		ObjectNode line = Json.object();
		BatchLog.putSource(line, entry.source.source, entry.source.plane);
		// The request as a batch logs it, so that a later run knows whether this result answers its own.
		Provenance asked = entry.provenance().orElse(new Provenance());
		BatchLog.requestFields(entry.provider, entry.model, entry.instruction, entry.negativePrompt,
			asked.get(Provenance.OUTPUTS), entry.seed, entry.size, asked.get(Provenance.PROMPT_EXTEND),
			asked.get(Provenance.WATERMARK)).forEach(line::put);
		if (entry.sourceFileSha256 != null) line.put(BatchLog.SOURCE_FILE_SHA256, entry.sourceFileSha256);
		if (entry.job != null) line.put("requestId", entry.job.id());
		line.put("recovered", true);
		if (!outcome.files.isEmpty()) outcome.files.forEach(line.putArray("results")::add);
		if (outcome.provenance != null && outcome.provenance.get(Provenance.PREFIX + "CostUsd") != null) {
			line.put("costUsd", outcome.provenance.get(Provenance.PREFIX + "CostUsd"));
		}
		line.put("status", statusWord(outcome));
		if (outcome.kind != Kind.RECOVERED) line.put("error", outcome.reason);
		line.put("finishedAt", Instant.now().toString());
		try {
			new BatchLog(output).append(line);
			return true;
		}
		catch (IOException e) {
			report.problems.add("Cannot write " + output.resolve(BatchLog.FILE) + ": " + e.getMessage() + "; the job stays " +
				"in the journal.");
			return false;
		}
	}

	private static String statusWord(Outcome outcome) {
		switch (outcome.kind) {
			case RECOVERED:
				return "done";
			case EXPIRED:
				return "expired";
			default:
				return "failed";
		}
	}
}
