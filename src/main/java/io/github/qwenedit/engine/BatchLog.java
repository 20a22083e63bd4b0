package io.github.qwenedit.engine;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
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

	/** {@code [source, plane]} of a key made by {@link #key}; plane "0" for a whole image. */
	static String[] splitKey(String key) {
		int mark = key.lastIndexOf(PLANE_MARK);
		if (mark > 0 && key.substring(mark + PLANE_MARK.length()).matches("[0-9]{1,9}")) {
			return new String[] { key.substring(0, mark), key.substring(mark + PLANE_MARK.length()) };
		}
		return new String[] { key, "0" };
	}

	/**
	 * Writes the source and plane of a job into a log line, as a batch writes them, so that a job
	 * finished by recovery reads like any other.
	 */
	public static void putSource(com.fasterxml.jackson.databind.node.ObjectNode line, String source, int plane) {
		line.put("source", source);
		if (plane > 0) line.put("plane", plane);
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
	 * What decides whether an earlier result answers a request, as log lines name them: the same
	 * image edited with another instruction, model, number of outputs, seed, size or negative prompt
	 * is a new edit.
	 */
	public static final List<String> REQUEST_FIELDS = List.of("provider", "model", "instruction", "negativePrompt",
		"outputs", "seed", "size", "promptExtend", "watermark");

	/**
	 * The SHA-256 of the source file's bytes when it was read for the edit: a file replaced under the
	 * same name is a new edit. A hash rather than size and modification time, because a copy or a
	 * sync changes the time of a file whose content is the same (a re-edit paid for nothing), and a
	 * corrected image of the same dimensions often has the same size; reading the file once more
	 * costs less than an edit. Lines of earlier versions have none and are compared without it.
	 */
	public static final String SOURCE_FILE_SHA256 = "sourceFileSha256";

	/** The request's fields in the order of {@link #REQUEST_FIELDS}, as a log line holds them. */
	public static Map<String, String> requestFields(String provider, String model, String instruction,
		String negativePrompt, String outputs, String seed, String size, String promptExtend, String watermark)
	{
		Map<String, String> fields = new LinkedHashMap<>();
		String[] values = { provider, model, instruction, negativePrompt, outputs, seed, size, promptExtend, watermark };
		for (int i = 0; i < values.length; i++) {
			if (values[i] != null) fields.put(REQUEST_FIELDS.get(i), values[i]);
		}
		return fields;
	}

	/** A job done, as the latest log line for its key says. */
	public static final class Done {
		public final List<Path> results;
		private final JsonNode line;

		Done(List<Path> results, JsonNode line) {
			this.results = List.copyOf(results);
			this.line = line;
		}

		/**
		 * How the request of this result differs from {@code asked}, by its first field that differs, as
		 * the end of "was made ..." ("with another instruction"), or null when it answers the same
		 * request. Lines of earlier versions hold fewer fields: those they hold are compared, and the
		 * number of results stands for the number of outputs.
		 */
		public String differsFrom(Map<String, String> asked) {
			for (Map.Entry<String, String> field : asked.entrySet()) {
				JsonNode had = line.get(field.getKey());
				if (had == null || had.isNull()) {
					if (field.getKey().equals("outputs") && results.size() != Integer.parseInt(field.getValue())) {
						return describe("outputs");
					}
					continue;
				}
				if (!had.asText().equals(field.getValue())) return describe(field.getKey());
			}
			return null;
		}

		/** What the result was made with that differs, as "was made ..." ends; see {@link #differsFrom}. */
		private static String describe(String field) {
			switch (field) {
				case SOURCE_FILE_SHA256:
					return "from another version of the source file (its content changed since)";
				case "negativePrompt":
					return "with another negative prompt";
				case "outputs":
					return "with another number of outputs";
				case "promptExtend":
					return "with another prompt extension setting";
				case "watermark":
					return "with another watermark setting";
				default:
					return "with another " + field;
			}
		}

		/** The result files' names, for messages. */
		public String fileNames() {
			List<String> names = new ArrayList<>();
			results.forEach(r -> names.add(r.getFileName().toString()));
			return String.join(", ", names);
		}
	}

	/**
	 * The jobs done, by key, whose every result file still exists: those are skipped on resume when
	 * their request is the same. A later line for the same key wins.
	 */
	public Map<String, Done> done() {
		Map<String, Done> done = new HashMap<>();
		if (!Files.isRegularFile(file)) return done;
		try (Stream<String> lines = Files.lines(file, StandardCharsets.UTF_8)) {
			lines.forEach(text -> {
				try {
					JsonNode line = Json.MAPPER.readTree(text);
					if (line == null || !"done".equals(Json.text(line, "status"))) return;
					List<Path> results = new ArrayList<>();
					for (JsonNode f : line.path("results")) {
						Path result = output.resolve(f.asText());
						if (!Files.isRegularFile(result)) return;
						results.add(result);
					}
					done.put(key(Json.text(line, "source"), line.path("plane").asInt(0)), new Done(results, line));
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
