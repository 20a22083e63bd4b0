package io.github.qwenedit.core.batch;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.EditSession;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.Hashing;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.provider.JobHandle;

/**
 * The jobs in flight whose results go to an output folder, one small file each in
 * {@code <output>/.qwen-edit-journal/}: written before the submit (staged keys, destination,
 * provider, model, instruction, source), completed with the job id once the provider accepts the
 * job, and removed once its results are saved. After a crash or a kill, {@link JournalRecovery}
 * finds them, fetches the results the provider finished meanwhile and deletes the staged objects,
 * so nothing paid for is lost and nothing is paid twice. Holds no secret: no key, no signed link.
 */
public final class BatchJournal {

	public static final String FOLDER = ".qwen-edit-journal";

	/** One job in flight. */
	public static final class Entry {
		public final Path file;
		public final String source;
		public final String provider;
		public final String model;
		public final String instruction;
		/** The folder the results were to be saved in when the job was sent. */
		public final String destination;
		/** When the job was about to be sent; null in entries of earlier versions. */
		public final String sentAt;
		/** The options that go into the provenance; null where the entry has none. */
		public final String negativePrompt;
		public final String seed;
		public final String size;
		private final String sourceTitle;
		/** Null when the program stopped before the provider's reply to the submit arrived. */
		public final JobHandle job;
		public final List<String> stagedKeys;
		private final long writerPid;
		private final String writerStarted;

		Entry(Path file, JsonNode n) {
			this.file = file;
			this.writerPid = n.path("pid").asLong(-1);
			this.writerStarted = Json.text(n, "processStarted");
			this.source = Json.text(n, "source");
			this.provider = Json.text(n, "provider");
			this.model = Json.text(n, "model");
			this.instruction = Json.text(n, "instruction");
			this.destination = Json.text(n, "destination");
			this.sentAt = Json.text(n, "sentAt");
			this.negativePrompt = Json.text(n, "negativePrompt");
			this.seed = Json.text(n, "seed");
			this.size = Json.text(n, "size");
			this.sourceTitle = Json.text(n, "sourceTitle");
			String jobId = Json.text(n, "jobId");
			this.job = jobId == null ? null : new JobHandle(jobId, Json.text(n, "pollUrl"), Json.text(n, "cancelUrl"),
				Json.text(n, "resultUrl"));
			List<String> keys = new ArrayList<>();
			n.path("stagedKeys").forEach(k -> keys.add(k.asText()));
			this.stagedKeys = keys;
		}

		/**
		 * Whether the program that wrote the entry is still running (this one included): its job is
		 * in flight there, and that program saves the result and deletes the staged inputs itself.
		 */
		public boolean writerIsRunning() {
			if (writerPid < 0) return false;
			Optional<ProcessHandle> writer = ProcessHandle.of(writerPid);
			if (!writer.isPresent() || !writer.get().isAlive()) return false;
			// The same number may have been given to a later process.
			Optional<String> started = startOf(writer.get());
			return writerStarted == null || !started.isPresent() || started.get().equals(writerStarted);
		}

		/** The source's file name, as result titles and provenance name it. */
		public String sourceTitle() {
			if (sourceTitle != null) return sourceTitle;
			try {
				Path name = java.nio.file.Paths.get(source).getFileName();
				return name == null ? source : name.toString();
			}
			catch (java.nio.file.InvalidPathException notAPath) {
				return source;
			}
		}
	}

	private final Path folder;

	public BatchJournal(Path output) {
		this.folder = output.resolve(FOLDER);
	}

	/**
	 * Records a job about to be submitted, before the provider is asked: if the program stops while
	 * the submit is on its way, recovery still deletes the staged objects and says that the job may
	 * exist. Written atomically, so a kill leaves a whole file or none.
	 */
	private void begin(Path file, String source, String sourceTitle, String provider, EditRequest request,
		List<String> keys) throws EditException
	{
		EditOptions o = request.options();
		ObjectNode n = Json.object().put("source", source).put("sourceTitle", sourceTitle).put("provider", provider)
			.put("model", o.model()).put("instruction", request.instruction())
			.put("destination", folder.getParent().toAbsolutePath().toString())
			.put("sentAt", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString())
			.put("negativePrompt", o.negativePrompt()).put("seed", o.seed().map(String::valueOf).orElse("random"))
			.put("size", o.size().map(ImageSize::toString).orElse("as input"));
		keys.forEach(n.putArray("stagedKeys")::add);
		write(file, n);
	}

	/**
	 * The entry {@link #begin} wrote, completed with the job the provider accepted (or a new one when
	 * it is missing).
	 */
	private static ObjectNode withJob(ObjectNode begun, String source, String provider, String model, String instruction,
		JobHandle job, List<String> keys)
	{
		ObjectNode n = begun == null ? Json.object() : begun;
		n.put("source", source).put("provider", provider).put("model", model).put("instruction", instruction)
			.put("jobId", job.id());
		job.pollUrl().ifPresent(u -> n.put("pollUrl", u));
		job.cancelUrl().ifPresent(u -> n.put("cancelUrl", u));
		job.resultUrl().ifPresent(u -> n.put("resultUrl", u));
		n.remove("stagedKeys");
		keys.forEach(n.putArray("stagedKeys")::add);
		return n;
	}

	/**
	 * The journal entry of one edit of {@code source}, written through the edit as
	 * {@link EditSession#run(EditRequest, io.github.qwenedit.core.ProgressListener, io.github.qwenedit.core.Cancellation,
	 * EditSession.SubmissionListener)} reports it: give it to the session, and {@link Pending#clear()}
	 * it once the results are saved. A batch has one entry per source; {@code oneOfMany} gives each
	 * edit its own entry, for single edits that may send the same image twice at once.
	 */
	public Pending pending(String source, String sourceTitle, String provider, EditRequest request, boolean oneOfMany) {
		Path file = oneOfMany ? folder.resolve(nameOf(source + "\n" + java.util.UUID.randomUUID()) + ".json")
			: fileOf(source);
		return new Pending(file, source, sourceTitle, provider, request);
	}

	/** One edit's entry; see {@link BatchJournal#pending}. */
	public final class Pending implements EditSession.SubmissionListener {
		private final Path file;
		private final String source;
		private final String sourceTitle;
		private final String provider;
		private final EditRequest request;

		Pending(Path file, String source, String sourceTitle, String provider, EditRequest request) {
			this.file = file;
			this.source = source;
			this.sourceTitle = sourceTitle;
			this.provider = provider;
			this.request = request;
		}

		@Override
		public void aboutToSubmit(List<String> stagedKeys) throws EditException {
			begin(file, source, sourceTitle, provider, request, stagedKeys);
		}

		@Override
		public void submitted(JobHandle job, List<String> stagedKeys) throws EditException {
			write(file, withJob(read(file), source, provider, request.options().model(), request.instruction(), job,
				stagedKeys));
		}

		/** Removes the entry: the results are saved, or the job ended without any. */
		public void clear() {
			delete(file);
		}
	}

	private Path fileOf(String source) {
		return folder.resolve(nameOf(source) + ".json");
	}

	private static String nameOf(String text) {
		return Hashing.sha256Hex(text.getBytes(StandardCharsets.UTF_8)).substring(0, 32);
	}

	private ObjectNode read(Path file) {
		try {
			JsonNode n = Json.MAPPER.readTree(file.toFile());
			return n instanceof ObjectNode ? (ObjectNode) n : null;
		}
		catch (IOException absentOrDamaged) {
			return null;
		}
	}

	private static Optional<String> startOf(ProcessHandle process) {
		return process.info().startInstant().map(i -> i.truncatedTo(ChronoUnit.SECONDS).toString());
	}

	private void write(Path file, ObjectNode n) throws EditException {
		ProcessHandle self = ProcessHandle.current();
		n.put("pid", self.pid());
		startOf(self).ifPresent(started -> n.put("processStarted", started));
		try {
			for (int attempt = 1;; attempt++) {
				try {
					Files.createDirectories(folder);
					Path temp = Files.createTempFile(folder, ".entry", ".tmp");
					Files.write(temp, Json.bytes(n));
					Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
					return;
				}
				catch (java.nio.file.NoSuchFileException folderJustRemoved) {
					// Another edit cleared the last entry and removed the folder between our two steps.
					if (attempt == 3) throw folderJustRemoved;
				}
			}
		}
		catch (IOException e) {
			throw new EditException(ErrorKind.INVALID_INPUT, "Cannot write the journal of jobs in flight in " + folder +
				": " + e.getMessage() + ". Check the output folder's permissions.");
		}
	}

	public void clear(String source) {
		delete(fileOf(source));
	}

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
			// Other jobs are still in flight.
		}
	}

	public List<Entry> entries() {
		List<Entry> entries = new ArrayList<>();
		if (!Files.isDirectory(folder)) return entries;
		try (Stream<Path> files = Files.list(folder)) {
			files.filter(f -> f.getFileName().toString().endsWith(".json")).forEach(f -> {
				try {
					entries.add(new Entry(f, Json.MAPPER.readTree(f.toFile())));
				}
				catch (IOException damaged) {
					// Written atomically: a damaged file is not ours to read.
				}
			});
		}
		catch (IOException e) {
			return entries;
		}
		return entries;
	}
}
