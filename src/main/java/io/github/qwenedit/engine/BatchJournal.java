package io.github.qwenedit.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.Hashing;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.http.Json;

/**
 * The jobs in flight whose results go to an output folder, one small file each in
 * {@code <output>/.qwen-edit-journal/}. Each entry goes through the same phases in every front end:
 * <ol>
 * <li>{@link Phase#UPLOADING}: written before each input is uploaded under a key the plugin chose
 * (the keys, source and request), so that a kill mid-upload leaves no object nothing knows of;</li>
 * <li>{@link Phase#STAGED}: written once the inputs are staged, before the create goes out (staged
 * keys, source, request, the provenance known so far, and the job's handle where the client names
 * the job itself, as for ComfyUI);</li>
 * <li>{@link Phase#ACCEPTED}: the provider took the job; its handle is recorded, and its result links
 * as soon as they are known, before anything is downloaded (at once for a job final in the
 * create's answer);</li>
 * <li>settled: the file is removed, when the results are saved whole or the edit ended leaving
 * nothing to fetch. {@link #keeps} alone decides which, from the phase and the failure.</li>
 * </ol>
 * After a crash or a kill, {@link JournalRecovery} finds the entries left, fetches what the provider
 * finished meanwhile and deletes the staged objects, so nothing paid for is lost and nothing is paid
 * twice. Holds no key and no signed link to the user's bucket; a result's links, which the provider
 * signed for that result alone, stay until the result is saved.
 */
public final class BatchJournal {

	public static final String FOLDER = ".qwen-edit-journal";
	/** The entry format written now; entries without a version are the first format, still read. */
	static final int VERSION = 2;
	/** What a malformed entry is renamed to end with: set aside, never read again, kept to look at. */
	public static final String SET_ASIDE = ".malformed";

	/** How far an entry's job got; a settled job has no entry. */
	public enum Phase {
		/**
		 * Inputs are being uploaded, or are staged while a create the provider refused (HTTP 429) waits
		 * to be sent again: the provider holds no job, so nothing can have been charged.
		 */
		UPLOADING,
		/** The inputs are staged and the create is on its way, or was cut off: a job may exist, no id is known. */
		STAGED,
		/** The provider took the job: its handle is known, and its result links once it succeeded. */
		ACCEPTED
	}

	/**
	 * Which image a job edits: a file (or, for an open image that has none, its title) and, for one
	 * plane of a stack, that plane. The log knows it as {@link #key()}.
	 */
	public static final class SourceKey {
		public final String source;
		/** The 1-based plane of a stack, or 0 for the whole image. */
		public final int plane;

		public SourceKey(String source, int plane) {
			this.source = source;
			this.plane = plane;
		}

		/** The key of the first format, {@code file#plane=N} for a plane, as {@link BatchLog#key} makes it. */
		static SourceKey parse(String key) {
			String[] parts = BatchLog.splitKey(key);
			return new SourceKey(parts[0], Integer.parseInt(parts[1]));
		}

		public String key() {
			return BatchLog.key(source, plane);
		}

		/** The source file, when {@link #source} names one that exists. */
		public Optional<Path> file() {
			try {
				Path path = Paths.get(source);
				return path.isAbsolute() && Files.isRegularFile(path) ? Optional.of(path) : Optional.empty();
			}
			catch (InvalidPathException aTitleNotAFile) {
				return Optional.empty();
			}
		}

		/** As messages name it: the source, and the plane if there is one. */
		@Override
		public String toString() {
			return plane > 0 ? source + " plane " + plane : source;
		}
	}

	/** An entry that cannot be read as one: set aside rather than stop every run into the folder. */
	static final class MalformedEntry extends Exception {
		private static final long serialVersionUID = 1L;

		MalformedEntry(String why) {
			super(why);
		}
	}

	/** One job in flight. */
	public static final class Entry {
		public final Path file;
		/** 0 for entries of the first format. */
		public final int version;
		public final Phase phase;
		public final SourceKey source;
		public final String provider;
		public final String model;
		public final String instruction;
		/** The folder the results were to be saved in when the job was sent. */
		public final String destination;
		/** When the job was about to be sent; null in entries of the first format. */
		public final String sentAt;
		/** The options that go into the provenance; null where the entry has none. */
		public final String negativePrompt;
		public final String seed;
		public final String size;
		private final String sourceTitle;
		/** What the results carry, as the edit knew it before the create; null in entries of the first format. */
		private final Provenance provenance;
		/** Null before {@link Phase#ACCEPTED}, but where the client named the job before its create ({@link io.github.qwenedit.provider.EditProvider#plannedJob}). */
		public final JobHandle job;
		/** The result links of a job that succeeded, recorded before the download; empty until then. */
		public final List<String> outputUrls;
		/** What the provider reported of a job that succeeded, with its links. */
		public final Map<String, String> facts;
		public final List<String> stagedKeys;
		/**
		 * The result files the run that sent the job saved whole, in the output folder, before the log
		 * knew of them; empty until then.
		 */
		public final List<String> savedResults;
		/** What the source file's bytes were when the batch read it ({@link BatchLog#SOURCE_FILE_SHA256}); null if unknown. */
		public final String sourceFileSha256;
		private final long writerPid;
		private final String writerStarted;

		Entry(Path file, JsonNode n) throws MalformedEntry {
			if (!n.isObject()) throw new MalformedEntry("it is not a JSON object");
			this.file = file;
			JsonNode v = n.get("version");
			if (v != null && (!v.isInt() || v.asInt() < 1 || v.asInt() > VERSION)) {
				throw new MalformedEntry("its version " + v + " is not one this plugin reads");
			}
			this.version = v == null ? 0 : v.asInt();
			this.writerPid = n.path("pid").asLong(-1);
			this.writerStarted = text(n, "processStarted");
			String source = text(n, "source");
			if (source == null || source.isEmpty()) throw new MalformedEntry("it names no source");
			JsonNode plane = n.get("plane");
			if (plane != null && (!plane.isInt() || plane.asInt() < 0)) throw new MalformedEntry("its plane is not a number");
			this.source = version == 0 ? SourceKey.parse(source) : new SourceKey(source, plane == null ? 0 : plane.asInt());
			this.provider = text(n, "provider");
			if (provider == null) throw new MalformedEntry("it names no provider");
			this.model = text(n, "model");
			this.instruction = text(n, "instruction");
			this.destination = text(n, "destination");
			this.sentAt = text(n, "sentAt");
			this.negativePrompt = text(n, "negativePrompt");
			this.seed = text(n, "seed");
			this.size = text(n, "size");
			this.sourceTitle = text(n, "sourceTitle");
			if (n.has("provenance") && !n.get("provenance").isNull()) {
				Provenance p = new Provenance();
				textMap(n, "provenance").forEach(p::put);
				this.provenance = p;
			}
			else {
				this.provenance = null;
			}
			String jobId = text(n, "jobId");
			this.job = jobId == null ? null : new JobHandle(jobId, text(n, "pollUrl"), text(n, "cancelUrl"),
				text(n, "resultUrl"));
			String phase = text(n, "phase");
			if (phase == null) {
				this.phase = job == null ? Phase.STAGED : Phase.ACCEPTED;
			}
			else {
				try {
					this.phase = Phase.valueOf(phase);
				}
				catch (IllegalArgumentException unknown) {
					throw new MalformedEntry("its phase \"" + phase + "\" is not one this plugin knows");
				}
			}
			if (this.phase == Phase.ACCEPTED && job == null) throw new MalformedEntry("it was accepted but has no job id");
			this.outputUrls = texts(n, "outputUrls");
			this.facts = textMap(n, "facts");
			this.stagedKeys = texts(n, "stagedKeys");
			this.savedResults = texts(n, "savedResults");
			this.sourceFileSha256 = text(n, BatchLog.SOURCE_FILE_SHA256);
			for (String name : savedResults) {
				if (!isPlainFileName(name)) throw new MalformedEntry("its savedResults name something other than a file");
			}
		}

		private static boolean isPlainFileName(String name) {
			try {
				Path path = Paths.get(name);
				return path.getNameCount() == 1 && !path.isAbsolute() && !name.equals("..") && !name.equals(".");
			}
			catch (InvalidPathException notAName) {
				return false;
			}
		}

		/** A field that must be text when present. */
		private static String text(JsonNode n, String field) throws MalformedEntry {
			JsonNode v = n.get(field);
			if (v == null || v.isNull()) return null;
			if (!v.isTextual()) throw new MalformedEntry("its " + field + " is not text");
			return v.asText();
		}

		private static Map<String, String> textMap(JsonNode n, String field) throws MalformedEntry {
			JsonNode v = n.get(field);
			Map<String, String> all = new java.util.LinkedHashMap<>();
			if (v == null || v.isNull()) return all;
			if (!v.isObject()) throw new MalformedEntry("its " + field + " is not an object");
			for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext();) {
				Map.Entry<String, JsonNode> f = it.next();
				if (!f.getValue().isTextual()) throw new MalformedEntry("its " + field + " holds a value that is not text");
				all.put(f.getKey(), f.getValue().asText());
			}
			return all;
		}

		private static List<String> texts(JsonNode n, String field) throws MalformedEntry {
			JsonNode v = n.get(field);
			List<String> all = new ArrayList<>();
			if (v == null || v.isNull()) return all;
			if (!v.isArray()) throw new MalformedEntry("its " + field + " is not a list");
			for (JsonNode item : v) {
				if (!item.isTextual()) throw new MalformedEntry("its " + field + " holds something that is not text");
				all.add(item.asText());
			}
			return all;
		}

		/** The key the log and a batch know the job by. */
		public String key() {
			return source.key();
		}

		/**
		 * Whether the program that wrote the entry is still running (this one included): its job is
		 * in flight there, and that program saves the result and deletes the staged inputs itself.
		 */
		public boolean writerIsRunning() {
			if (writerPid < 0) return false;
			// In this program, only an edit still under way holds its entry: one it left behind (a
			// result not saved, a job not stopped) is for a recovery in the same session too.
			if (writerPid == ProcessHandle.current().pid()) return IN_FLIGHT_HERE.contains(file.toAbsolutePath());
			Optional<ProcessHandle> writer = ProcessHandle.of(writerPid);
			if (!writer.isPresent() || !writer.get().isAlive()) return false;
			// The same number may have been given to a later process.
			Optional<String> started = startOf(writer.get());
			return writerStarted == null || !started.isPresent() || started.get().equals(writerStarted);
		}

		/** The title result titles and provenance give the source: its file name, and the plane. */
		public String sourceTitle() {
			if (sourceTitle != null) return sourceTitle;
			try {
				Path name = Paths.get(source.source).getFileName();
				return name == null ? source.source : name.toString();
			}
			catch (InvalidPathException notAPath) {
				return source.source;
			}
		}

		/** What the results carry as far as the edit knew before the create; empty for entries of the first format. */
		public Optional<Provenance> provenance() {
			return Optional.ofNullable(provenance).map(Provenance::copy);
		}
	}

	/**
	 * The one rule for every front end: whether an edit's entry stays in the journal once the edit
	 * has ended, from how far its job got and how it ended. A result saved whole settles it. A
	 * failure keeps it when it left something a later run or a recovery can still fetch or must
	 * still report (a job that may run and charge, with or without a known id, or a paid result not
	 * saved); a failure the plugin did not foresee keeps it once the provider has taken the job.
	 *
	 * @param failure null when the results were saved
	 */
	public static boolean keeps(Phase phase, Throwable failure) {
		if (failure == null || phase == null) return false;
		if (failure instanceof EditException) return ((EditException) failure).charge().leavesSomethingToFetch();
		return phase == Phase.ACCEPTED;
	}

	/** The entries of edits under way in this program, which it settles itself. */
	private static final java.util.Set<Path> IN_FLIGHT_HERE = java.util.concurrent.ConcurrentHashMap.newKeySet();

	private final Path folder;

	public BatchJournal(Path output) {
		this.folder = output.resolve(FOLDER);
	}

	/**
	 * The journal entry of one edit of {@code source}, written through the edit as
	 * {@link EditSession#run(EditRequest, io.github.qwenedit.core.ProgressListener, io.github.qwenedit.core.Cancellation,
	 * EditSession.SubmissionListener)} reports it: give it to the session, and {@link Pending#settle} it
	 * once the edit ended. A batch has one entry per source and provider, so that a run for another
	 * provider never overwrites a job still in flight; {@code oneOfMany} gives each edit its own
	 * entry, for single edits that may send the same image twice at once. Entries of earlier versions,
	 * named after the source alone, are read all the same: {@link #entries} reads every file.
	 */
	public Pending pending(SourceKey source, String sourceTitle, String provider, EditRequest request, boolean oneOfMany) {
		String identity = provider + "\n" + source.key();
		Path file = folder.resolve(nameOf(oneOfMany ? identity + "\n" + java.util.UUID.randomUUID() : identity) + ".json");
		return new Pending(file, source, sourceTitle, provider, request);
	}

	/** One edit's entry; see {@link BatchJournal#pending}. */
	public final class Pending implements EditSession.SubmissionListener {
		private final Path file;
		private final SourceKey source;
		private final String sourceTitle;
		private final String provider;
		private final EditRequest request;
		private volatile ObjectNode written;
		private volatile Phase phase;
		private volatile String sourceFileSha256;

		Pending(Path file, SourceKey source, String sourceTitle, String provider, EditRequest request) {
			this.file = file;
			IN_FLIGHT_HERE.add(file.toAbsolutePath());
			this.source = source;
			this.sourceTitle = sourceTitle;
			this.provider = provider;
			this.request = request;
		}

		/**
		 * The fingerprint of the source file as the batch read it, written with the entry so that a
		 * result a recovery saves is logged with the content it was made from.
		 */
		public Pending sourceFingerprint(String sha256) {
			sourceFileSha256 = sha256;
			return this;
		}

		/** Records the keys of the uploads so far, this one included, before it begins. */
		@Override
		public void aboutToUpload(List<String> stagedKeys) throws EditException {
			recordNothingSent(stagedKeys, "so nothing was uploaded or sent.");
		}

		/** Records that the provider refused the create: it holds no job, and the staged inputs wait for the next send. */
		@Override
		public void refused(List<String> stagedKeys) throws EditException {
			recordNothingSent(stagedKeys, "so the edit was not sent again.");
		}

		/** @param when what a failed write means for the edit, the end of the sentence that reports it */
		private void recordNothingSent(List<String> stagedKeys, String when) throws EditException {
			ObjectNode n = describe(Phase.UPLOADING, stagedKeys);
			write(file, n, when);
			written = n;
			phase = Phase.UPLOADING;
		}

		/**
		 * Records the job about to be sent, with the handle it will have where the client names it;
		 * written atomically, so a kill leaves a whole file or none.
		 */
		@Override
		public void aboutToSubmit(List<String> stagedKeys, Provenance provenance, Optional<JobHandle> planned)
			throws EditException
		{
			ObjectNode n = describe(Phase.STAGED, stagedKeys);
			planned.ifPresent(job -> putHandle(n, job));
			ObjectNode recorded = n.putObject("provenance");
			provenance.entries().forEach(recorded::put);
			write(file, n, "so the edit was not sent.");
			written = n;
			phase = Phase.STAGED;
		}

		private void putHandle(ObjectNode n, JobHandle job) {
			n.put("jobId", job.id());
			for (String link : List.of("pollUrl", "cancelUrl", "resultUrl")) {
				n.remove(link);
			}
			job.pollUrl().ifPresent(u -> n.put("pollUrl", u));
			job.cancelUrl().ifPresent(u -> n.put("cancelUrl", u));
			job.resultUrl().ifPresent(u -> n.put("resultUrl", u));
		}

		/** The entry's source, request and staged keys, as far as {@code phase}. */
		private ObjectNode describe(Phase phase, List<String> stagedKeys) {
			EditOptions o = request.options();
			ObjectNode n = Json.object().put("version", VERSION).put("phase", phase.name())
				.put("source", source.source);
			if (source.plane > 0) n.put("plane", source.plane);
			n.put("sourceTitle", sourceTitle).put("provider", provider)
				.put("model", o.model()).put("instruction", request.instruction())
				.put("destination", folder.getParent().toAbsolutePath().toString())
				.put("sentAt", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString())
				.put("negativePrompt", o.negativePrompt()).put("seed", recordedSeed(o))
				.put("size", recordedSize(o)).put("outputs", o.outputs());
			if (sourceFileSha256 != null) n.put(BatchLog.SOURCE_FILE_SHA256, sourceFileSha256);
			stagedKeys.forEach(n.putArray("stagedKeys")::add);
			return n;
		}

		/** Records the job the provider took, with its result links once they are known. */
		@Override
		public void accepted(JobState state, List<String> stagedKeys) throws EditException {
			ObjectNode n = written == null ? Json.object().put("version", VERSION).put("source", source.source)
				.put("provider", provider) : written.deepCopy();
			n.put("phase", Phase.ACCEPTED.name());
			putHandle(n, state.handle());
			n.remove("outputUrls");
			n.remove("facts");
			if (state.status() == JobState.Status.SUCCEEDED) {
				state.outputUrls().forEach(n.putArray("outputUrls")::add);
				ObjectNode facts = n.putObject("facts");
				state.facts().forEach(facts::put);
			}
			n.remove("stagedKeys");
			stagedKeys.forEach(n.putArray("stagedKeys")::add);
			write(file, n, "after the provider took the edit.");
			written = n;
			phase = Phase.ACCEPTED;
		}

		/**
		 * Records the result files once they are saved whole, before the log is written: should the
		 * log fail, the entry stays, and a recovery logs these files instead of saving the result again
		 * under a second name. A journal that cannot take this leaves that second copy as the only harm.
		 */
		public void saved(List<String> files) {
			if (written == null) return;
			ObjectNode n = written.deepCopy();
			files.forEach(n.putArray("savedResults")::add);
			try {
				write(file, n, "after the result was saved.");
				written = n;
			}
			catch (EditException secondCopyAtWorst) {
				return;
			}
		}

		@Override
		public boolean keepsJobs() {
			return true;
		}

		/** How far the job got; null before anything was written. */
		public Phase phase() {
			return phase;
		}

		/**
		 * Ends the edit's part in the journal by {@link BatchJournal#keeps}: removes the entry when the
		 * results are saved ({@code failure} null) or the failure left nothing to fetch; keeps it
		 * otherwise.
		 *
		 * @return whether the entry stays
		 */
		public boolean settle(Throwable failure) {
			IN_FLIGHT_HERE.remove(file.toAbsolutePath());
			if (keeps(phase, failure)) return true;
			delete(file);
			return false;
		}
	}

	private static String nameOf(String text) {
		return Hashing.sha256Hex(text.getBytes(StandardCharsets.UTF_8)).substring(0, 32);
	}

	private static Optional<String> startOf(ProcessHandle process) {
		return process.info().startInstant().map(i -> i.truncatedTo(ChronoUnit.SECONDS).toString());
	}

	/** Enough to outlast other workers removing the emptied folder; each attempt takes microseconds. */
	private static final int WRITE_ATTEMPTS = 20;

	/** @param when what the failure means for the edit, the end of the sentence that reports it */
	private void write(Path file, ObjectNode n, String when) throws EditException {
		ProcessHandle self = ProcessHandle.current();
		n.put("pid", self.pid());
		startOf(self).ifPresent(started -> n.put("processStarted", started));
		try {
			for (int attempt = 1;; attempt++) {
				try {
					Files.createDirectories(folder);
					// createTempFile makes the file readable by its owner only: the journal names the user's jobs.
					// Named after the entry it replaces, so that a write a kill cut short between the two
					// steps can still be taken up by the next run (adoptWritesCutShort).
					Path temp = Files.createTempFile(folder, "." + file.getFileName() + ".", ".tmp");
					try {
						// On disk before the rename: an entry names a paid job, which a power cut must not lose.
						byte[] bytes = Json.bytes(n);
						WholeFiles.writeToDisk(temp, out -> out.write(bytes));
						Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
						WholeFiles.forceFolder(folder);
					}
					finally {
						Files.deleteIfExists(temp);
					}
					return;
				}
				catch (java.nio.file.NoSuchFileException | java.nio.file.FileAlreadyExistsException folderJustRemoved) {
					// Another worker cleared the last entry and removed the folder between two of our steps:
					// createDirectories reports "already exists" when the folder vanishes during its check,
					// createTempFile "no such file" when it vanishes after. A file in the folder's place fails
					// every attempt and is reported.
					if (attempt == WRITE_ATTEMPTS) throw folderJustRemoved;
				}
			}
		}
		catch (IOException e) {
			throw new EditException(ErrorKind.LOCAL_FILES, "Cannot write the journal of jobs in flight in " + folder +
				" (" + e.getMessage() + "), " + when + " Check that the output folder can be written to and has free " +
				"space.");
		}
	}

	/** Removes the entry of a job whose outcome is final. */
	public void clear(Entry entry) {
		delete(entry.file);
	}

	private void delete(Path file) {
		try {
			Files.deleteIfExists(file);
		}
		catch (IOException e) {
			// A stale entry is only looked at again, and found done, by the next recovery.
			return;
		}
		try {
			// An empty journal leaves no hidden folder among the results.
			Files.deleteIfExists(folder);
		}
		catch (IOException notEmptyOrInUse) {
			// Other jobs are still in flight, or an entry was set aside.
		}
	}

	/**
	 * The entry of an earlier edit of {@code source} with {@code provider} and the same request
	 * (model, instruction, negative prompt, seed, size), as {@link Pending#aboutToSubmit} records them,
	 * when one is still in the journal: sending that edit again would pay twice for one result.
	 */
	public Optional<Entry> sameEdit(SourceKey source, String provider, EditRequest request) {
		EditOptions o = request.options();
		String seed = recordedSeed(o);
		String size = recordedSize(o);
		String negative = o.negativePrompt() == null ? "" : o.negativePrompt();
		for (Entry entry : entries()) {
			// One stopped while uploading sent nothing: editing again pays once.
			if (entry.phase == Phase.UPLOADING && !entry.writerIsRunning()) continue;
			if (entry.key().equals(source.key()) && provider.equals(entry.provider) && o.model().equals(entry.model) &&
				request.instruction().equals(entry.instruction) &&
				negative.equals(entry.negativePrompt == null ? "" : entry.negativePrompt) && seed.equals(entry.seed) &&
				size.equals(entry.size))
			{
				return Optional.of(entry);
			}
		}
		return Optional.empty();
	}

	/** An entry's seed as it is recorded, and compared with a later edit's. */
	private static String recordedSeed(EditOptions o) {
		return o.seed().map(String::valueOf).orElse("random");
	}

	/** An entry's size as it is recorded, and compared with a later edit's. */
	private static String recordedSize(EditOptions o) {
		return o.size().map(ImageSize::toString).orElse("as input");
	}

	/** The entries, malformed ones set aside without a word; see {@link #entries(Consumer)}. */
	public List<Entry> entries() {
		return entries(problem -> {});
	}

	/**
	 * The entries of the jobs in flight. An entry that cannot be read (damaged, edited by hand, of an
	 * unknown version) is renamed to end in {@value #SET_ASIDE}, so that it is never read again, and
	 * told once to {@code problems}: one bad file must not stop every run into the folder.
	 */
	public List<Entry> entries(Consumer<String> problems) {
		List<Entry> entries = new ArrayList<>();
		if (!Files.isDirectory(folder)) return entries;
		adoptWritesCutShort();
		List<Path> files = new ArrayList<>();
		try (Stream<Path> listed = Files.list(folder)) {
			listed.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().forEach(files::add);
		}
		catch (IOException e) {
			problems.accept("Cannot read the journal " + folder + ": " + e.getMessage());
			return entries;
		}
		for (Path f : files) {
			try {
				// A named pipe or a link here (a folder from elsewhere) would make the read wait for ever
				// or leave the folder; anything larger than an entry can be is no entry either.
				if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) throw new MalformedEntry("it is not a plain file");
				if (Files.size(f) > MAX_ENTRY_BYTES) throw new MalformedEntry("it is larger than any entry");
				JsonNode n;
				try {
					n = Json.MAPPER.readTree(f.toFile());
				}
				catch (IOException damaged) {
					throw new MalformedEntry("it is not valid JSON");
				}
				if (n == null) throw new MalformedEntry("it is empty");
				entries.add(new Entry(f, n));
			}
			catch (MalformedEntry e) {
				setAside(f, e.getMessage(), problems);
			}
			catch (IOException vanished) {
				// Removed by the run that wrote it since the folder was listed.
			}
		}
		return entries;
	}

	/** Far above any entry's size (a few kB, with the provenance and up to 100 result links). */
	private static final long MAX_ENTRY_BYTES = 1 << 20;

	/** A temporary file that no live write can still be filling after this long. */
	private static final java.time.Duration WRITE_CUT_SHORT_AFTER = java.time.Duration.ofMinutes(1);

	/**
	 * Takes up the writes a kill cut short between writing an entry's temporary file and renaming it
	 * over the entry ({@link #write}): a whole temporary file is the entry's newest state (a job id
	 * the provider gave, the files already saved), so it replaces the entry, and the next run fetches
	 * that job rather than sending the image again; a partial one is removed once no write can still
	 * be filling it. Files of a program still running are left to it.
	 */
	private void adoptWritesCutShort() {
		List<Path> temporary = new ArrayList<>();
		try (Stream<Path> listed = Files.list(folder)) {
			listed.filter(f -> {
				String name = f.getFileName().toString();
				return name.startsWith(".") && name.contains(".json.") && name.endsWith(".tmp") &&
					Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS);
			}).forEach(temporary::add);
		}
		catch (IOException unreadable) {
			return;
		}
		for (Path temp : temporary) {
			String name = temp.getFileName().toString();
			Path entryFile = folder.resolve(name.substring(1, name.indexOf(".json.") + ".json".length()));
			try {
				JsonNode n = null;
				try {
					n = Json.MAPPER.readTree(temp.toFile());
				}
				catch (IOException partial) {
					// Cut short while it was written: the entry itself holds the state before.
				}
				Entry written = null;
				if (n != null) {
					try {
						written = new Entry(entryFile, n);
					}
					catch (MalformedEntry partial) {
						written = null;
					}
				}
				if (written != null) {
					if (!written.writerIsRunning()) {
						Files.move(temp, entryFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
					}
				}
				else if (Files.getLastModifiedTime(temp).toInstant().isBefore(java.time.Instant.now()
					.minus(WRITE_CUT_SHORT_AFTER)))
				{
					Files.deleteIfExists(temp);
				}
			}
			catch (IOException leftAsItIs) {
				// Tried again by the next look at the journal.
			}
		}
	}

	/** Renames an entry that cannot be used, so that no later run reads it, and says so once. */
	void setAside(Path entry, String why, Consumer<String> problems) {
		// Entries are named after their request, so the same name may be set aside again: an earlier one,
		// which the user was told to look at, is kept, and this one takes the next free number.
		Path aside = entry.resolveSibling(entry.getFileName() + SET_ASIDE);
		for (int n = 2; Files.exists(aside, LinkOption.NOFOLLOW_LINKS) && n < 1000; n++) {
			aside = entry.resolveSibling(entry.getFileName() + SET_ASIDE + "." + n);
		}
		try {
			Files.move(entry, aside);
			problems.accept("The journal entry " + entry.getFileName() + " was set aside as " + aside.getFileName() +
				" because " + why + "; the run goes on without it. Look at it, and delete it when done.");
		}
		catch (IOException e) {
			problems.accept("The journal entry " + entry + " cannot be used because " + why + ", and cannot be renamed (" +
				e.getMessage() + "): delete it.");
		}
	}
}
