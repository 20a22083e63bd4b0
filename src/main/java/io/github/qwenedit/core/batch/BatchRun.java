package io.github.qwenedit.core.batch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.EditSession;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.http.RetryPolicy;
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

	/** How a run ended. */
	public static final class Outcome {
		/** Whether the run started at all; when not, nothing was sent. */
		public final boolean started;
		/** Why it did not start, one sentence; null when it started. */
		public final String refusal;
		/** Whether it did not start because the cost could not be checked against the ceiling. */
		public final boolean unpriced;
		public final int done;
		public final int failed;
		public final int skipped;
		/** Jobs stopped by a cancel or never started because of it. */
		public final int cancelled;
		/** "source: one-sentence error", per failed job, in the order they failed. */
		public final List<String> failures;

		private Outcome(boolean started, String refusal, boolean unpriced, int done, int failed, int skipped,
			int cancelled, List<String> failures)
		{
			this.started = started;
			this.refusal = refusal;
			this.unpriced = unpriced;
			this.done = done;
			this.failed = failed;
			this.skipped = skipped;
			this.cancelled = cancelled;
			this.failures = List.copyOf(failures);
		}

		static Outcome refused(String why, boolean unpriced) {
			return new Outcome(false, why, unpriced, 0, 0, 0, 0, List.of());
		}

		public boolean complete() {
			return started && failed == 0 && cancelled == 0;
		}
	}

	/**
	 * A 429 on create means the job was refused, not taken: it is tried again after the wait, this
	 * often and within the edit's one deadline.
	 */
	static final int RATE_LIMITED_ATTEMPTS = 10;
	private static final Duration RATE_LIMITED_PAUSE = Duration.ofSeconds(5);

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
		maxCostUsd = ceiling;
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
		PlantedLinks.refuse(log.file());
		BatchJournal journal = new BatchJournal(output);
		Set<String> leftInJournal = recoverUnfinished();
		Map<String, List<Path>> done = log.done();
		// Sent by an earlier run and still at the provider: sending them again would pay twice.
		leftInJournal.forEach(key -> done.putIfAbsent(key, List.of()));
		List<Item> todo = new ArrayList<>();
		for (Item item : items) {
			if (!done.containsKey(item.key())) todo.add(item);
		}
		String model = options.model();
		OptionalDouble price = session.provider().model(model).estimatedCostUsd(options.outputs());
		String estimate = todo.size() + " edits with " + descriptor.displayName() + " " + model + ", estimated cost " +
			(price.isPresent() ? String.format(Locale.ROOT, "$%.2f", price.getAsDouble() * todo.size())
				: "unknown (no list price for this model)");
		listener.said(estimate);
		if (maxCostUsd != null) {
			if (!price.isPresent()) {
				return Outcome.refused("The cost ceiling cannot be checked: " + model + " has no list price. Nothing was sent.",
					true);
			}
			if (price.getAsDouble() * todo.size() > maxCostUsd) {
				return Outcome.refused(String.format(Locale.ROOT, "The estimated cost exceeds the ceiling of $%.2f: nothing " +
					"was sent. Raise the ceiling or edit fewer images.", maxCostUsd), false);
			}
		}
		if (!todo.isEmpty() && !confirm.test(estimate + ". Start?")) {
			return Outcome.refused("Not started: nothing was sent.", false);
		}
		ProviderLimits limits = descriptor.limits();
		int workers = Math.max(1, Math.min(concurrency, limits.maxConcurrentJobs()));
		if (workers < concurrency) {
			listener.said(descriptor.displayName() + " runs at most " + workers + (workers == 1 ? " edit" : " edits") +
				" at once per key: using " + workers + ".");
		}
		AtomicInteger ok = new AtomicInteger();
		AtomicInteger failed = new AtomicInteger();
		AtomicInteger cancelled = new AtomicInteger();
		AtomicInteger finished = new AtomicInteger();
		List<String> failures = Collections.synchronizedList(new ArrayList<>());
		int skipped = 0;
		ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
			Thread t = new Thread(r, "Qwen Image Edit batch");
			t.setDaemon(true);
			return t;
		});
		List<Future<?>> jobs = new ArrayList<>();
		listener.progress(0, todo.size());
		try {
			for (Item item : items) {
				if (done.containsKey(item.key())) {
					skipped++;
					listener.said("skipped " + item.label() + " (done in an earlier run)");
					continue;
				}
				jobs.add(pool.submit(() -> {
					Result r = cancellation.isCancelled() ? Result.CANCELLED : editOne(item, log, journal, failures);
					(r == Result.DONE ? ok : r == Result.FAILED ? failed : cancelled).incrementAndGet();
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
		listener.said(ok.get() + " done, " + failed.get() + " failed, " + skipped + " skipped");
		if (cancelled.get() > 0) {
			listener.said("Cancelled: " + cancelled.get() + " edits stopped or not started. Run the batch again into " +
				"the same folder to do them.");
		}
		if (!failures.isEmpty()) {
			listener.warned("Failed (" + failures.size() + "):");
			failures.forEach(f -> listener.warned("  " + f));
		}
		return new Outcome(true, null, false, ok.get(), failed.get(), skipped, cancelled.get(), failures);
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

	/** @return the keys of jobs still in the journal afterwards (running, or not reachable now) */
	private Set<String> recoverUnfinished() throws EditException {
		Set<String> left = new HashSet<>();
		for (BatchJournal.Entry entry : new BatchJournal(output).entries()) {
			if (recoverySaver == null && entry.provider.equals(descriptor.id())) left.add(entry.source);
		}
		if (recoverySaver == null) return left;
		JournalRecovery.Report recovered = new JournalRecovery(config, recoverySaver).recover(output,
			Optional.of(descriptor.id()), EditSession.deadline(config), (m, f) -> {}, cancellation);
		for (JournalRecovery.Outcome outcome : recovered.outcomes()) {
			if (outcome.kind == JournalRecovery.Kind.RECOVERED) {
				listener.said("recovered " + outcome.entry.source + " -> " + String.join(", ", outcome.files));
			}
			else if (outcome.keptInJournal) {
				listener.warned("left in the journal " + outcome.entry.source + ": " + outcome.reason);
			}
			else {
				listener.warned("could not recover " + outcome.entry.source + ": " + outcome.reason);
			}
		}
		recovered.problems().forEach(p -> listener.warned(config.redact(p)));
		return recovered.sourcesLeftInJournal();
	}

	/** How far the create of one job got. */
	private static final class Sending {
		volatile boolean sent;
		volatile boolean accepted;

		/** Sent, and no answer came back: the provider may have taken the job all the same. */
		boolean mayHaveMadeAJob(EditException e) {
			boolean unanswered = e.kind() == ErrorKind.CANCELLED || e.kind() == ErrorKind.TIMED_OUT ||
				e.kind() == ErrorKind.NETWORK;
			return sent && !accepted && unanswered;
		}
	}

	private enum Result {
		DONE, FAILED, CANCELLED
	}

	private Result editOne(Item item, BatchLog log, BatchJournal journal, List<String> failures) {
		String key = item.key();
		Instant started = Instant.now();
		ObjectNode line = Json.object();
		line.put("source", item.source());
		if (item.plane() > 0) line.put("plane", item.plane());
		item.position().forEach(line::put);
		line.put("provider", descriptor.id());
		line.put("model", options.model());
		line.put("instruction", instruction);
		line.put("seed", options.seed().map(String::valueOf).orElse("random"));
		line.put("size", options.size().map(ImageSize::toString).orElse("as input"));
		Sending sending = new Sending();
		try {
			EditRequest request = item.request(instruction, options);
			EditResult result = runWithinLimits(request, item, journal, sending);
			List<String> saved = item.save(result);
			journal.clear(key);
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
			// The job reached a final state (or never started): nothing is left to recover. Only a
			// create cut off on its way may have made a job: its entry stays, and the next run says so.
			if (!sending.mayHaveMadeAJob(e)) journal.clear(key);
			String error = config.redact(e.describe());
			line.put("error", error);
			if (e.kind() == ErrorKind.CANCELLED) {
				line.put("status", "cancelled");
				listener.warned("cancelled " + item.label());
				return Result.CANCELLED;
			}
			line.put("status", "failed");
			listener.warned("failed " + item.label() + ": " + error);
			failures.add(item.label() + ": " + error);
			return Result.FAILED;
		}
		catch (RuntimeException e) {
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
			}
			catch (IOException e) {
				listener.warned("Cannot write " + log.file() + ": " + e.getMessage());
			}
		}
	}

	/**
	 * Runs the edit; its create waits, once the inputs are staged, for a free place in the provider's
	 * window, so the pace the provider sees is the pace the limiter grants. A 429 that still comes on
	 * create was a refusal, not a job: it is waited out and the job sent again, never counted a failure.
	 */
	private EditResult runWithinLimits(EditRequest request, Item item, BatchJournal journal, Sending sending)
		throws EditException
	{
		Deadline deadline = Deadline.after(session.deadline());
		for (int attempt = 1;; attempt++) {
			BatchJournal.Pending entry = journal.pending(item.key(), item.title(), descriptor.id(), request, false);
			sending.sent = false;
			EditSession.SubmissionListener pacedAndJournalled = new EditSession.SubmissionListener() {
				@Override
				public void aboutToSubmit(List<String> stagedKeys) throws EditException {
					limiter.acquire(cancellation);
					entry.aboutToSubmit(stagedKeys);
					sending.sent = true;
				}

				@Override
				public void submitted(io.github.qwenedit.provider.JobHandle job, List<String> stagedKeys)
					throws EditException
				{
					entry.submitted(job, stagedKeys);
					sending.accepted = true;
				}
			};
			try {
				return session.run(request, (m, f) -> {}, cancellation, pacedAndJournalled, deadline);
			}
			catch (EditException e) {
				if (e.kind() != ErrorKind.RATE_LIMITED || attempt >= RATE_LIMITED_ATTEMPTS) throw e;
				Duration wait = e.retryAfter().orElse(RATE_LIMITED_PAUSE);
				Duration left = deadline.remaining();
				if (wait.compareTo(left) >= 0) {
					throw new EditException(ErrorKind.RATE_LIMITED, descriptor.displayName() + " refused the job (HTTP " +
						"429) and asked to wait " + (wait.compareTo(RetryPolicy.LONGEST_RETRY_AFTER) >= 0 ? "an hour or more"
							: Deadline.describe(wait)) + ", more than is left of this edit's deadline (" + Deadline.describe(left) +
						"), so it was not sent again; run the batch again later.", wait, e);
				}
				cancellation.sleep(wait);
			}
		}
	}
}
