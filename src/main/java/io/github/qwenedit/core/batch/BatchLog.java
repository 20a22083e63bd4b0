package io.github.qwenedit.core.batch;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.http.Json;

/**
 * The machine-readable record of a batch folder: one JSON line per job in {@value #FILE}, which
 * later runs read to skip what is done and people read to see what was done to which file.
 */
public final class BatchLog {

	public static final String FILE = "qwen-edit-log.jsonl";

	private BatchLog() {}

	/**
	 * Appends {@code line} to the log of {@code folder} in one write, so that a kill leaves whole
	 * lines and the Fiji command and a shell run into the same folder do not interleave.
	 */
	public static synchronized void append(Path folder, JsonNode line) throws IOException {
		byte[] text = (Json.MAPPER.writeValueAsString(line) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
		try (OutputStream out = Files.newOutputStream(folder.resolve(FILE), StandardOpenOption.CREATE,
			StandardOpenOption.APPEND))
		{
			out.write(text);
		}
	}
}
