package io.github.qwenedit.engine;

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
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.PixelDojoEmulator;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.images.BatchImages;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.RequestWindow;
import io.github.qwenedit.provider.pixeldojo.PixelDojoProvider;
import io.github.qwenedit.provider.registry.ProviderRegistry;
import io.github.qwenedit.staging.S3TestServer;
import io.github.qwenedit.staging.StagingChoice;

/**
 * The engine keeps to the provider's creates per minute, and a 429 that comes anyway only delays a
 * job, which is sent again with the inputs it staged.
 */
class BatchRunLimitsTest {

	private static final String KEY = "limits-key-51aa";

	@TempDir
	Path work;

	/** A folder of {@code count} small TIFFs to edit. */
	private Path inputs(int count) throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < count; i++) {
			new FileSaver(TestImages.pattern("p" + i, 64, 64)).saveAsTiff(in.resolve("p" + i + ".tif").toString());
		}
		return in;
	}

	private BatchRun.Outcome runBatch(EachLabsEmulator eachlabs, int images, RequestWindow limiter,
		List<String> lines) throws Exception
	{
		Path in = inputs(images);
		Configuration config = Configuration.fromEnvironment(Map.of("EACHLABS_API_KEY", KEY, "EACHLABS_BASE_URL",
			eachlabs.baseUrl(), Configuration.CONFIG_DIR, work.resolve("config").toString()));
		ProviderDescriptor eachlabsDescriptor = ProviderRegistry.get("eachlabs");
		EditSession session = EditSession.configured(eachlabsDescriptor, eachlabsDescriptor.create(config),
			StagingChoice.parse("provider_upload"), config, lines::add);
		Path out = work.resolve("out");
		return new BatchRun(eachlabsDescriptor, session, EditOptions.builder(EachLabsEmulator.MODEL).build(),
			"remove the scale bar", BatchImages.ofFiles(BatchImages.filesIn(in, "*.tif"), new BatchImages.Shared(out, null, 0,
				List.of())), out, config)
			.concurrency(10).limiter(limiter).cancellation(new Cancellation())
			.listener(BatchRun.Listener.of(lines::add, lines::add)).run();
	}

	@Test
	void keepsToTheCreatesPerWindowWithoutA429() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofMillis(50)).createLimit(5, Duration.ofSeconds(2));
			List<String> lines = new ArrayList<>();
			long start = System.nanoTime();
			BatchRun.Outcome outcome = runBatch(eachlabs, 12, new RequestWindow(5, Duration.ofSeconds(2)), lines);
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
			BatchRun.Outcome outcome = runBatch(eachlabs, 10, new RequestWindow(100, Duration.ofSeconds(1)), lines);
			assertTrue(eachlabs.refusedCreates() > 0, "the provider never refused: the test proves nothing");
			assertTrue(outcome.complete(), lines.toString());
			assertEquals(10, outcome.done);
			assertEquals(10, eachlabs.jobs().size(), "a refused create became a job");
		}
	}

	/**
	 * One create a second for six images sent at once: the last is refused more often than a single
	 * edit would send it, and the batch sends it again each time with the link it already staged:
	 * each image is uploaded once, however often its create is refused.
	 */
	@Test
	void aCreateRefusedManyTimesIsSentAgainWithTheInputsAlreadyStaged() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofMillis(50)).createLimit(1, Duration.ofSeconds(1));
			List<String> lines = new ArrayList<>();
			BatchRun.Outcome outcome = runBatch(eachlabs, 6, new RequestWindow(100, Duration.ofSeconds(1)), lines);
			assertTrue(eachlabs.refusedCreates() > io.github.qwenedit.http.RetryPolicy.DEFAULT.maxAttempts(),
				"refused only " + eachlabs.refusedCreates() + " times: a single edit's tries were enough, the test proves nothing");
			assertTrue(outcome.complete(), lines.toString());
			assertEquals(6, outcome.done);
			assertEquals(6, eachlabs.jobs().size(), "a refused create became a job");
			assertEquals(6, eachlabs.uploadCount(), "a refused create was sent again by uploading its image anew, " +
				"not with the link already staged");
		}
	}

	/**
	 * A refused create is waited out by the edit session, not inside the create's HTTP call: while it
	 * waits, the journal says the provider holds no job (a kill then leaves nothing reported as
	 * possibly charged), and a cancel ends the wait at once, not after the grace a create in flight has.
	 */
	@Test
	void whileARefusedCreateWaitsTheJournalSaysNothingWasSentAndACancelEndsTheWaitAtOnce() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY); S3TestServer s3 = S3TestServer.start()) {
			dashscope.failNextWith(429, "{\"code\":\"Throttling\",\"message\":\"slow down\"}", Map.of("Retry-After", "30"));
			Path in = inputs(1);
			Map<String, String> env = new java.util.HashMap<>(s3.env());
			env.put("DASHSCOPE_API_KEY", KEY);
			env.put("DASHSCOPE_BASE_URL", dashscope.baseUrl());
			env.put(Configuration.CONFIG_DIR, work.resolve("config").toString());
			Configuration config = Configuration.fromEnvironment(env);
			ProviderDescriptor descriptor = ProviderRegistry.get("dashscope");
			List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
			EditSession session = EditSession.configured(descriptor, descriptor.create(config), StagingChoice.parse("auto"),
				config, lines::add);
			Path out = work.resolve("out");
			Cancellation cancellation = new Cancellation();
			BatchRun run = new BatchRun(descriptor, session, EditOptions.builder(descriptor.defaultModel()).build(),
				"remove the scale bar", BatchImages.ofFiles(BatchImages.filesIn(in, "*.tif"), new BatchImages.Shared(out, null,
					0, List.of())), out, config).concurrency(1).cancellation(cancellation)
				.listener(BatchRun.Listener.of(lines::add, lines::add));
			java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
			try {
				java.util.concurrent.Future<BatchRun.Outcome> running = pool.submit(run::run);
				BatchJournal journal = new BatchJournal(out);
				boolean waitingAsRefused = false;
				for (long end = System.nanoTime() + 10_000_000_000L; System.nanoTime() < end && !waitingAsRefused;) {
					List<BatchJournal.Entry> entries = journal.entries();
					waitingAsRefused = dashscope.requestCount(DashScopeEmulator.GENERATION_PATH) == 1 && entries.size() == 1 &&
						entries.get(0).phase == BatchJournal.Phase.UPLOADING;
					if (!waitingAsRefused) Thread.sleep(20);
				}
				assertTrue(waitingAsRefused, "the journal did not say that nothing was sent while the refused create " +
					"waited: " + journal.entries().stream().map(e -> e.phase).collect(java.util.stream.Collectors.toList()) +
					", " + lines);
				long cancelled = System.nanoTime();
				cancellation.cancel();
				BatchRun.Outcome outcome = running.get(20, java.util.concurrent.TimeUnit.SECONDS);
				Duration took = Duration.ofNanos(System.nanoTime() - cancelled);
				assertTrue(took.compareTo(Duration.ofSeconds(4)) < 0, "the cancel took " + took.toMillis() + " ms");
				assertEquals(1, outcome.cancelled, lines.toString());
				assertEquals(0, outcome.notStopped, "a refused create was taken for a job that may run: " + lines);
				assertEquals(1, dashscope.requestCount(DashScopeEmulator.GENERATION_PATH), "sent again before its Retry-After");
				assertTrue(journal.entries().isEmpty(), "an entry was left for a job that never existed");
				assertEquals(0, s3.countObjects(s3.prefix()));
			}
			finally {
				pool.shutdownNow();
			}
		}
	}

	/**
	 * PixelDojo counts status requests against its 60 a minute: one job at a time (its polls every
	 * 2 s take half the budget), and every request waits its turn in the key's window, so a batch
	 * making many windows' worth of requests never meets a 429. The window is shortened here to 3
	 * requests per 2 s, on both sides: one job's create and first look alone come faster than that.
	 */
	@Test
	void aPixelDojoBatchKeepsToItsRequestBudgetPollsIncludedWithoutA429() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY); S3TestServer s3 = S3TestServer.start()) {
			pixeldojo.processingDelay(Duration.ofMillis(300)).rateLimit(3, Duration.ofSeconds(2));
			RequestWindow.share(PixelDojoProvider.requestWindowScope(pixeldojo.baseUrl(), KEY),
				new RequestWindow(3, Duration.ofSeconds(2)));
			Path in = inputs(8);
			Map<String, String> env = new java.util.HashMap<>(s3.env());
			env.put("PIXELDOJO_API_KEY", KEY);
			env.put("PIXELDOJO_BASE_URL", pixeldojo.baseUrl());
			env.put(Configuration.CONFIG_DIR, work.resolve("config").toString());
			Configuration config = Configuration.fromEnvironment(env);
			ProviderDescriptor descriptor = ProviderRegistry.get("pixeldojo");
			List<String> lines = new ArrayList<>();
			EditSession session = EditSession.configured(descriptor, descriptor.create(config), StagingChoice.parse("auto"), config,
				lines::add);
			Path out = work.resolve("out");
			BatchRun.Outcome outcome = new BatchRun(descriptor, session, EditOptions.builder(descriptor.defaultModel())
				.build(), "remove the scale bar", BatchImages.ofFiles(BatchImages.filesIn(in, "*.tif"), new BatchImages.Shared(
					out, null, 0, List.of())), out, config)
				.concurrency(10).cancellation(new Cancellation())
				.listener(BatchRun.Listener.of(lines::add, lines::add)).run();
			assertTrue(outcome.complete(), lines.toString());
			assertEquals(8, outcome.done);
			assertEquals(0, pixeldojo.rateLimitedCount(), "PixelDojo refused requests with 429: " + lines);
			assertEquals(1, pixeldojo.maxConcurrentObserved(), "more PixelDojo jobs at once than its budget follows");
			assertTrue(lines.contains("PixelDojo runs at most 1 edit at once per key: using 1."), lines.toString());
			long apiRequests = pixeldojo.requests().stream().filter(r -> r.path().startsWith("/api/")).count();
			assertTrue(apiRequests >= 16, "only " + apiRequests + " requests: the window was never tested");
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}
}
