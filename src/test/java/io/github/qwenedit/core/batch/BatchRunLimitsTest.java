package io.github.qwenedit.core.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ij.io.FileSaver;
import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.imagej.BatchImages;
import io.github.qwenedit.imagej.TestImages;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderRegistry;
import io.github.qwenedit.staging.StagingChoice;

/** The engine keeps to the provider's creates per minute, and a 429 that comes anyway only delays a job. */
class BatchRunLimitsTest {

	private static final String KEY = "limits-key-51aa";

	@TempDir
	Path work;

	private BatchRun.Outcome runBatch(EachLabsEmulator eachlabs, int images, CreateRateLimiter limiter,
		List<String> lines) throws Exception
	{
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < images; i++) {
			new FileSaver(TestImages.pattern("p" + i, 64, 64)).saveAsTiff(in.resolve("p" + i + ".tif").toString());
		}
		Configuration config = Configuration.fromEnvironment(Map.of("EACHLABS_API_KEY", KEY, "EACHLABS_BASE_URL",
			eachlabs.baseUrl(), Configuration.CONFIG_DIR, work.resolve("config").toString()));
		ProviderDescriptor eachlabsDescriptor = ProviderRegistry.get("eachlabs");
		BatchSession batch = BatchSession.open(eachlabsDescriptor, eachlabsDescriptor.create(config),
			StagingChoice.parse("provider_upload"), config, lines::add);
		Path out = work.resolve("out");
		return new BatchRun(eachlabsDescriptor, batch.session(), EditOptions.builder(EachLabsEmulator.MODEL).build(),
			"remove the scale bar", BatchImages.ofFiles(BatchImages.filesIn(in, "*.tif"), new BatchImages.Shared(out, null, 0,
				List.of())), out, config)
			.concurrency(10).limiter(limiter).cancellation(new Cancellation())
			.listener(new BatchRun.Listener() {
				@Override
				public void said(String line) {
					lines.add(line);
				}

				@Override
				public void warned(String line) {
					lines.add(line);
				}
			}).run();
	}

	@Test
	void keepsToTheCreatesPerWindowWithoutA429() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofMillis(50)).createLimit(5, Duration.ofSeconds(2));
			List<String> lines = new ArrayList<>();
			long start = System.nanoTime();
			BatchRun.Outcome outcome = runBatch(eachlabs, 12, new CreateRateLimiter(5, Duration.ofSeconds(2)), lines);
			long elapsedMs = (System.nanoTime() - start) / 1_000_000;
			assertTrue(outcome.complete(), lines.toString());
			assertEquals(12, outcome.done);
			assertEquals(12, eachlabs.jobs().size());
			assertEquals(0, eachlabs.refusedCreates(), "the provider had to refuse creates: " + lines);
			// 12 creates at 5 per 2 s: the third group cannot start before 4 s.
			assertTrue(elapsedMs >= 4000, "12 creates took only " + elapsedMs + " ms");
		}
	}

	@Test
	void a429OnCreateIsWaitedOutNotCountedAFailure() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofMillis(50)).createLimit(4, Duration.ofSeconds(1));
			List<String> lines = new ArrayList<>();
			// A pace the provider does not keep to, as when another program shares the key.
			BatchRun.Outcome outcome = runBatch(eachlabs, 10, new CreateRateLimiter(100, Duration.ofSeconds(1)), lines);
			assertTrue(eachlabs.refusedCreates() > 0, "the provider never refused: the test proves nothing");
			assertTrue(outcome.complete(), lines.toString());
			assertEquals(10, outcome.done);
			assertEquals(10, eachlabs.jobs().size(), "a refused create became a job");
		}
	}
}
