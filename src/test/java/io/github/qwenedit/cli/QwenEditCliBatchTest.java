package io.github.qwenedit.cli;

import io.github.qwenedit.ChildJvm;

import static io.github.qwenedit.fixtures.BatchTestData.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import ij.IJ;
import ij.ImagePlus;
import ij.ImageStack;
import ij.io.FileSaver;
import ij.process.ByteProcessor;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.emulator.ReplicateEmulator;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.engine.BatchLog;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.staging.S3TestServer;

/**
 * The shell command at scale: 60 images and a 60-plane stack at eachlabs' 10 jobs at once, a stack
 * run killed halfway, Ctrl-C, a cost ceiling, and reference images shared by every edit.
 */
class QwenEditCliBatchTest {

	private static final String KEY = "sk-cli-batch-3f1c";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();
	private final S3TestServer s3 = bed.s3();

	@TempDir
	Path work;

	private Outcome runInProcess(Map<String, String> env, String... args) throws Exception {
		return QwenEditCliRunner.run(env, work.resolve("config"), args);
	}

	private Map<String, String> eachlabsEnv(EachLabsEmulator eachlabs) {
		Map<String, String> env = new HashMap<>(s3.env());
		env.put("EACHLABS_API_KEY", KEY);
		env.put("EACHLABS_BASE_URL", eachlabs.baseUrl());
		env.put(Configuration.CONFIG_DIR, work.resolve("config").toString());
		return env;
	}

	private Path folderOfImages(int count) throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < count; i++) {
			new FileSaver(TestImages.pattern("cell" + i, SIDE, SIDE)).saveAsTiff(in.resolve(String.format("cell%02d.tif", i))
				.toString());
		}
		return in;
	}

	@Test
	void sixtyImagesAtTenAtOnceAllSavedAndLoggedWithAnEmptyBucket() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofMillis(200));
			Path out = work.resolve("out");
			Outcome outcome = runInProcess(eachlabsEnv(eachlabs), "--provider", "eachlabs", "--instruction",
				"remove the scale bar", "--output", out.toString(), "--concurrency", "20", folderOfImages(60).toString());
			assertEquals(0, outcome.code(), outcome.out() + outcome.err());
			assertTrue(outcome.out().contains("60 done, 0 failed, 0 skipped"), outcome.out());
			assertEquals(60, eachlabs.jobs().size());
			assertTrue(eachlabs.maxConcurrentObserved() <= 10, "more than 10 in flight: " + eachlabs.maxConcurrentObserved());
			assertTrue(eachlabs.maxConcurrentObserved() >= 5, "the batch did not run jobs side by side");
			assertEquals(0, eachlabs.refusedCreates(), "the batch tripped eachlabs' limits");
			List<JsonNode> log = logLines(out);
			assertEquals(60, log.size());
			for (JsonNode line : log) {
				assertEquals("done", line.path("status").asText(), line.toString());
				ImagePlus result = IJ.openImage(out.resolve(line.path("results").get(0).asText()).toString());
				assertEquals(line.path("requestId").asText(), result.getProp(Provenance.REQUEST_ID));
				assertEquals("true", result.getProp(Provenance.AI_GENERATED));
			}
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void aSixtyPlaneStackIsEditedPlaneByPlaneAndAssembledInOrder() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofMillis(200));
			Path in = Files.createDirectories(work.resolve("in"));
			new FileSaver(stack("cells", 60)).saveAsTiffStack(in.resolve("cells.tif").toString());
			Path out = work.resolve("out");
			Map<String, String> env = eachlabsEnv(eachlabs);
			Outcome capped = runInProcess(env, "--provider", "eachlabs", "--instruction", "remove the scale bar",
				"--output", work.resolve("capped").toString(), "--max-cost", "1.00", in.resolve("cells.tif").toString());
			assertEquals(1, capped.code(), capped.out() + capped.err());
			assertTrue(capped.out().contains("60 edits with eachlabs"), capped.out());
			assertEquals(0, eachlabs.jobs().size(), "a paid call was made above the cost ceiling (60 × $0.035)");

			Outcome outcome = runInProcess(env, "--provider", "eachlabs", "--instruction", "remove the scale bar",
				"--output", out.toString(), "--concurrency", "10", "--assemble-stack", in.resolve("cells.tif").toString());
			assertEquals(0, outcome.code(), outcome.out() + outcome.err());
			assertTrue(outcome.out().contains("60 done, 0 failed, 0 skipped"), outcome.out());
			assertTrue(eachlabs.maxConcurrentObserved() <= 10);
			List<JsonNode> log = logLines(out);
			assertEquals(60, log.size());
			Set<Integer> planes = new HashSet<>();
			log.forEach(l -> planes.add(l.path("plane").asInt()));
			assertEquals(60, planes.size(), "each plane once in the log");
			assertTrue(outcome.out().contains("assembled "), outcome.out());
			ImagePlus assembled = IJ.openImage(out.resolve("AI-edit_stack_of_cells.tif").toString());
			assertAssembledInPlaneOrder(assembled, 60);
			assertTrue(assembled.getProp(Provenance.PREFIX + "AssembledFrom").startsWith("60 planes"));
			assertEquals(0, s3.countObjects(s3.prefix()));

			Outcome again = runInProcess(env, "--provider", "eachlabs", "--instruction", "remove the scale bar",
				"--output", out.toString(), "--concurrency", "10", "--assemble-stack", in.resolve("cells.tif").toString());
			assertEquals(0, again.code(), again.out() + again.err());
			assertTrue(again.out().contains("0 done, 0 failed, 60 skipped"), again.out());
			assertTrue((again.out() + again.err()).contains("already assembled in AI-edit_stack_of_cells.tif"),
				again.out() + again.err());
			assertFalse(Files.exists(out.resolve("AI-edit_stack_of_cells-2.tif")), "a resumed run added a copy of the stack");
		}
	}

	private Process startChild(Map<String, String> env, Path out, String... inputs) throws Exception {
		List<String> command = new java.util.ArrayList<>(List.of(ChildJvm.JAVA, ChildJvm.PREFERENCES, "-cp", System.getProperty("java.class.path"), QwenEditCli.class.getName(), "--provider", "eachlabs",
			"--instruction", "remove the scale bar", "--output", out.toString(), "--concurrency", "10"));
		command.addAll(List.of(inputs));
		ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
			.redirectOutput(work.resolve("child.txt").toFile());
		pb.environment().putAll(env);
		return pb.start();
	}

	private static void awaitCondition(java.util.function.BooleanSupplier condition, String what) throws Exception {
		long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
		while (!condition.getAsBoolean() && System.nanoTime() < until) {
			Thread.sleep(50);
		}
		assertTrue(condition.getAsBoolean(), what);
	}

	/**
	 * A stack run killed with jobs in flight: the next run fetches them, does the rest, and pays
	 * nothing twice. (It is killed once its ten jobs were accepted: a job cut off while its create
	 * is on the way has no id to fetch it by, and recovery reports that it may have been charged.)
	 */
	@Test
	void aStackRunKilledHalfwayIsFinishedWithoutPayingTwice() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofSeconds(3));
			Path in = Files.createDirectories(work.resolve("in"));
			new FileSaver(stack("cells", 60)).saveAsTiffStack(in.resolve("cells.tif").toString());
			Path out = work.resolve("out");
			Map<String, String> env = eachlabsEnv(eachlabs);
			Process batch = startChild(env, out, in.toString());
			awaitCondition(() -> {
				try {
					return acceptedJobsInJournal(out) >= 10;
				}
				catch (java.io.IOException e) {
					return false;
				}
			}, "the jobs in flight were not journalled");
			batch.destroyForcibly();
			assertTrue(batch.waitFor(30, TimeUnit.SECONDS));
			int paidBeforeKill = eachlabs.jobs().size();
			assertTrue(paidBeforeKill >= 10 && paidBeforeKill < 60, paidBeforeKill + " jobs before the kill");
			eachlabs.processingDelay(Duration.ofMillis(200));

			Outcome resumed = runInProcess(env, "--provider", "eachlabs", "--instruction", "remove the scale bar",
				"--output", out.toString(), "--concurrency", "10", "--assemble-stack", in.toString());
			assertEquals(0, resumed.code(), resumed.out() + resumed.err());
			assertEquals(60, eachlabs.jobs().size(), "a plane was created twice: " + resumed.out() + resumed.err());
			assertEquals(0, journalSize(out));
			assertEquals(0, s3.countObjects(s3.prefix()), "staged objects left behind");
			Set<String> done = new BatchLog(out).done().keySet();
			for (int plane = 1; plane <= 60; plane++) {
				assertTrue(done.contains(BatchLog.key(in.resolve("cells.tif").toAbsolutePath().toString(), plane)),
					"plane " + plane + " missing: " + resumed.out());
			}
			assertAssembledInPlaneOrder(IJ.openImage(out.resolve("AI-edit_stack_of_cells.tif").toString()), 60);
		}
	}

	/** Ctrl-C (SIGTERM): no new edit starts, those in flight are cancelled, the bucket is emptied, results stay. */
	@Test
	void ctrlCStopsTheBatchCleansTheBucketAndKeepsWhatWasDownloaded() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofMillis(1500));
			Path in = folderOfImages(30);
			Path out = work.resolve("out");
			Process batch = startChild(eachlabsEnv(eachlabs), out, in.toString());
			awaitCondition(() -> {
				try {
					return Files.isRegularFile(out.resolve(BatchLog.FILE)) && logLines(out).size() >= 10 &&
						acceptedJobsInJournal(out) > 0;
				}
				catch (Exception e) {
					return false;
				}
			}, "the first edits did not finish");
			batch.destroy();
			assertTrue(batch.waitFor(40, TimeUnit.SECONDS), "the batch did not stop");
			String printed = Files.readString(work.resolve("child.txt"));
			assertEquals(0, s3.countObjects(s3.prefix()), "staged objects left behind: " + printed);
			assertTrue(eachlabs.jobs().size() < 30, "new edits were started after Ctrl-C: " + printed);
			assertTrue(eachlabs.jobs().stream().anyMatch(j -> j.cancelRequested()), "no job was cancelled: " + printed);
			int kept = 0;
			for (JsonNode line : logLines(out)) {
				if (!"done".equals(line.path("status").asText())) continue;
				assertTrue(Files.isRegularFile(out.resolve(line.path("results").get(0).asText())), line.toString());
				kept++;
			}
			assertTrue(kept >= 10, "results downloaded before Ctrl-C were lost: " + printed);
			// Accepted jobs were cancelled and settled; only a create cut off on its way stays, for the next run to report.
			assertEquals(0, acceptedJobsInJournal(out), "cancelled jobs left in the journal");
		}
	}

	@Test
	void referenceImagesGoWithEveryEditAndAreCheckedBeforeAnythingIsSent() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Map<String, String> env = Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl());
			Path in = folderOfImages(3);
			Path reference = work.resolve("reference.png");
			new FileSaver(TestImages.pattern("reference", 200, 200)).saveAsPng(reference.toString());
			Outcome missing = runInProcess(env, "--provider", "dashscope", "--instruction", "put the cell from image 2 in",
				"--output", work.resolve("out").toString(), "--image2", work.resolve("nothing.png").toString(), in.toString());
			assertEquals(2, missing.code());
			assertTrue(missing.err().contains("nothing.png"), missing.err());
			assertEquals(0, dashscope.edits().size());

			Outcome outcome = runInProcess(env, "--provider", "dashscope", "--instruction", "put the cell from image 2 in",
				"--output", work.resolve("out").toString(), "--image2", reference.toString(), "--image3",
				reference.toString(), in.toString());
			assertEquals(0, outcome.code(), outcome.err());
			assertEquals(3, dashscope.edits().size());
			for (var edit : dashscope.edits()) {
				assertEquals(3, edit.inputs().size(), "the references were not sent with every edit");
			}
			assertFalse(outcome.out().contains(KEY));
		}
	}

	/**
	 * A prediction cancelled at Replicate (on its website, say) failed: the summary counts it as a
	 * failure with Replicate's words, not as edits this run stopped, which nobody asked for.
	 */
	@Test
	void aJobCancelledAtTheProviderIsAFailureNotThisRunsCancel() throws Exception {
		try (ReplicateEmulator replicate = new ReplicateEmulator(KEY)) {
			replicate.processingDelay(Duration.ofMillis(100)).jobsEndWith(AsyncJobEmulator.Phase.CANCELLED, null);
			Map<String, String> env = new HashMap<>(s3.env());
			env.put("REPLICATE_API_TOKEN", KEY);
			env.put("REPLICATE_BASE_URL", replicate.baseUrl());
			Path in = folderOfImages(1);
			Outcome outcome = runInProcess(env, "--provider", "replicate", "--instruction", "remove the scale bar",
				"--output", work.resolve("out").toString(), in.toString());
			assertEquals(1, outcome.code(), outcome.err());
			assertTrue(outcome.out().contains("0 done, 1 failed"), outcome.out());
			assertTrue(outcome.err().contains("failed ") && outcome.err().contains("Replicate reports that the job was " +
				"cancelled"), outcome.err());
			assertFalse((outcome.out() + outcome.err()).contains("edit stopped"), outcome.out() + outcome.err());
		}
	}

	/** The Ctrl-C hook waits only for a run in progress: a run that ended, even in error, exits at once. */
	@Test
	void theProgramEndsAtOnceWhenThereIsNothingToStop() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			Process usage = startChild(eachlabsEnv(eachlabs), work.resolve("out"), work.resolve("no-such-folder").toString());
			assertTrue(usage.waitFor(15, TimeUnit.SECONDS), "the program hung on its way out");
			assertEquals(2, usage.exitValue());
		}
	}

	/** A create cut off while its answer is on the way may have made a job: the next run says so, then edits the image. */
	@Test
	void aCreateCutOffOnItsWayIsReportedByTheNextRun() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofMillis(100)).hangNext();
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Map<String, String> env = new HashMap<>(eachlabsEnv(eachlabs));
			String[] args = { "--provider", "eachlabs", "--instruction", "remove the scale bar", "--output", out.toString(),
				"--concurrency", "10", in.toString() };
			Process cut = startChild(env, out, in.toString());
			awaitCondition(() -> eachlabs.requestCount("/v1/prediction/") + eachlabs.requestCount("/v1/prediction") > 0,
				"the create was not sent");
			cut.destroy();
			assertTrue(cut.waitFor(40, TimeUnit.SECONDS), "the run did not stop");
			String printed = Files.readString(work.resolve("child.txt"));
			assertEquals(1, journalSize(out), "the entry of a create that may have made a job was dropped: " + printed);
			assertEquals(0, s3.countObjects(s3.prefix()));

			Outcome next = runInProcess(env, args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertTrue(next.err().contains("may have been created (and charged)"), next.out() + "|" + next.err());
			assertTrue(next.out().contains("1 done, 0 failed, 0 skipped"), next.out());
			assertEquals(0, journalSize(out));
		}
	}
}
