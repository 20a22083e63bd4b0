package io.github.qwenedit.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.core.UsdPerCny;
import io.github.qwenedit.http.ExpiredLinkException;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderLimits;
import io.github.qwenedit.provider.RequestWindow;

/**
 * One instruction applied to many images, the same for the shell and for Fiji: resume from the log,
 * a cost check before anything is sent, as many jobs at once and as many creates a minute as the
 * provider allows per key, a journal of the jobs in flight, one log line per job, cancel. Knows
 * nothing of how images are read or written: each {@link Item} does that.
 */
public final class BatchRun {

	/** One job of the batch: a whole image, or one plane of a stack. */
	public interface Item {
		/** The file (or, for an open image, its title) the job edits. */
		String source();

		/** The 1-based plane of a stack, or 0 when the job edits the whole source. */
		int plane();

		/** Where the plane sits in its stack, for the log (slice, frame); empty for a whole image. */
		default Map<String, Integer> position() {
			return Map.of();
		}

		/** Reads and encodes the input; called by the worker that runs the job, not before. */
		EditRequest request(String instruction, EditOptions options) throws EditException;

		/** Saves the results in the output folder and returns their file names. */
		List<String> save(EditResult result) throws EditException;

		default String key() {
			return BatchLog.key(source(), plane());
		}

		/** The title results and provenance give the source: its file name, and the plane. */
		String title();

		default String label() {
			return plane() > 0 ? source() + " plane " + plane() : source();
		}
	}

	/** Where the run reports: lines the shell prints on its output and its error stream, and progress. */
	public interface Listener {
		void said(String line);

		void warned(String line);

		default void progress(int finished, int total) {}

		/** Lines said to {@code said} and warnings to {@code warned}, progress not shown. */
		static Listener of(Consumer<String> said, Consumer<String> warned) {
			return new Listener() {
				@Override
				public void said(String line) {
					said.accept(line);
				}

				@Override
				public void warned(String line) {
					warned.accept(line);
				}
			};
		}
	}

	/** Why a run did not start. */
	public enum Refusal {
		/** The cost ceiling cannot be checked: the model has no list price. */
		UNPRICED,
		/** The estimated cost is above the ceiling. */
		OVER_CEILING,
		/** The person asked said no. */
		DECLINED
	}

	/** How a run ended. */
	public static final class Outcome {
		/** Whether the run started at all; when not, nothing was sent. */
		public final boolean started;
		/** Why it did not start, one sentence; null when it started. */
		public final String refusal;
		/** Why it did not start; null when it started. */
		public final Refusal refused;
		/** Whether it did not start because the cost could not be checked against the ceiling. */
		public final boolean unpriced;
		public final int done;
		public final int failed;
		public final int skipped;
		/** Jobs stopped by a cancel or never started because of it, and those the cancel could not stop. */
		public final int cancelled;
		/**
		 * Of {@link #cancelled}, the jobs the cancel did not stop: the provider finished or still runs
		 * them and may charge; they stay in the journal, for the next run or a recovery to fetch.
		 */
		public final int notStopped;
		/** Of {@link #cancelled}, the jobs the cancel came before: nothing of theirs was sent. */
		public final int notStarted;
		/** Sources not sent because an earlier run's job for them, at this provider or another, is still in the journal. */
		public final int pending;
		/** "source: one-sentence error", per failed job, in the order they failed. */
		public final List<String> failures;

		private Outcome(boolean started, String refusal, Refusal refused, int done, int failed, int skipped,
			int stopped, int notStopped, int notStarted, int pending, List<String> failures)
		{
			this.started = started;
			this.refusal = refusal;
			this.refused = refused;
			this.unpriced = refused == Refusal.UNPRICED;
			this.done = done;
			this.failed = failed;
			this.skipped = skipped;
			this.cancelled = stopped + notStopped + notStarted;
			this.notStopped = notStopped;
			this.notStarted = notStarted;
			this.pending = pending;
			this.failures = List.copyOf(failures);
		}

		static Outcome refused(String why, Refusal refused) {
			return new Outcome(false, why, refused, 0, 0, 0, 0, 0, 0, 0, List.of());
		}

		/**
		 * What a cancel did, in a sentence or two: how many edits it stopped, how many it could not stop
		 * (and where they are kept), how many it came before; empty when nothing was cancelled.
		 */
		public String describeCancel() {
			if (cancelled == 0) return "";
			int stopped = cancelled - notStopped - notStarted;
			StringBuilder text = new StringBuilder("Cancelled: ").append(edits(stopped)).append(" stopped, ")
				.append(notStopped).append(" not stopped, ").append(notStarted).append(" not started.");
			if (notStopped > 0) {
				text.append(" The provider finished or still runs the ").append(notStopped == 1 ? "one" : notStopped + "")
					.append(" not stopped and may charge for ").append(notStopped == 1 ? "it" : "them").append(": ")
					.append(notStopped == 1 ? "it stays" : "they stay").append(" in this folder's journal, and the next " +
						"batch into the folder or Plugins > Qwen Image Edit > Recover Unfinished Edits fetches ")
					.append(notStopped == 1 ? "its result" : "their results").append(" without paying again (or says " +
						"which job's id never arrived); keep the folder until then.");
			}
			if (stopped + notStarted > 0) {
				text.append(" Run the batch again into the same folder to do the ").append(edits(stopped + notStarted))
					.append(" stopped or not started.");
			}
			return text.toString();
		}

		private static String edits(int n) {
			return n + (n == 1 ? " edit" : " edits");
		}

		/** Every source edited now or with the same request before: nothing failed, was stopped or is still pending. */
		public boolean complete() {
			return started && failed == 0 && cancelled == 0 && pending == 0;
		}
	}

	/**
	 * A 429 on create means the job was refused, not taken: a batch runs unattended, so it is sent
	 * again after each wait, this often and within the edit's one deadline (minutes at the waits
	 * providers ask for).
	 */
	static final int RATE_LIMITED_ATTEMPTS = 40;

	private final ProviderDescriptor descriptor;
	private final EditSession session;
	private final EditOptions options;
	private final String instruction;
	private final List<Item> items;
	private final Path output;
	private final Configuration config;
	private Listener listener = Listener.of(line -> {}, line -> {});
	private Cancellation cancellation = new Cancellation();
	private int concurrency = 4;
	private Double maxCostUsd;
	private Predicate<String> confirm = question -> true;
	private JournalRecovery.ResultSaver recoverySaver;
	private RequestWindow limiter;

	public BatchRun(ProviderDescriptor descriptor, EditSession session, EditOptions options, String instruction,
		List<? extends Item> items, Path output, Configuration config)
	{
		this.descriptor = descriptor;
		this.session = session;
		this.options = options;
		this.instruction = instruction;
		this.items = List.copyOf(items);
		this.output = output;
		this.config = config;
		this.limiter = RequestWindow.perMinute(descriptor.limits().createsPerMinute());
	}

	public BatchRun listener(Listener l) {
		listener = l;
		return this;
	}

	public BatchRun cancellation(Cancellation c) {
		cancellation = c;
		return this;
	}

	/** Jobs at once, as asked; never more than the provider allows per key. */
	public BatchRun concurrency(int n) {
		concurrency = n;
		return this;
	}

	/** Stops the run before anything is sent when the estimated cost is higher; null for no ceiling. */
	public BatchRun maxCostUsd(Double ceiling) {
		// -0 is a ceiling of 0, said as "$0.00", not "$-0.00".
		maxCostUsd = ceiling != null && ceiling == 0 ? Double.valueOf(0) : ceiling;
		return this;
	}

	/** Asked, with the number of jobs and their estimated cost, before anything is sent. */
	public BatchRun confirm(Predicate<String> question) {
		confirm = question;
		return this;
	}

	/**
	 * Before anything else, the jobs an earlier, stopped run into the same folder left in flight are
	 * fetched ({@link JournalRecovery}) and their results saved by {@code saver}; without a saver
	 * they are left in the journal and their sources not sent again.
	 */
	public BatchRun recovery(JournalRecovery.ResultSaver saver) {
		recoverySaver = saver;
		return this;
	}

	/** A pace other than the provider's own, so that a test need not wait a real minute. */
	BatchRun limiter(RequestWindow l) {
		limiter = l;
		return this;
	}

	public Path output() {
		return output;
	}

	/** Runs the batch, holding the output folder's lock throughout; another run into it is refused. */
	public Outcome run() throws EditException {
		checkParameters();
		try (OutputFolderLock claimed = OutputFolderLock.claim(output)) {
			return runHoldingTheFolder();
		}
	}

	private Outcome runHoldingTheFolder() throws EditException {
		try {
			Files.createDirectories(output);
		}
		catch (IOException e) {
			throw new EditException(ErrorKind.INVALID_INPUT, "Cannot create the output folder " + output + ": " +
				e.getMessage());
		}
		BatchLog log = new BatchLog(output);
		PlantedLinks.refuseUnlessPlainFile(log.file());
		PlantedLinks.refuse(output.resolve(BatchJournal.FOLDER));
		BatchJournal journal = new BatchJournal(output);
		Map<String, EarlierJob> unsettled = recoverUnfinished();
		Map<String, String> otherProviders = otherProvidersJobs(journal);
		Map<String, BatchLog.Done> done = log.done();
		Map<String, String> asked = requestFields();
		// The same image named twice (a folder and a file in it, say) is one edit.
		Map<String, Item> unique = new java.util.LinkedHashMap<>();
		for (Item item : items) {
			unique.putIfAbsent(item.key(), item);
		}
		List<Item> todo = new ArrayList<>();
		List<Runnable> notes = new ArrayList<>();
		int skipped = 0;
		int recoveredNow = 0;
		int pending = 0;
		List<String> lostEarlier = new ArrayList<>();
		for (Item item : unique.values()) {
			BatchLog.Done earlier = done.get(item.key());
			String differs = earlier == null ? null : earlier.differsFrom(withFingerprint(asked, item));
			EarlierJob earlierJob = unsettled.get(item.key());
			if (otherProviders.containsKey(item.key())) {
				// Another provider's job for this image is still in the journal: this run neither sends the
				// image again (paying twice) nor touches that entry, which only that provider can fetch.
				pending++;
				String other = otherProviders.get(item.key());
				notes.add(() -> listener.warned("pending " + item.label() + " (an earlier run's job at " + other + " for it " +
					"is still in the journal; run Plugins > Qwen Image Edit > Recover Unfinished Edits, or a batch with " +
					other + " into this folder, to fetch it first)"));
			}
			else if (earlierJob == EarlierJob.RUNNING || earlierJob == EarlierJob.KEPT) {
				// Sent by an earlier run and still in the journal: sending it again would pay twice.
				pending++;
				String why = earlierJob == EarlierJob.RUNNING
					? "job still running at the provider; run again later to fetch it"
					: "an earlier run's job for it is still in the journal and was not fetched now";
				notes.add(() -> listener.warned("pending " + item.label() + " (" + why + ")"));
			}
			else if (earlierJob == EarlierJob.RECOVERED && earlier != null && differs == null) {
				recoveredNow++;
			}
			else if (earlierJob == EarlierJob.LOST) {
				// Its earlier job was paid for and its result is gone: a new edit is a new charge, which the
				// user decides on by running again, not this run on its own.
				lostEarlier.add(item.label() + ": the result of an earlier run's job for it was paid for but could not " +
					"be fetched (said above). It was not sent again in this run, so that nothing is paid twice unasked; " +
					"run again to edit it anew, at a new charge.");
			}
			else if (earlier != null && differs == null) {
				skipped++;
				notes.add(() -> listener.said("skipped " + item.label() + " (done in an earlier run with the same request: " +
					earlier.fileNames() + ")"));
			}
			else {
				todo.add(item);
				if (earlier != null) {
					notes.add(() -> listener.said("editing " + item.label() + " again: its earlier result " +
						earlier.fileNames() + " was made " + differs));
				}
			}
		}
		if (!todo.isEmpty()) session.checkOptions(instruction, options, cancellation).ifPresent(listener::warned);
		String model = options.model();
		ModelSpec spec = session.provider().model(model);
		UsdPerCny rate = UsdPerCny.from(config);
		OptionalDouble price = spec.estimatedCostUsd(options.outputs(), rate);
		String estimate = todo.size() + (todo.size() == 1 ? " edit" : " edits") + " with " + descriptor.displayName() + " " +
			model + ", estimated cost " + spec.describeCost(options.outputs() * todo.size(), rate);
		listener.said(estimate);
		// A model on the user's own server costs nothing per image, so it is within any ceiling.
		if (maxCostUsd != null && !spec.selfHosted()) {
			if (!price.isPresent()) {
				return Outcome.refused("The cost ceiling cannot be checked: " + model + " has no list price. Nothing was sent.",
					Refusal.UNPRICED);
			}
			if (price.getAsDouble() * todo.size() > maxCostUsd) {
				return Outcome.refused(String.format(Locale.ROOT, "The estimated cost exceeds the ceiling of $%.2f: nothing " +
					"was sent. Raise the ceiling or edit fewer images.", maxCostUsd), Refusal.OVER_CEILING);
			}
		}
		if (!todo.isEmpty() && !confirm.test(estimate + ". Start?")) {
			return Outcome.refused("Not started: nothing was sent.", Refusal.DECLINED);
		}
		ProviderLimits limits = session.provider().limits();
		int workers = Math.max(1, Math.min(concurrency, limits.maxConcurrentJobs()));
		if (workers < concurrency) {
			listener.said(descriptor.displayName() + " runs at most " + workers + (workers == 1 ? " edit" : " edits") +
				" at once " + limits.scope() + ": using " + workers + ".");
		}
		AtomicInteger ok = new AtomicInteger();
		AtomicInteger failed = new AtomicInteger(lostEarlier.size());
		AtomicInteger stopped = new AtomicInteger();
		AtomicInteger notStopped = new AtomicInteger();
		AtomicInteger notStarted = new AtomicInteger();
		AtomicInteger finished = new AtomicInteger();
		List<String> failures = Collections.synchronizedList(new ArrayList<>(lostEarlier));
		ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
			Thread t = new Thread(r, "Qwen Image Edit batch");
			t.setDaemon(true);
			return t;
		});
		List<Future<?>> jobs = new ArrayList<>();
		listener.progress(0, todo.size());
		notes.forEach(Runnable::run);
		try {
			for (Item item : todo) {
				jobs.add(pool.submit(() -> {
					Result r = cancellation.isCancelled() ? Result.NOT_STARTED : editOne(item, log, journal, failures);
					counter(r, ok, failed, stopped, notStopped, notStarted).incrementAndGet();
					listener.progress(finished.incrementAndGet(), todo.size());
				}));
			}
			for (Future<?> job : jobs) {
				try {
					job.get();
				}
				catch (Exception e) {
					failed.incrementAndGet();
				}
			}
		}
		finally {
			pool.shutdown();
		}
		listener.said(ok.get() + " done, " + failed.get() + " failed, " + skipped + " skipped" +
			(recoveredNow > 0 ? ", " + recoveredNow + " recovered" : "") + (pending > 0 ? ", " + pending + " pending" : ""));
		if (pending > 0) {
			listener.warned(pending + (pending == 1 ? " source was" : " sources were") + " not edited in this run: " +
				"an earlier run's job for " + (pending == 1 ? "it is" : "each is") + " still in the journal, and sending " +
				(pending == 1 ? "it" : "them") + " again would " + (session.provider().chargesForJobs() ? "pay" : "run the edit") +
				" twice; the lines above say what fetches " +
				(pending == 1 ? "it" : "them") + ".");
		}
		Outcome outcome = new Outcome(true, null, null, ok.get(), failed.get(), skipped, stopped.get(), notStopped.get(),
			notStarted.get(), pending, failures);
		if (outcome.notStopped > 0) listener.warned(outcome.describeCancel());
		else if (outcome.cancelled > 0) listener.said(outcome.describeCancel());
		if (!failures.isEmpty()) {
			listener.warned("Failed (" + failures.size() + "):");
			failures.forEach(f -> listener.warned("  " + f));
		}
		return outcome;
	}

	/** What decides whether an earlier result answers this run's request; see {@link BatchLog#REQUEST_FIELDS}. */
	private Map<String, String> requestFields() {
		return BatchLog.requestFields(descriptor.id(), options.model(), instruction, options.negativePrompt(),
			String.valueOf(options.outputs()), options.seed().map(String::valueOf).orElse("random"),
			options.size().map(ImageSize::toString).orElse("as input"), String.valueOf(options.promptExtend()),
			String.valueOf(options.watermark()));
	}

	/** {@code asked}, and the fingerprint of the item's source file when it has one. */
	private Map<String, String> withFingerprint(Map<String, String> asked, Item item) {
		Optional<String> fingerprint = fingerprint(item);
		if (!fingerprint.isPresent()) return asked;
		Map<String, String> all = new java.util.LinkedHashMap<>(asked);
		all.put(BatchLog.SOURCE_FILE_SHA256, fingerprint.get());
		return all;
	}

	/** Per source file, so that the planes of a stack read it once. */
	private final Map<String, Optional<String>> fingerprints = new java.util.concurrent.ConcurrentHashMap<>();

	/**
	 * The SHA-256 of the item's source file ({@link BatchLog#SOURCE_FILE_SHA256}); empty for an open
	 * image without a file, or a file that cannot be read, which its edit then reports.
	 */
	private Optional<String> fingerprint(Item item) {
		return fingerprints.computeIfAbsent(item.source(), source -> new BatchJournal.SourceKey(source, 0).file()
			.flatMap(file -> {
				try {
					return Optional.of(io.github.qwenedit.core.Hashing.sha256Hex(file));
				}
				catch (IOException unreadable) {
					return Optional.empty();
				}
			}));
	}

	/**
	 * A ceiling of NaN or infinity compares false with every estimate and would let any cost through,
	 * and no edits at once would still run one: both are refused before anything is sent.
	 */
	private void checkParameters() throws EditException {
		if (concurrency < 1) {
			throw new EditException(ErrorKind.INVALID_INPUT, "The number of edits at once must be 1 or more, not " +
				concurrency + ": nothing was sent.");
		}
		if (maxCostUsd != null && !(Double.isFinite(maxCostUsd) && maxCostUsd >= 0)) {
			throw new EditException(ErrorKind.INVALID_INPUT, "The cost ceiling must be an amount of US dollars, 0 or " +
				"more, not " + maxCostUsd + ": nothing was sent.");
		}
	}

	/**
	 * The sources whose job for another provider is in the journal, with that provider's name: only
	 * a recovery with that provider's key can settle them (Recover Unfinished Edits fetches every
	 * provider's), so a batch for this provider leaves them alone.
	 */
	private Map<String, String> otherProvidersJobs(BatchJournal journal) {
		Map<String, String> others = new java.util.HashMap<>();
		for (BatchJournal.Entry entry : journal.entries(p -> listener.warned(config.redact(p)))) {
			if (!entry.provider.equals(descriptor.id())) {
				others.putIfAbsent(entry.key(), JournalRecovery.displayName(entry.provider));
			}
		}
		return others;
	}

	/** What became of an earlier run's job for a source that this run's recovery did not settle. */
	private enum EarlierJob {
		/** Fetched and saved by this run's recovery, which said so: neither edited again nor "skipped". */
		RECOVERED,
		/** Still running at the provider, or being followed by another program: the journal keeps it. */
		RUNNING,
		/** Kept in the journal for another reason (not reachable now, a result too large, another program's). */
		KEPT,
		/** Paid for, and its result can no longer be fetched. */
		LOST
	}

	/** @return by source key, the earlier jobs this run's recovery left unsettled */
	private Map<String, EarlierJob> recoverUnfinished() throws EditException {
		Map<String, EarlierJob> unsettled = new HashMap<>();
		if (recoverySaver == null) {
			for (BatchJournal.Entry entry : new BatchJournal(output).entries(p -> listener.warned(config.redact(p)))) {
				boolean neverSent = entry.phase == BatchJournal.Phase.UPLOADING && !entry.writerIsRunning();
				if (entry.provider.equals(descriptor.id()) && !neverSent) unsettled.put(entry.key(), EarlierJob.KEPT);
			}
			return unsettled;
		}
		JournalRecovery.Report recovered = new JournalRecovery(config, recoverySaver).recover(output,
			Optional.of(descriptor.id()), EditSession.deadline(config), (m, f) -> {}, cancellation);
		for (JournalRecovery.Outcome outcome : recovered.outcomes()) {
			if (outcome.kind == JournalRecovery.Kind.RECOVERED) {
				listener.said("recovered " + outcome.entry.source + " -> " + String.join(", ", outcome.files));
				unsettled.put(outcome.entry.key(), EarlierJob.RECOVERED);
			}
			else if (outcome.kind == JournalRecovery.Kind.NEVER_SENT) {
				listener.said("a stopped run had begun uploading " + outcome.entry.source + " and sent nothing; its " +
					"uploads were deleted");
			}
			else if (outcome.keptInJournal) {
				listener.warned("left in the journal " + outcome.entry.source + ": " + outcome.reason);
			}
			else {
				listener.warned("could not recover " + outcome.entry.source + ": " + outcome.reason);
			}
			if (outcome.keptInJournal) {
				boolean inFlight = outcome.kind == JournalRecovery.Kind.STILL_RUNNING ||
					outcome.kind == JournalRecovery.Kind.IN_PROGRESS;
				unsettled.put(outcome.entry.key(), inFlight ? EarlierJob.RUNNING : EarlierJob.KEPT);
			}
			else if (outcome.kind == JournalRecovery.Kind.EXPIRED || outcome.kind == JournalRecovery.Kind.LOST) {
				unsettled.put(outcome.entry.key(), EarlierJob.LOST);
			}
		}
		recovered.problems().forEach(p -> listener.warned(config.redact(p)));
		return unsettled;
	}

	private enum Result {
		DONE, FAILED,
		/** Cancelled, and nothing of it is left at the provider. */
		STOPPED,
		/** Cancelled, but the provider finished or still runs it: its entry stays in the journal. */
		NOT_STOPPED,
		/** Cancelled before it began. */
		NOT_STARTED
	}

	private static AtomicInteger counter(Result r, AtomicInteger done, AtomicInteger failed, AtomicInteger stopped,
		AtomicInteger notStopped, AtomicInteger notStarted)
	{
		switch (r) {
			case DONE:
				return done;
			case FAILED:
				return failed;
			case STOPPED:
				return stopped;
			case NOT_STOPPED:
				return notStopped;
			default:
				return notStarted;
		}
	}

	private Result editOne(Item item, BatchLog log, BatchJournal journal, List<String> failures) {
		Instant started = Instant.now();
		ObjectNode line = Json.object();
		line.put("source", item.source());
		if (item.plane() > 0) line.put("plane", item.plane());
		item.position().forEach(line::put);
		line.put("provider", descriptor.id());
		line.put("model", options.model());
		line.put("instruction", instruction);
		requestFields().forEach(line::put);
		// Before the request reads the file: the log records the content that was edited.
		fingerprint(item).ifPresent(f -> line.put(BatchLog.SOURCE_FILE_SHA256, f));
		BatchJournal.Pending[] entry = new BatchJournal.Pending[1];
		try {
			EditRequest request = item.request(instruction, options);
			EditResult result = runWithinLimits(request, item, journal, entry);
			List<String> saved;
			try {
				saved = item.save(result);
			}
			catch (EditException e) {
				// What the edit warned of (a job the journal could not record) matters most now.
				for (String warning : result.warnings()) {
					listener.warned("warning " + item.label() + ": " + config.redact(warning));
				}
				// The result was paid for and its links are in the journal: unless the failure says the
				// result can never be opened, it stays there for the next run or a recovery.
				EditException unsaved = e.charge() == EditException.Charge.NONE ? e.leaving(
					EditException.Charge.UNSAVED_RESULT, null, List.of()) : e;
				if (entry[0].phase() == BatchJournal.Phase.ACCEPTED) throw unsaved;
				// The journal could not record the job (the edit warned of it): nothing can fetch it again,
				// and the downloaded result in memory is the only copy of what was paid for.
				String job = result.provenance().get(Provenance.REQUEST_ID);
				Optional<Path> elsewhere = keepOutsideTheFolder(item, result);
				if (!elsewhere.isPresent()) {
					throw unsaved.followedBy("The journal does not hold job " + job + ", and no other folder could take " +
						"the result either, so this paid result is lost; run again to edit the image anew.");
				}
				// Saved, if not where it belongs: its entry goes, so that no later run calls it possibly charged.
				throw unsaved.followedBy("The journal does not hold job " + job + ", so the result was written as " +
					descriptor.displayName() + " sent it, with a provenance.json, to " + elsewhere.get() + " instead: " +
					"move it where it belongs (a later run does not know of it, and edits the image again).")
						.leaving(EditException.Charge.SAVED_ELSEWHERE, null, List.of());
			}
			entry[0].saved(saved);
			var files = line.putArray("results");
			saved.forEach(files::add);
			Provenance p = result.provenance();
			line.put("requestId", p.get(Provenance.REQUEST_ID));
			String cost = p.get(Provenance.PREFIX + "CostUsd");
			if (cost != null) line.put("costUsd", cost);
			line.put("status", "done");
			ObjectNode timings = line.putObject("timingsMs");
			result.times().asMap().forEach((k, v) -> timings.put(k, v.toMillis()));
			for (String warning : result.warnings()) {
				listener.warned("warning " + item.label() + ": " + config.redact(warning));
			}
			listener.said("done " + item.label() + " -> " + String.join(", ", saved));
			return Result.DONE;
		}
		catch (EditException e) {
			boolean kept = entry[0] != null && entry[0].settle(e);
			if (kept) line.put("journal", "kept");
			String error = config.redact(e.describe()) + (kept ? whatTheJournalKeeps(entry[0], e, withoutDoingItAgain())
				: "");
			line.put("error", error);
			// Only this run's own cancel stops an edit; a job cancelled at the provider (someone else's
			// cancel, on its website say) failed, and is counted and told as a failure.
			if (e.kind() == ErrorKind.CANCELLED && cancellation.isCancelled()) {
				line.put("status", "cancelled");
				listener.warned("cancelled " + item.label() + (kept ? " (not stopped: it stays in the journal)" : ""));
				return kept ? Result.NOT_STOPPED : Result.STOPPED;
			}
			line.put("status", "failed");
			listener.warned("failed " + item.label() + ": " + error);
			failures.add(item.label() + ": " + error);
			return Result.FAILED;
		}
		catch (OutOfMemoryError e) {
			// Decoding a result outside the plugin's own decoder: the job was paid for, and its entry
			// (past the create) stays for a run with more memory.
			boolean kept = entry[0] != null && entry[0].settle(e) && entry[0].phase() == BatchJournal.Phase.ACCEPTED;
			String error = "There is not enough memory for this result; give the program more memory (java -Xmx, or " +
				"Edit > Options > Memory in Fiji)" + (kept ? " and run again: the job stays in the journal and is " +
				"fetched " + withoutDoingItAgain() + "." : ".");
			line.put("status", "failed");
			line.put("error", error);
			listener.warned("failed " + item.label() + ": " + error);
			failures.add(item.label() + ": " + error);
			return Result.FAILED;
		}
		catch (RuntimeException e) {
			if (entry[0] != null) entry[0].settle(e);
			String error = config.redact(String.valueOf(e));
			line.put("status", "failed");
			line.put("error", error);
			listener.warned("failed " + item.label() + ": " + error);
			failures.add(item.label() + ": " + error);
			return Result.FAILED;
		}
		finally {
			line.put("startedAt", started.toString());
			line.put("finishedAt", Instant.now().toString());
			try {
				log.append(line);
				// Only once the log says the job is done: a kill in between must not leave a saved result
				// that neither the log nor the journal knows of, which the next run would pay for again.
				if ("done".equals(Json.text(line, "status"))) entry[0].settle(null);
			}
			catch (IOException e) {
				boolean done = "done".equals(Json.text(line, "status"));
				if (done) entry[0].settle(e);
				listener.warned("Cannot write " + log.file() + ": " + e.getMessage() + (done ? ". The job stays in the " +
					"journal, so the next run saves its result again rather than paying for it again." : "."));
			}
		}
	}

	/**
	 * Writes a paid result that neither the output folder nor its journal could take into a new
	 * folder under the system's temporary directory (often another disk), as the provider sent it
	 * and with its provenance beside it, readable by the user only.
	 *
	 * @return that folder, or empty when it could not be written either
	 */
	private static Optional<Path> keepOutsideTheFolder(Item item, EditResult result) {
		try {
			Path folder = Files.createTempDirectory("qwen-edit-unsaved-");
			// Only for a name in a fresh folder: anything but plain characters becomes "_".
			String base = item.title().replaceAll("\\.[A-Za-z0-9]{1,5}$", "").replaceAll("[^A-Za-z0-9._-]", "_");
			List<io.github.qwenedit.core.OutputImage> images = result.images();
			for (int i = 0; i < images.size(); i++) {
				io.github.qwenedit.core.OutputImage image = images.get(i);
				Files.write(folder.resolve("AI-edit_" + (i + 1) + "_of_" + base + "." +
					io.github.qwenedit.core.MimeTypes.extension(image.mimeType())), image.bytes());
			}
			ObjectNode provenance = Json.object();
			result.provenance().entries().forEach(provenance::put);
			Files.write(folder.resolve("provenance.json"), Json.bytes(provenance));
			return Optional.of(folder);
		}
		catch (IOException | RuntimeException full) {
			return Optional.empty();
		}
	}

	/**
	 * What a kept entry lets a later run do, said only as far as the entry holds it: a job recorded
	 * with its handle is fetched without paying again; one whose acceptance could not be recorded is
	 * not (the edit's own message says why and what may be charged).
	 */
	private static String whatTheJournalKeeps(BatchJournal.Pending entry, EditException failure, String withoutAgain) {
		if (entry.phase() != BatchJournal.Phase.ACCEPTED) return "";
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if (cause instanceof ExpiredLinkException) {
				// A link gone now may stay gone: promising the result would be a promise the next run may break.
				return " The job stays in the folder's journal of jobs in flight, so running the batch again or Recover " +
					"Unfinished Edits tries its result links once more " + withoutAgain + "; links that are still gone " +
					"then have expired, and that result is lost.";
			}
		}
		return " The job stays in the folder's journal of jobs in flight, so running the batch again or Recover " +
			"Unfinished Edits fetches it " + withoutAgain + ".";
	}

	/** "without paying again", or for the lab's own server, which charges nothing, "without running it again". */
	private String withoutDoingItAgain() {
		return session.provider().chargesForJobs() ? "without paying again" : "without running it again";
	}

	/**
	 * Runs the edit; its create waits, once the inputs are staged, for a free place in the provider's
	 * window, so the pace the provider sees is the pace the limiter grants. A 429 that still comes on
	 * create was a refusal, not a job: the session sends the create again with the inputs it staged
	 * (up to {@link #RATE_LIMITED_ATTEMPTS} times, each after its own wait for a place in the window),
	 * never counted a failure. A 429 once the provider has taken the job is never answered by sending
	 * the image again.
	 */
	private EditResult runWithinLimits(EditRequest request, Item item, BatchJournal journal, BatchJournal.Pending[] entry)
		throws EditException
	{
		BatchJournal.Pending journalled = journal.pending(new BatchJournal.SourceKey(item.source(), item.plane()),
			item.title(), descriptor.id(), request, false).sourceFingerprint(fingerprint(item).orElse(null));
		entry[0] = journalled;
		EditSession.SubmissionListener pacedAndJournalled = new EditSession.SubmissionListener() {
			@Override
			public void aboutToUpload(List<String> stagedKeys) throws EditException {
				journalled.aboutToUpload(stagedKeys);
			}

			@Override
			public void aboutToSubmit(List<String> stagedKeys, Provenance provenance,
				java.util.Optional<io.github.qwenedit.core.JobHandle> planned) throws EditException
			{
				RequestWindow.Place place = limiter.acquire(cancellation);
				journalled.aboutToSubmit(stagedKeys, provenance, planned);
				place.sendingNow();
			}

			@Override
			public void accepted(io.github.qwenedit.core.JobState state, List<String> stagedKeys) throws EditException {
				journalled.accepted(state, stagedKeys);
			}

			@Override
			public void refused(List<String> stagedKeys) throws EditException {
				journalled.refused(stagedKeys);
			}

			@Override
			public int createAttempts() {
				return RATE_LIMITED_ATTEMPTS;
			}

			@Override
			public boolean keepsJobs() {
				return journalled.keepsJobs();
			}
		};
		return session.run(request, (m, f) -> {}, cancellation, pacedAndJournalled);
	}
}
