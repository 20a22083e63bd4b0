package io.github.qwenedit.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;

/** Runs the shell command inside this JVM: for tests, and for benchmarks that leave out process start-up. */
public final class QwenEditCliRunner {

	/** What one run returned and printed. */
	public record Outcome(int code, String out, String err) {}

	private QwenEditCliRunner() {}

	public static int run(Configuration config, PrintStream out, String... args) {
		return new QwenEditCli(config, out, out).run(args);
	}

	/**
	 * Runs the command with {@code env} as its whole environment and its settings store in
	 * {@code configDir}, so that nothing of the machine running the tests leaks in.
	 */
	public static Outcome run(Map<String, String> env, Path configDir, String... args) throws EditException {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		ByteArrayOutputStream err = new ByteArrayOutputStream();
		Map<String, String> withConfig = new HashMap<>(env);
		withConfig.put(Configuration.CONFIG_DIR, configDir.toString());
		int code = new QwenEditCli(Configuration.fromEnvironment(withConfig),
			new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
		return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
	}
}
