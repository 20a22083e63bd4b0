package io.github.qwenedit.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The benchmarks are not tests: their sources are in src/bench/java and join the tests' class path
 * only in the {@code benchmark} profile (docs/BENCHMARKS.md), so the normal test run neither
 * compiles nor runs them.
 */
class BenchmarksApartTest {

	@Test
	void theTestSourcesHoldNoBenchmark() throws IOException {
		try (Stream<Path> files = Files.walk(Path.of("src", "test", "java"))) {
			List<Path> benchmarks = files.filter(f -> f.getFileName().toString().matches(".*Benchmarks?\\.java")
				|| f.getParent().endsWith(Path.of("qwenedit", "bench")))
				.collect(Collectors.toList());
			assertEquals(List.of(), benchmarks);
		}
	}
}
