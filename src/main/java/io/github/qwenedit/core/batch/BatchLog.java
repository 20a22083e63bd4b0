package io.github.qwenedit.core.batch;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.http.Json;

/**
 * {@code qwen-edit-log.jsonl}: one JSON line per job of every run into an output folder. It is also
 * what a later run reads to skip the jobs already done.
 */
public final class BatchLog {

	public static final String FILE = "qwen-edit-log.jsonl";

	private final Path output;
	private final Path file;

	public BatchLog(Path output) {
		this.output = output;
		this.file = output.resolve(FILE);
	}

	public Path file() {
		return file;
	}

	private static final String PLANE_MARK = "#plane=";

	/** The key a job is known by in the log and the journal: its source, and its plane if it has one. */
	public static String key(String source, int plane) {
		return plane > 0 ? source + PLANE_MARK + plane : source;
	}

	/**
	 * Writes the source and plane of the job known by {@code key} into a log line, as a batch writes
	 * them, so that a job finished by recovery reads like any other.
	 */
	public static void putKey(com.fasterxml.jackson.databind.node.ObjectNode line, String key) {
		int mark = key.lastIndexOf(PLANE_MARK);
		if (mark > 0 && key.substring(mark + PLANE_MARK.length()).matches("[0-9]+")) {
			line.put("source", key.substring(0, mark));
			line.put("plane", Integer.parseInt(key.substring(mark + PLANE_MARK.length())));
		}
		else {
			line.put("source", key);
		}
	}

	public void append(JsonNode line) throws IOException {
		append(output, line);
	}

	/**
	 * Appends {@code line} to the log of {@code folder} in one write, so that a kill leaves whole
	 * lines and the Fiji command and a shell run into the same folder do not interleave; never
	 * through a symbolic link planted under the log's name ({@link PlantedLinks}).
	 */
	public static synchronized void append(Path folder, JsonNode line) throws IOException {
		byte[] text = (Json.MAPPER.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8);
		try (OutputStream out = Files.newOutputStream(folder.resolve(FILE), StandardOpenOption.CREATE,
			StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS))
		{
			out.write(text);
		}
	}

	/**
	 * The result files of each job done, by key, whose every file still exists: those are skipped
	 * on resume. A later line for the same key wins.
	 */
	public Map<String, List<Path>> done() {
		Map<String, List<Path>> done = new HashMap<>();
		if (!Files.isRegularFile(file)) return done;
		try (Stream<String> lines = Files.lines(file, StandardCharsets.UTF_8)) {
			lines.forEach(text -> {
				try {
					JsonNode line = Json.MAPPER.readTree(text);
					if (!"done".equals(Json.text(line, "status"))) return;
					List<Path> results = new ArrayList<>();
					for (JsonNode f : line.path("results")) {
						Path result = output.resolve(f.asText());
						if (!Files.isRegularFile(result)) return;
						results.add(result);
					}
					done.put(key(Json.text(line, "source"), line.path("plane").asInt(0)), results);
				}
				catch (IOException damagedLine) {
					// A line cut short by a crash: that job is simply done again.
				}
			});
		}
		catch (IOException e) {
			return done;
		}
		return done;
	}
}
