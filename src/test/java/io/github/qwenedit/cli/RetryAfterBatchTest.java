package io.github.qwenedit.cli;

import io.github.qwenedit.ChildJvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import ij.io.FileSaver;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.fixtures.TestImages;

/**
 * A provider that answers every create with 429 and an odd Retry-After: the shell command's batch
 * keeps each edit within its one deadline, retries included, and neither sleeps past it nor sends
 * creates in a tight loop. It runs as a program of its own, so that a run that would sleep for days
 * is killed rather than left behind.
 */
class RetryAfterBatchTest {

	private static final String KEY = "sk-retry-after-8b1d";
	private static final int DEADLINE_SECONDS = 4;
	private static final String A_YEAR_AHEAD = "a year ahead";

	@TempDir
	Path work;

	@ParameterizedTest(name = "Retry-After: {0}")
	@ValueSource(strings = { "999999", "Infinity", A_YEAR_AHEAD, "-5" })
	void oddWaitsEndTheEditWithinItsDeadline(String retryAfter) throws Exception {
		String header = retryAfter.equals(A_YEAR_AHEAD)
			? DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusYears(1)) : retryAfter;
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			for (int i = 0; i < 100; i++) {
				dashscope.failNextWith(429, "{\"code\":\"Throttling\",\"message\":\"slow down\"}", Map.of("Retry-After", header));
			}
			Path in = Files.createDirectories(work.resolve("in"));
			new FileSaver(TestImages.pattern("cell", 400, 400)).saveAsTiff(in.resolve("cell.tif").toString());
			ProcessBuilder pb = new ProcessBuilder(ChildJvm.JAVA, ChildJvm.PREFERENCES, "-cp",
				System.getProperty("java.class.path"), QwenEditCli.class.getName(), "--provider", "dashscope",
				"--instruction", "remove the scale bar", "--output", work.resolve("out").toString(), in.toString())
				.redirectErrorStream(true).redirectOutput(work.resolve("printed.txt").toFile());
			pb.environment().clear();
			pb.environment().putAll(Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl(),
				"QWEN_EDIT_DEADLINE_SECONDS", String.valueOf(DEADLINE_SECONDS), Configuration.CONFIG_DIR,
				work.resolve("config").toString(), "PATH", System.getenv("PATH")));
			long start = System.nanoTime();
			Process run = pb.start();
			boolean ended = run.waitFor(40, TimeUnit.SECONDS);
			if (!ended) run.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
			long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
			String printed = Files.readString(work.resolve("printed.txt"));
			long creates = dashscope.requestCount(DashScopeEmulator.GENERATION_PATH);
			assertTrue(ended, "still waiting after 40 s with a " + DEADLINE_SECONDS + " s deadline, " + creates +
				" creates sent: " + printed);
			assertEquals(1, run.exitValue(), printed);
			assertTrue(seconds < DEADLINE_SECONDS + 15, "took " + seconds + " s: " + printed);
			assertFalse(printed.contains("Exception"), printed);
			if (retryAfter.equals("-5")) {
				// Held to at least a second between tries: about one create a second of the deadline.
				assertTrue(creates <= DEADLINE_SECONDS + 2, creates + " creates in " + seconds + " s: " + printed);
			}
			else {
				assertEquals(1, creates, printed);
				assertTrue(printed.contains("Rate limited: DashScope refused the job (HTTP 429) and asked to wait an hour " +
					"or more, more than is left of this edit's deadline ("), printed);
			}
			List<String> lines = Files.readAllLines(work.resolve("out").resolve(QwenEditCli.LOG_FILE));
			assertEquals(1, lines.size());
			assertTrue(lines.get(0).contains("\"status\":\"failed\""), lines.get(0));
		}
	}
}
