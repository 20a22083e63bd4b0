package io.github.qwenedit.cli;

import java.io.PrintStream;

import io.github.qwenedit.core.Configuration;

/** Runs the shell command inside this JVM, for benchmarks that measure it without process start-up. */
public final class QwenEditCliRunner {

	private QwenEditCliRunner() {}

	public static int run(Configuration config, PrintStream out, String... args) {
		return new QwenEditCli(config, out, out).run(args);
	}
}
