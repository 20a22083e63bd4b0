package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.scijava.Cancelable;
import org.scijava.module.Module;

import ij.io.FileSaver;
import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.fixtures.BatchTestData;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.staging.S3TestServer;

/**
 * A cancel that comes while a create is on its way, against a service slow to answer it: the create
 * is let finish, and the job it made is stopped with the id it returned, so nothing is charged
 * unseen and nothing is left for the next run to report.
 */
class CancelDuringCreateTest {

	private static final String KEY = "el-cancel-create-91d2";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();
	private final S3TestServer s3 = bed.s3();

	@TempDir
	Path work;

	private EditCommandRunner runner(EachLabsEmulator eachlabs) {
		Map<String, String> env = new HashMap<>(s3.env());
		env.put("EACHLABS_API_KEY", KEY);
		env.put("EACHLABS_BASE_URL", eachlabs.baseUrl());
		return new EditCommandRunner(env);
	}

	/** A slow create: the job exists at the emulator for 3 s before its id is answered. */
	private static EachLabsEmulator slowToAnswerCreates() {
		return new EachLabsEmulator(KEY).createReplyDelay(Duration.ofSeconds(3)).processingDelay(Duration.ofSeconds(60));
	}

	private static void awaitJobs(EachLabsEmulator eachlabs, int count) throws InterruptedException {
		long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
		while (eachlabs.jobs().size() < count && System.nanoTime() < until) {
			Thread.sleep(10);
		}
		assertTrue(eachlabs.jobs().size() >= count, "the creates were not sent");
	}

	@Test
	void aSingleEditCancelledWhileItsCreateIsOnTheWayStopsTheJobItMade() throws Exception {
		Path out = work.resolve("out");
		try (EachLabsEmulator eachlabs = slowToAnswerCreates(); EditCommandRunner runner = runner(eachlabs)) {
			Map<String, Object> inputs = EditCommandRunner.inputs(TestImages.pattern("cells", 512, 512), "eachlabs",
				"alibaba-qwen-image-2-0-image-edit", "remove the scale bar");
			inputs.put("outputFolder", out.toFile());
			Future<Module> running = runner.start(inputs);
			awaitJobs(eachlabs, 1);
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("eachlabs confirmed that the job was stopped"), run.failure());
			assertTrue(eachlabs.lastJob().cancelRequested(), "the job made by the create was not cancelled");
			assertEquals(AsyncJobEmulator.Phase.CANCELLED, eachlabs.lastJob().phase());
			assertEquals(1, eachlabs.jobs().size());
			assertEquals(0, BatchTestData.journalSize(out), "the cancelled job was left in the journal");
			assertEquals(0, s3.countObjects(s3.prefix()), "staged objects left behind");
		}
	}

	@Test
	void aBatchCancelledWhileItsCreatesAreOnTheWayStopsEveryJobTheyMade() throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < 4; i++) {
			new FileSaver(TestImages.pattern("c" + i, BatchTestData.SIDE, BatchTestData.SIDE))
				.saveAsTiff(in.resolve("c" + i + ".tif").toString());
		}
		Path out = work.resolve("out");
		try (EachLabsEmulator eachlabs = slowToAnswerCreates(); EditCommandRunner runner = runner(eachlabs)) {
			Map<String, Object> inputs = BatchTestData.batchInputsWithDefaultOptions();
			inputs.put("batchSource", EditImagesBatchCommand.FOLDER);
			inputs.put("inputFolder", in.toFile());
			inputs.put("outputFolder", out.toFile());
			inputs.put("provider", "eachlabs");
			inputs.put("model", "alibaba-qwen-image-2-0-image-edit");
			inputs.put("concurrency", 4);
			inputs.put("maxCost", 0.0);
			inputs.put("assembleStack", false);
			inputs.put("instruction", "remove the scale bar");
			Future<Module> running = runner.startCommand(EditImagesBatchCommand.class, inputs);
			awaitJobs(eachlabs, 4);
			assertEquals(0, BatchTestData.acceptedJobsInJournal(out), "an answer came before the cancel");
			runner.editService().cancelAll();
			Module batch = running.get(30, TimeUnit.SECONDS);
			assertEquals(1, ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode());
			assertTrue(((Cancelable) batch).getCancelReason().contains("Cancelled: 4 edits stopped, 0 not stopped, 0 not " +
				"started."),
				((Cancelable) batch).getCancelReason());
			assertEquals(4, eachlabs.jobs().size());
			for (AsyncJobEmulator.Job job : eachlabs.jobs()) {
				assertTrue(job.cancelRequested(), "a job made by a create on its way was not cancelled: " + BatchTestData.logLines(out));
				assertEquals(AsyncJobEmulator.Phase.CANCELLED, job.phase());
			}
			assertEquals(0, BatchTestData.journalSize(out), "cancelled jobs were left in the journal");
			assertEquals(0, s3.countObjects(s3.prefix()), "staged objects left behind");
			assertTrue(runner.log().stream().noneMatch(l -> l.contains("may have been created")), runner.log().toString());
		}
	}

	/**
	 * One rule for the single edit and the batch: a create cut off after the grace may have made a
	 * job, so the single edit keeps its journal entry too, for Recover Unfinished Edits to report it
	 * and delete what it staged.
	 */
	@Test
	void aSingleEditWhoseCreateIsCutOffKeepsItsJournalEntry() throws Exception {
		Path out = work.resolve("out");
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).hangNext(); EditCommandRunner runner = runner(eachlabs)) {
			Map<String, Object> inputs = EditCommandRunner.inputs(TestImages.pattern("cells", 512, 512), "eachlabs",
				"alibaba-qwen-image-2-0-image-edit", "remove the scale bar");
			inputs.put("outputFolder", out.toFile());
			Future<Module> running = runner.start(inputs);
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
			while (eachlabs.requestCount("/v1/prediction") + eachlabs.requestCount("/v1/prediction/") == 0 &&
				System.nanoTime() < until)
			{
				Thread.sleep(10);
			}
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failed());
			java.util.List<io.github.qwenedit.engine.BatchJournal.Entry> left =
				new io.github.qwenedit.engine.BatchJournal(out).entries();
			assertEquals(1, left.size(), "the entry of a create that may have made a job was dropped: " + run.failure());
			assertEquals(io.github.qwenedit.engine.BatchJournal.Phase.STAGED, left.get(0).phase);
			assertTrue(runner.log().stream().anyMatch(l -> l.contains("Recover Unfinished Edits")), runner.log().toString());
		}
	}
}
