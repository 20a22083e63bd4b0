package io.github.qwenedit.core.batch;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.Hashing;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.provider.JobHandle;

/**
 * The jobs a batch has in flight, one small file each in {@code <output>/.qwen-edit-journal/}: written
 * as soon as the provider accepts a job and removed once its results are saved. After a crash or a
 * kill, the next run finds them, fetches the results the provider finished meanwhile and deletes the
 * staged objects, so nothing paid for is lost and nothing is paid twice. Holds no secret.
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
		/** Null when the program stopped before the provider's reply to the submit arrived. */
		public final JobHandle job;
		public final List<String> stagedKeys;

		Entry(Path file, JsonNode n) {
			this.file = file;
			this.source = Json.text(n, "source");
			this.provider = Json.text(n, "provider");
			this.model = Json.text(n, "model");
			this.instruction = Json.text(n, "instruction");
			String jobId = Json.text(n, "jobId");
			this.job = jobId == null ? null : new JobHandle(jobId, Json.text(n, "pollUrl"), Json.text(n, "cancelUrl"),
				Json.text(n, "resultUrl"));
			List<String> keys = new ArrayList<>();
			n.path("stagedKeys").forEach(k -> keys.add(k.asText()));
			this.stagedKeys = keys;
		}

		/** The source's file name, as result titles and provenance name it. */
		public String sourceTitle() {
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

	private Path fileOf(String source) {
		return folder.resolve(Hashing.sha256Hex(source.getBytes(StandardCharsets.UTF_8)).substring(0, 32) + ".json");
	}

	/** Records a job the provider accepted; written atomically, so a kill leaves a whole file or none. */
	public void record(String source, String provider, String model, String instruction, JobHandle job, List<String> keys)
		throws EditException
	{
		ObjectNode n = Json.object().put("source", source).put("provider", provider).put("model", model)
			.put("instruction", instruction).put("jobId", job.id());
		job.pollUrl().ifPresent(u -> n.put("pollUrl", u));
		job.cancelUrl().ifPresent(u -> n.put("cancelUrl", u));
		job.resultUrl().ifPresent(u -> n.put("resultUrl", u));
		keys.forEach(n.putArray("stagedKeys")::add);
		try {
			Files.createDirectories(folder);
			Path temp = Files.createTempFile(folder, ".entry", ".tmp");
			Files.write(temp, Json.bytes(n));
			Files.move(temp, fileOf(source), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
		}
		catch (IOException e) {
			throw new EditException(ErrorKind.INVALID_INPUT, "Cannot write the batch journal in " + folder + ": " +
				e.getMessage() + ". Check the output folder's permissions.");
		}
	}

	public void clear(String source) {
		try {
			Files.deleteIfExists(fileOf(source));
		}
		catch (IOException e) {
			// A stale entry is only looked at again, and found done, by the next run.
		}
	}

	public void clear(Entry entry) {
		clear(entry.source);
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
