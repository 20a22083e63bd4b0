package io.github.qwenedit.cli;

import io.github.qwenedit.ChildJvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.fixtures.BatchTestData;
import io.github.qwenedit.fixtures.TcpRelay;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.provider.JobPoller;
import io.github.qwenedit.staging.BucketConfig;
import io.github.qwenedit.staging.S3TestServer;

/**
 * Paid results are neither lost nor paid twice when the shell command is killed, runs out of disk or
 * memory, or is cancelled: real child JVMs killed with SIGKILL, against the emulators.
 */
class NothingLostTest {

	private static final String KEY = "sk-nothing-lost-5e2a";
	private static final String INSTRUCTION = "remove the scale bar";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	@TempDir
	Path work;

	private Path folderOfImages(int count) throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < count; i++) {
			new FileSaver(TestImages.pattern("cell" + i, 400, 400)).saveAsTiff(in.resolve("cell" + i + ".tif").toString());
		}
		return in;
	}

	private Outcome runInProcess(Map<String, String> env, String... args) throws Exception {
		return QwenEditCliRunner.run(env, work.resolve("config"), args);
	}

	private static Map<String, String> dashscopeEnv(DashScopeEmulator dashscope) {
		Map<String, String> env = new HashMap<>();
		env.put("DASHSCOPE_API_KEY", KEY);
		env.put("DASHSCOPE_BASE_URL", dashscope.baseUrl());
		return env;
	}

	private Process startChild(Map<String, String> env, String shellPrefix, String... args) throws Exception {
		return startChild(env, shellPrefix, List.of(), args);
	}

	/**
	 * The shell command in a process of its own; {@code shellPrefix} runs before it (a ulimit, say),
	 * {@code jvmOptions} go to its JVM.
	 */
	private Process startChild(Map<String, String> env, String shellPrefix, List<String> jvmOptions, String... args)
		throws Exception
	{
		List<String> java = new ArrayList<>(List.of(ChildJvm.JAVA, ChildJvm.PREFERENCES));
		java.addAll(jvmOptions);
		java.addAll(List.of("-cp", System.getProperty("java.class.path"), QwenEditCli.class.getName()));
		java.addAll(List.of(args));
		List<String> command = new ArrayList<>();
		if (shellPrefix == null) {
			command.addAll(java);
		}
		else {
			StringBuilder line = new StringBuilder(shellPrefix).append("; exec");
			for (String part : java) {
				line.append(" '").append(part.replace("'", "'\\''")).append('\'');
			}
			command.addAll(List.of("bash", "-c", line.toString()));
		}
		ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
			.redirectOutput(work.resolve("child.txt").toFile());
		pb.environment().putAll(env);
		pb.environment().put(io.github.qwenedit.core.Configuration.CONFIG_DIR, work.resolve("config").toString());
		return pb.start();
	}

	/**
	 * The shell command in a child JVM, given a minute: one that waits longer fails the test as
	 * {@code hung} (and is killed), rather than holding the suite. What it printed is the outcome's out.
	 */
	private Outcome runChildWithinAMinute(Map<String, String> env, String hung, String... args) throws Exception {
		Process run = startChild(env, null, args);
		boolean ended = run.waitFor(60, TimeUnit.SECONDS);
		if (!ended) run.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
		String printed = Files.readString(work.resolve("child.txt"));
		assertTrue(ended, hung + ": " + printed);
		return new Outcome(run.exitValue(), printed, "");
	}

	private static void await(BooleanSupplier condition, String what) throws InterruptedException {
		long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
		while (!condition.getAsBoolean()) {
			assertTrue(System.nanoTime() < until, "timed out waiting until " + what);
			Thread.sleep(50);
		}
	}

	private static List<BatchJournal.Entry> journal(Path out) {
		return new BatchJournal(out).entries();
	}

	/**
	 * Point 1: a DashScope job is final in the create's answer. Its links are journalled before the
	 * download, so a kill during the download loses nothing: the next run fetches them and sends
	 * nothing again, and the result carries the same provenance as one fetched at once.
	 */
	@Test
	void aKillDuringTheDownloadOfAResultFinalInTheCreateLosesNothingAndPaysOnce() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			dashscope.outputDelay(Duration.ofSeconds(60));
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				"--seed", "5", in.toString() };
			Process batch = startChild(dashscopeEnv(dashscope), null, args);
			await(() -> dashscope.requests().stream().anyMatch(r -> r.path().startsWith("/outputs/")),
				"the download began");
			batch.destroyForcibly();
			assertTrue(batch.waitFor(30, TimeUnit.SECONDS));
			assertEquals(1, dashscope.edits().size());
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), "the paid job was not journalled: " + Files.readString(work.resolve("child.txt")));
			assertEquals(BatchJournal.Phase.ACCEPTED, left.get(0).phase);
			assertEquals(1, left.get(0).outputUrls.size(), "the result links were not journalled before the download");

			dashscope.outputDelay(Duration.ZERO);
			Outcome next = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertEquals(1, dashscope.edits().size(), "the image was sent again: " + next.out() + next.err());
			assertTrue(next.out().contains("recovered "), next.out());
			assertTrue(next.out().contains("0 done, 0 failed, 0 skipped, 1 recovered"), next.out());
			assertTrue(journal(out).isEmpty());
			ImagePlus result = IJ.openImage(out.resolve("AI-edit_1_of_cell0.tif").toString());
			assertNotNull(result, "the recovered result was not saved");
			assertEquals("5", result.getProp(Provenance.SEED));
			assertEquals(INSTRUCTION, result.getProp(Provenance.PROMPT));
			// What only the edit knew before its create: recovered results carry it too.
			for (String key : List.of(Provenance.OUTPUTS, Provenance.PROMPT_EXTEND, Provenance.WATERMARK,
				Provenance.STAGING, Provenance.sourceSize(1), Provenance.sourceSha256(1))) {
				assertNotNull(result.getProp(key), key + " is missing from the recovered result");
			}
			assertEquals(dashscope.edits().get(0).inputs().get(0).width() + "*" +
				dashscope.edits().get(0).inputs().get(0).height(), result.getProp(Provenance.sourceSize(1)));

			// The recovered result is logged with the content it was made from: a corrected source is edited again.
			ImagePlus corrected = TestImages.pattern("cell0", 400, 400);
			corrected.getProcessor().invert();
			new FileSaver(corrected).saveAsTiff(in.resolve("cell0.tif").toString());
			Outcome changed = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, changed.code(), changed.out() + changed.err());
			assertEquals(2, dashscope.edits().size(), "a changed source was taken for done: " + changed.out());
		}
	}

	/**
	 * Point 3: the disk refuses the result (here the file-size limit of the process, which the
	 * kernel enforces as it would a full disk: the write fails part-way). No partial file is left
	 * under the result's name, the message says what happened, the links stay in the journal, and the
	 * next run saves the result without paying again.
	 */
	@Test
	void aResultTheDiskRefusesIsNotLeftHalfWrittenAndIsSavedByTheNextRunWithoutPayingAgain() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(1);
			Path out = Files.createDirectories(work.resolve("out"));
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			// 100 KiB per file: the journal and the log fit, a 400×400 RGB TIFF (470 KiB) does not.
			Process full = startChild(dashscopeEnv(dashscope), "ulimit -f 100", args);
			assertTrue(full.waitFor(60, TimeUnit.SECONDS), "the run did not end");
			String printed = Files.readString(work.resolve("child.txt"));
			assertEquals(1, full.exitValue(), printed);
			assertTrue(printed.contains("Could not write the result AI-edit_1_of_cell0.tif"), printed);
			assertFalse(printed.contains("Invalid input") || printed.contains("still open in Fiji"), printed);
			try (var files = Files.list(out)) {
				assertFalse(files.anyMatch(f -> f.getFileName().toString().contains("AI-edit")),
					"a partial result was left in the folder");
			}
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), "the paid result's entry was dropped: " + printed);
			assertFalse(left.get(0).outputUrls.isEmpty());

			Outcome next = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertEquals(1, dashscope.edits().size(), "the image was paid for twice");
			assertNotNull(IJ.openImage(out.resolve("AI-edit_1_of_cell0.tif").toString()));
			assertTrue(journal(out).isEmpty());
		}
	}

	/**
	 * Point 5: a result too large for the memory the program has: the reason is told, the links
	 * stay in the journal, and the next run with enough memory saves it without sending it again.
	 */
	@Test
	void aResultTooLargeForTheMemoryIsKeptAndSavedLaterWithoutPayingAgain() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			dashscope.largeOutputs(5000, 4000);
			Path in = folderOfImages(1);
			Path out = Files.createDirectories(work.resolve("out"));
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Process small = startChild(dashscopeEnv(dashscope), null, List.of("-Xmx64m"), args);
			assertTrue(small.waitFor(60, TimeUnit.SECONDS), "the run did not end");
			String printed = Files.readString(work.resolve("child.txt"));
			assertEquals(1, small.exitValue(), printed);
			assertTrue(printed.contains("not enough memory for a 5000") && printed.contains("4000 result") &&
				printed.contains("Edit > Options > Memory"), printed);
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), "the paid result's entry was dropped: " + printed);
			List<String> log = Files.readAllLines(out.resolve(QwenEditCli.LOG_FILE));
			assertTrue(log.get(0).contains("\"status\":\"failed\""), log.get(0));

			Outcome next = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertEquals(1, dashscope.edits().size(), "the image was paid for twice");
			assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell0.tif")));
			assertTrue(journal(out).isEmpty());
		}
	}

	/** Point 9: a file named twice, or a folder and a file in it, is edited and paid for once. */
	@Test
	void theSameSourceNamedTwiceIsEditedOnce() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(2);
			Path out = work.resolve("out");
			Outcome outcome = runInProcess(dashscopeEnv(dashscope), "--provider", "dashscope", "--instruction", INSTRUCTION,
				"--output", out.toString(), in.toString(), in.resolve("cell0.tif").toString(),
				in.resolve(".").resolve("cell1.tif").toString(), in.resolve("cell1.tif").toString());
			assertEquals(0, outcome.code(), outcome.out() + outcome.err());
			assertEquals(2, dashscope.edits().size(), "a source was paid for twice: " + outcome.out());
			assertTrue(outcome.out().contains("2 done, 0 failed, 0 skipped"), outcome.out());
			assertEquals(2, Files.readAllLines(out.resolve(QwenEditCli.LOG_FILE)).size());
		}
	}

	/**
	 * Point 10: an earlier result skips a source only when it answered the same request; another
	 * instruction, model or number of outputs is a new edit, and the run says why each was or was not
	 * skipped.
	 */
	@Test
	void anEarlierResultSkipsASourceOnlyForTheSameRequest() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Map<String, String> env = dashscopeEnv(dashscope);
			Outcome first = runInProcess(env, "--provider", "dashscope", "--instruction", INSTRUCTION, "--output",
				out.toString(), "--seed", "3", in.toString());
			assertEquals(0, first.code(), first.out() + first.err());
			Outcome same = runInProcess(env, "--provider", "dashscope", "--instruction", INSTRUCTION, "--output",
				out.toString(), "--seed", "3", in.toString());
			assertEquals(0, same.code(), same.out() + same.err());
			assertTrue(same.out().contains("skipped " + in.resolve("cell0.tif").toAbsolutePath() +
				" (done in an earlier run with the same request: AI-edit_1_of_cell0.tif)"), same.out());
			assertEquals(1, dashscope.edits().size());

			Outcome other = runInProcess(env, "--provider", "dashscope", "--instruction", "make it blue", "--output",
				out.toString(), "--seed", "3", in.toString());
			assertEquals(0, other.code(), other.out() + other.err());
			assertEquals(2, dashscope.edits().size(), "another instruction was taken for done: " + other.out());
			assertTrue(other.out().contains("was made with another instruction"), other.out());
			assertTrue(other.out().contains("1 done, 0 failed, 0 skipped"), other.out());

			Outcome more = runInProcess(env, "--provider", "dashscope", "--instruction", "make it blue", "--output",
				out.toString(), "--seed", "3", "--outputs", "2", in.toString());
			assertEquals(0, more.code(), more.out() + more.err());
			assertEquals(3, dashscope.edits().size(), "another number of outputs was taken for done: " + more.out());
			assertTrue(more.out().contains("was made with another number of outputs"), more.out());
			ImagePlus latest = IJ.openImage(out.resolve("AI-edit_2_of_cell0.tif").toString());
			assertEquals("make it blue", latest.getProp(Provenance.PROMPT));
		}
	}

	/**
	 * "Done with the same request" includes the source's content: a file replaced under the same
	 * name (a corrected input) is edited again, while a file whose content is the same (only its
	 * modification time changed, as a copy or a sync does) is still skipped.
	 */
	@Test
	void aSourceWhoseContentChangedIsEditedAgainAndOneOnlyTouchedIsNot() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(1);
			Path source = in.resolve("cell0.tif");
			Path out = work.resolve("out");
			Map<String, String> env = dashscopeEnv(dashscope);
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(), "--seed",
				"3", in.toString() };
			Outcome first = runInProcess(env, args);
			assertEquals(0, first.code(), first.out() + first.err());

			Files.setLastModifiedTime(source, java.nio.file.attribute.FileTime.fromMillis(
				Files.getLastModifiedTime(source).toMillis() + 3_600_000));
			Outcome touched = runInProcess(env, args);
			assertEquals(0, touched.code(), touched.out() + touched.err());
			assertTrue(touched.out().contains("0 done, 0 failed, 1 skipped"), touched.out());
			assertEquals(1, dashscope.edits().size(), "a source with the same content was paid for again");

			ImagePlus corrected = TestImages.pattern("cell0", 400, 400);
			corrected.getProcessor().invert();
			new FileSaver(corrected).saveAsTiff(source.toString());
			Outcome changed = runInProcess(env, args);
			assertEquals(0, changed.code(), changed.out() + changed.err());
			assertEquals(2, dashscope.edits().size(), "a changed source was taken for done: " + changed.out());
			assertTrue(changed.out().contains("was made from another version of the source file"), changed.out());
			assertTrue(changed.out().contains("1 done, 0 failed, 0 skipped"), changed.out());

			Outcome again = runInProcess(env, args);
			assertTrue(again.out().contains("0 done, 0 failed, 1 skipped"), again.out());
			assertEquals(2, dashscope.edits().size());
		}
	}

	/**
	 * An output folder that holds the sources (the input folder itself, or files named one by one as
	 * a shell's {@code *.tif} does) would have each run edit, and pay for, the results of the one
	 * before: refused before anything is sent, and nothing written among the sources.
	 */
	@Test
	void anOutputFolderThatHoldsTheSourcesIsRefusedBeforeAnythingIsSent() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(2);
			for (String[] inputs : List.of(new String[] { in.toString() }, new String[] { in.resolve("cell0.tif").toString(),
				in.resolve("cell1.tif").toString() }))
			{
				List<String> args = new ArrayList<>(List.of("--provider", "dashscope", "--instruction", INSTRUCTION,
					"--output", in.resolve(".").toString()));
				args.addAll(List.of(inputs));
				Outcome refused = runInProcess(dashscopeEnv(dashscope), args.toArray(new String[0]));
				assertEquals(2, refused.code(), refused.out() + refused.err());
				assertTrue(refused.err().contains("Choose another output folder"), refused.err());
				assertFalse(refused.err().contains("Invalid input"), refused.err());
				assertEquals(0, dashscope.edits().size());
				try (var files = Files.list(in)) {
					assertEquals(2, files.count(), "something was written among the sources");
				}
			}
		}
	}

	/**
	 * Point 7: PixelDojo cannot stop a job, so a cancelled batch keeps the job in the journal with
	 * its id: the next run fetches what was paid for instead of sending the image again.
	 */
	@Test
	void aJobTheProviderCouldNotStopIsKeptAndFetchedByTheNextRun() throws Exception {
		try (io.github.qwenedit.emulator.PixelDojoEmulator pixeldojo = new io.github.qwenedit.emulator.PixelDojoEmulator(
			"pd_nothing_lost_41c7").processingDelay(Duration.ofSeconds(4)).credits(10))
		{
			Map<String, String> env = bed.env("PIXELDOJO_API_KEY", "pd_nothing_lost_41c7", "PIXELDOJO_BASE_URL", pixeldojo);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "pixeldojo", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Process batch = startChild(env, null, args);
			await(() -> journal(out).stream().anyMatch(e -> e.job != null), "the job was accepted");
			// Once it has its input: the stopped run deletes the staged copy.
			await(() -> pixeldojo.lastJob().phase() == io.github.qwenedit.emulator.AsyncJobEmulator.Phase.PROCESSING,
				"the job was running");
			batch.destroy();
			assertTrue(batch.waitFor(40, TimeUnit.SECONDS), "the batch did not stop");
			String printed = Files.readString(work.resolve("child.txt"));
			// Not "stopped": the user must know it is paid and kept.
			assertTrue(printed.contains("Cancelled: 0 edits stopped, 1 not stopped, 0 not started."), printed);
			assertTrue(printed.contains("may charge for it: it stays in this folder's journal") &&
				printed.contains("Recover Unfinished Edits"), printed);
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), "the job PixelDojo could not stop was dropped: " + printed);
			assertEquals(pixeldojo.lastJob().id, left.get(0).job.id());

			assertTrue(pixeldojo.awaitLastJobIn(io.github.qwenedit.emulator.AsyncJobEmulator.Phase.SUCCEEDED));
			Outcome next = runInProcess(env, args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertEquals(1, pixeldojo.jobs().size(), "the image was sent again: " + next.out());
			assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell0.tif")), next.out());
			assertTrue(journal(out).isEmpty());
			assertEquals(0, bed.s3().countObjects(bed.s3().prefix()), "staged objects left behind");
		}
	}

	/**
	 * A cancel says exactly what it did: the running job eachlabs confirmed stopped is counted
	 * stopped, the two the cancel came before are counted not started, and nothing is said to be
	 * kept in the journal, because nothing is.
	 */
	@Test
	void aCancelCountsTheEditsItStoppedApartFromThoseItCameBefore() throws Exception {
		try (io.github.qwenedit.emulator.EachLabsEmulator eachlabs = new io.github.qwenedit.emulator.EachLabsEmulator(
			"each-cancel-counts-6d1f").processingDelay(Duration.ofSeconds(60)))
		{
			Map<String, String> env = bed.env("EACHLABS_API_KEY", "each-cancel-counts-6d1f", "EACHLABS_BASE_URL", eachlabs);
			Path in = folderOfImages(3);
			Path out = work.resolve("out");
			Process batch = startChild(env, null, "--provider", "eachlabs", "--instruction", INSTRUCTION, "--output",
				out.toString(), "--concurrency", "1", in.toString());
			await(() -> !eachlabs.jobs().isEmpty() && eachlabs.lastJob().phase() ==
				io.github.qwenedit.emulator.AsyncJobEmulator.Phase.PROCESSING, "the first job was running");
			batch.destroy();
			assertTrue(batch.waitFor(40, TimeUnit.SECONDS), "the batch did not stop");
			String printed = Files.readString(work.resolve("child.txt"));
			assertEquals(1, eachlabs.jobs().size(), printed);
			assertTrue(eachlabs.lastJob().cancelRequested(), printed);
			assertTrue(printed.contains("Cancelled: 1 edit stopped, 0 not stopped, 2 not started. Run the batch again " +
				"into the same folder to do the 3 edits stopped or not started."), printed);
			assertFalse(printed.contains("journal"), printed);
			assertTrue(journal(out).isEmpty());
		}
	}

	/**
	 * A journal that can no longer be written once the provider took the job (the disk filled up in
	 * between) must not make the run abandon a running, paid job: it goes on, saves the result and
	 * says the job was not journalled. The failure is real: the journal folder is replaced by a file
	 * while the provider's answer to the create is on its way.
	 */
	@Test
	void aJobTheJournalCouldNotRecordIsStillFetchedAndSaved() throws Exception {
		try (io.github.qwenedit.emulator.PixelDojoEmulator pixeldojo = new io.github.qwenedit.emulator.PixelDojoEmulator(
			"pd_unjournalled_5e20").createReplyDelay(Duration.ofSeconds(3)).processingDelay(Duration.ofSeconds(1))
				.credits(10))
		{
			Map<String, String> env = bed.env("PIXELDOJO_API_KEY", "pd_unjournalled_5e20", "PIXELDOJO_BASE_URL", pixeldojo);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Process batch = startChild(env, null, "--provider", "pixeldojo", "--instruction", INSTRUCTION, "--output",
				out.toString(), in.toString());
			await(() -> pixeldojo.jobs().size() == 1, "the job was made");
			Path journalFolder = out.resolve(BatchJournal.FOLDER);
			try (java.util.stream.Stream<Path> entries = Files.list(journalFolder)) {
				for (Path entry : entries.collect(java.util.stream.Collectors.toList())) Files.delete(entry);
			}
			Files.delete(journalFolder);
			Files.writeString(journalFolder, "not a folder");
			assertTrue(batch.waitFor(60, TimeUnit.SECONDS), "the batch did not end");
			String printed = Files.readString(work.resolve("child.txt"));
			assertEquals(0, batch.exitValue(), printed);
			assertEquals(1, pixeldojo.jobs().size(), "the image was sent again: " + printed);
			assertTrue(IJ.openImage(out.resolve("AI-edit_1_of_cell0.tif").toString()) != null, printed);
			assertTrue(printed.contains("went on with job " + pixeldojo.lastJob().id), printed);
			assertEquals(0, bed.s3().countObjects(bed.s3().prefix()), "staged objects left behind");
		}
	}

	/**
	 * A job of one provider left in the journal by a killed run is neither overwritten nor sent again
	 * by a batch for another provider into the same folder: that batch reports the source as pending,
	 * names Recover Unfinished Edits, exits as for a pending job, and the first provider's next run
	 * fetches the paid result.
	 */
	@Test
	void aBatchForAnotherProviderNeitherDropsNorSendsAgainAJobStillInTheJournal() throws Exception {
		try (io.github.qwenedit.emulator.PixelDojoEmulator pixeldojo = new io.github.qwenedit.emulator.PixelDojoEmulator(
			"pd_other_provider_3b8e").processingDelay(Duration.ofSeconds(4)).credits(10);
			DashScopeEmulator dashscope = new DashScopeEmulator(KEY))
		{
			Map<String, String> env = bed.env("PIXELDOJO_API_KEY", "pd_other_provider_3b8e", "PIXELDOJO_BASE_URL", pixeldojo);
			env.putAll(dashscopeEnv(dashscope));
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] pixeldojoArgs = { "--provider", "pixeldojo", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Process batch = startChild(env, null, pixeldojoArgs);
			await(() -> journal(out).stream().anyMatch(e -> e.job != null), "the job was accepted");
			batch.destroyForcibly();
			assertTrue(batch.waitFor(30, TimeUnit.SECONDS), "the batch did not die");
			String jobId = journal(out).get(0).job.id();

			Outcome other = runInProcess(env, "--provider", "dashscope", "--instruction", INSTRUCTION, "--output",
				out.toString(), in.toString());
			assertEquals(1, other.code(), other.out() + other.err());
			assertEquals(0, dashscope.edits().size(), "the image was sent again to another provider: " + other.out());
			assertTrue(other.err().contains("pending " + in.resolve("cell0.tif").toAbsolutePath()), other.err());
			assertTrue(other.err().contains("Recover Unfinished Edits"), other.err());
			assertTrue(other.out().contains("0 done, 0 failed, 0 skipped, 1 pending"), other.out());
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), "the other provider's job left the journal: " + other.out() + other.err());
			assertEquals("pixeldojo", left.get(0).provider);
			assertEquals(jobId, left.get(0).job.id());

			assertTrue(pixeldojo.awaitLastJobIn(io.github.qwenedit.emulator.AsyncJobEmulator.Phase.SUCCEEDED));
			Outcome next = runInProcess(env, pixeldojoArgs);
			assertEquals(0, next.code(), next.out() + next.err());
			assertEquals(1, pixeldojo.jobs().size(), "the image was paid for twice: " + next.out());
			assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell0.tif")), next.out());
			assertTrue(journal(out).isEmpty());
			assertEquals(0, bed.s3().countObjects(bed.s3().prefix()), "staged objects left behind");
		}
	}

	/**
	 * A run killed while writing a result leaves the empty file that held the result's name and a
	 * hidden, half-written temporary file ({@link io.github.qwenedit.engine.WholeFiles}). The job
	 * stays in the journal; the next run takes both away and saves the fetched result under the name.
	 * The kill is real (after the job was accepted); the two files are the ones such a write leaves,
	 * planted, since no test can time a kill into the milliseconds of a write.
	 */
	@Test
	void aResultHalfWrittenByAKilledRunIsReplacedByTheWholeOneWithNothingLeftOver() throws Exception {
		try (io.github.qwenedit.emulator.PixelDojoEmulator pixeldojo = new io.github.qwenedit.emulator.PixelDojoEmulator(
			"pd_half_written_77a1").processingDelay(Duration.ofSeconds(2)).credits(10))
		{
			Map<String, String> env = bed.env("PIXELDOJO_API_KEY", "pd_half_written_77a1", "PIXELDOJO_BASE_URL", pixeldojo);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "pixeldojo", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Process batch = startChild(env, null, args);
			await(() -> journal(out).stream().anyMatch(e -> e.job != null), "the job was accepted");
			batch.destroyForcibly();
			assertTrue(batch.waitFor(40, TimeUnit.SECONDS), "the batch did not die");
			Path held = Files.createFile(out.resolve("AI-edit_1_of_cell0.tif"));
			Path part = Files.write(out.resolve(".AI-edit_1_of_cell0.tif.4821907316.part"), new byte[] { 'I', 'I', 42 });
			Path usersEmptyFile = Files.createFile(out.resolve("notes.tif"));

			assertTrue(pixeldojo.awaitLastJobIn(io.github.qwenedit.emulator.AsyncJobEmulator.Phase.SUCCEEDED));
			Outcome next = runInProcess(env, args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertEquals(1, pixeldojo.jobs().size(), "the image was sent again: " + next.out());
			assertFalse(Files.exists(part), "the half-written temporary file was left");
			ImagePlus saved = IJ.openImage(held.toString());
			assertTrue(saved != null && saved.getWidth() > 0, "the result is not whole under its name: " + next.out());
			assertFalse(Files.exists(out.resolve("AI-edit_1_of_cell0-2.tif")), "the result took another name");
			assertTrue(next.err().contains(part.getFileName().toString()), "the removal was not said: " + next.err());
			assertTrue(Files.exists(usersEmptyFile), "an empty file with no write of ours beside it was removed");
			assertTrue(journal(out).isEmpty());
		}
	}

	/**
	 * Killed the moment a result's name appears in the folder, a run left a 0-byte file under it for
	 * good: the name was held before the hidden temporary file existed, and an empty file with no
	 * temporary file beside it is left alone as possibly the user's. The temporary file now comes
	 * first, so whatever instant the kill lands on, the next run takes the leftovers away and saves the
	 * result under its name.
	 */
	@Test
	void aRunKilledAsAResultsNameAppearsLeavesNoEmptyFileUnderIt() throws Exception {
		try (io.github.qwenedit.emulator.PixelDojoEmulator pixeldojo = new io.github.qwenedit.emulator.PixelDojoEmulator(
			"pd_killed_at_the_name_41c9").processingDelay(Duration.ofMillis(500)).credits(10))
		{
			Map<String, String> env = bed.env("PIXELDOJO_API_KEY", "pd_killed_at_the_name_41c9", "PIXELDOJO_BASE_URL",
				pixeldojo);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "pixeldojo", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Process batch = startChild(env, null, args);
			Path name = out.resolve("AI-edit_1_of_cell0.tif");
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
			while (!Files.exists(name, java.nio.file.LinkOption.NOFOLLOW_LINKS) && batch.isAlive()) {
				assertTrue(System.nanoTime() < until, "no result's name appeared");
				Thread.onSpinWait();
			}
			batch.destroyForcibly();
			assertTrue(batch.waitFor(40, TimeUnit.SECONDS), "the batch did not die");

			Outcome next = runInProcess(env, args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertEquals(1, pixeldojo.jobs().size(), "the image was sent again: " + next.out());
			ImagePlus saved = IJ.openImage(name.toString());
			assertTrue(saved != null && saved.getWidth() > 0, "the result is not whole under its name: " + next.out() +
				next.err());
			// A kill that lands after the rename, before the journal recorded the file, leaves a whole result
			// and a second copy from its links (docs/RELIABILITY.md); what must never be is an empty file.
			try (var left = Files.list(out)) {
				for (Path f : (Iterable<Path>) left::iterator) {
					String file = f.getFileName().toString();
					assertFalse(file.endsWith(".part"), "a temporary file was left: " + file);
					if (file.startsWith("AI-edit")) assertTrue(Files.size(f) > 0, "an empty file under a result's name: " + file);
				}
			}
		}
	}

	/**
	 * Point 18: entries that cannot be read (not JSON, a job id that is an object, a version from
	 * the future) are set aside once, said once, and the run goes on.
	 */
	@Test
	void aMalformedJournalEntryIsSetAsideOnceAndTheRunGoesOn() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Path journalFolder = Files.createDirectories(out.resolve(BatchJournal.FOLDER));
			Files.writeString(journalFolder.resolve("a.json"), "{\"source\": \"x.tif\", \"provider\": ");
			Files.writeString(journalFolder.resolve("b.json"), "{\"source\": \"" + in.resolve("other.tif") +
				"\", \"provider\": \"dashscope\", \"jobId\": {\"id\": 5}, \"stagedKeys\": [\"../../etc/passwd\"]}");
			Files.writeString(journalFolder.resolve("c.json"), "{\"version\": 99, \"source\": \"y.tif\", " +
				"\"provider\": \"dashscope\"}");
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Outcome first = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, first.code(), first.out() + first.err());
			assertTrue(first.out().contains("1 done, 0 failed, 0 skipped"), first.out() + first.err());
			for (String name : List.of("a.json", "b.json", "c.json")) {
				assertTrue(first.err().contains("The journal entry " + name + " was set aside as " + name +
					BatchJournal.SET_ASIDE), first.err());
				assertTrue(Files.isRegularFile(journalFolder.resolve(name + BatchJournal.SET_ASIDE)), name);
			}
			assertFalse(first.err().contains("Exception"), first.err());

			Outcome second = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, second.code(), second.out() + second.err());
			assertFalse(second.err().contains("set aside"), "reported twice: " + second.err());
			assertEquals(1, dashscope.edits().size());
		}
	}

	/**
	 * A named pipe in the output folder (a folder from elsewhere, or a prank) made every run into it
	 * wait for ever: in the journal, where each entry is read, and under the log's name, which is
	 * appended to. A pipe among the entries is set aside and the run goes on; one under the log's name
	 * is refused before anything is sent. Both runs are child processes, so that a hang is a failure
	 * here and not a test that never ends.
	 */
	@Test
	void aNamedPipeInTheOutputFolderNeitherHangsARunNorIsWrittenTo() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Path journalFolder = Files.createDirectories(out.resolve(BatchJournal.FOLDER));
			Path pipe = journalFolder.resolve("evil.json");
			assertEquals(0, new ProcessBuilder("mkfifo", pipe.toString()).start().waitFor());
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Outcome run = runChildWithinAMinute(dashscopeEnv(dashscope), "the run waited on the pipe in the journal", args);
			String printed = run.out();
			assertEquals(0, run.code(), printed);
			assertTrue(printed.contains("The journal entry evil.json was set aside as evil.json" + BatchJournal.SET_ASIDE),
				printed);
			assertEquals(1, dashscope.edits().size(), printed);

			Path otherOut = work.resolve("other");
			Files.createDirectories(otherOut);
			Path logPipe = otherOut.resolve(io.github.qwenedit.engine.BatchLog.FILE);
			assertEquals(0, new ProcessBuilder("mkfifo", logPipe.toString()).start().waitFor());
			String[] intoOther = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", otherOut.toString(),
				in.toString() };
			Outcome refused = runChildWithinAMinute(dashscopeEnv(dashscope), "the run waited on the pipe under the log's name",
				intoOther);
			String said = refused.out();
			assertTrue(refused.code() != 0, said);
			assertTrue(said.contains(io.github.qwenedit.engine.BatchLog.FILE + " in " + otherOut + " is not a plain file"),
				said);
			assertEquals(1, dashscope.edits().size(), "an image was sent into a folder whose log cannot be written: " + said);
		}
	}

	/**
	 * A journalled job whose links this program refuses to follow (plain http to an address not
	 * configured: a journal from elsewhere, or one edited by hand) can never be fetched: it is set
	 * aside once with a sentence instead of being reported "pending" on every run, and the run goes on.
	 */
	@Test
	void aJournalledJobWhoseLinksAreRefusedIsSetAsideInsteadOfPendingForever() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Path journalFolder = Files.createDirectories(out.resolve(BatchJournal.FOLDER));
			Files.writeString(journalFolder.resolve("planted.json"), "{\"version\": 2, \"phase\": \"ACCEPTED\", " +
				"\"source\": " + io.github.qwenedit.http.Json.MAPPER.writeValueAsString(in.resolve("cell0.tif").toString()) +
				", \"provider\": \"dashscope\", \"jobId\": \"req-planted\", " +
				"\"outputUrls\": [\"http://results.invalid/out.png\"]}");
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Outcome first = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, first.code(), first.out() + first.err());
			assertTrue(first.err().contains("The journal entry planted.json was set aside as planted.json" +
				BatchJournal.SET_ASIDE), first.err());
			assertTrue(first.out().contains("1 done, 0 failed, 0 skipped"), first.out());
			assertTrue(Files.isRegularFile(journalFolder.resolve("planted.json" + BatchJournal.SET_ASIDE)));

			Outcome second = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, second.code(), second.out() + second.err());
			assertFalse(second.err().contains("set aside"), "reported twice: " + second.err());
			assertEquals(1, dashscope.edits().size());
		}
	}

	/**
	 * A result is known to the log before its journal entry goes: when the log cannot take the
	 * line, the entry stays, and the next run saves the result from its links instead of paying again.
	 */
	@Test
	void aResultTheLogDoesNotKnowStaysInTheJournal() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Path log = Files.createDirectories(out.resolve(QwenEditCli.LOG_FILE));
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Outcome first = runInProcess(dashscopeEnv(dashscope), args);
			assertTrue(first.err().contains("Cannot write " + log), first.out() + first.err());
			assertEquals(1, journal(out).size(), "a saved result that the log does not know left the journal");

			Files.delete(log);
			Outcome next = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertEquals(1, dashscope.edits().size(), "the image was paid for twice: " + next.out());
			assertTrue(journal(out).isEmpty());
			assertTrue(Files.readString(log).contains("\"recovered\":true"));
			// The result was saved whole before the log failed: it is logged, not saved a second time.
			try (var files = Files.list(out)) {
				assertEquals(List.of("AI-edit_1_of_cell0.tif"), files.map(f -> f.getFileName().toString())
					.filter(name -> name.startsWith("AI-edit")).collect(java.util.stream.Collectors.toList()), next.out());
			}
			assertTrue(next.out().contains("recovered " + in.resolve("cell0.tif").toAbsolutePath() +
				" -> AI-edit_1_of_cell0.tif"), next.out());
		}
	}

	/**
	 * The same for a job followed by polling (eachlabs): once it has succeeded its links are
	 * journalled too, so a kill during the download is recovered from them.
	 */
	@Test
	void aKillDuringTheDownloadOfAPolledResultLosesNothingAndPaysOnce() throws Exception {
		try (io.github.qwenedit.emulator.EachLabsEmulator eachlabs = new io.github.qwenedit.emulator.EachLabsEmulator(
			"each-nothing-lost-2b7d").processingDelay(Duration.ofMillis(300)))
		{
			eachlabs.outputDelay(Duration.ofSeconds(60));
			Map<String, String> env = bed.env("EACHLABS_API_KEY", "each-nothing-lost-2b7d", "EACHLABS_BASE_URL", eachlabs);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "eachlabs", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Process batch = startChild(env, null, args);
			await(() -> eachlabs.requests().stream().anyMatch(r -> r.path().startsWith("/outputs/")), "the download began");
			batch.destroyForcibly();
			assertTrue(batch.waitFor(30, TimeUnit.SECONDS));
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), Files.readString(work.resolve("child.txt")));
			assertEquals(1, left.get(0).outputUrls.size(), "the links of the finished job were not journalled");

			eachlabs.outputDelay(Duration.ZERO);
			Outcome next = runInProcess(env, args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertEquals(1, eachlabs.jobs().size(), "the image was sent again");
			assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell0.tif")));
			assertTrue(journal(out).isEmpty());
			assertEquals(0, bed.s3().countObjects(bed.s3().prefix()), "staged objects left behind");
		}
	}

	/**
	 * Without a bucket, Replicate inputs go to its Files API. A kill after the upload, while the
	 * create is under way, leaves the file's id in the journal; the next run's recovery deletes the
	 * file through the API, as it deletes bucket objects, instead of leaving it for 24 hours.
	 */
	@Test
	void aReplicateFileStagedBeforeAKillIsDeletedByTheNextRun() throws Exception {
		String token = "r8_nothing_lost_4a9e";
		try (io.github.qwenedit.emulator.ReplicateEmulator replicate = new io.github.qwenedit.emulator.ReplicateEmulator(
			token).processingDelay(Duration.ofMillis(300)))
		{
			replicate.createReplyDelay(Duration.ofSeconds(60));
			Map<String, String> env = io.github.qwenedit.emulator.ProviderTestBed.envWithoutBucket("REPLICATE_API_TOKEN",
				token, "REPLICATE_BASE_URL", replicate);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = replicateBatch(in, out);
			Process batch = startChild(env, null, args);
			await(() -> !replicate.jobs().isEmpty(), "the create was sent");
			batch.destroyForcibly();
			assertTrue(batch.waitFor(30, TimeUnit.SECONDS));
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), Files.readString(work.resolve("child.txt")));
			assertEquals(1, left.get(0).stagedKeys.size(), "the uploaded file was not journalled");
			assertTrue(left.get(0).stagedKeys.get(0).startsWith("replicate-file:"), left.get(0).stagedKeys.toString());
			assertEquals(1, replicate.filesLeft(), "the file was not there to be left behind");
			String staged = left.get(0).stagedKeys.get(0).substring("replicate-file:".length());

			replicate.createReplyDelay(Duration.ZERO);
			Outcome next = runInProcess(env, args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertTrue(replicate.requests().stream().anyMatch(r -> r.method().equals("DELETE") &&
				r.path().equals("/v1/files/" + staged)), "the recovery did not delete the file the killed run uploaded");
			assertEquals(0, replicate.filesLeft(), "uploaded files left behind: " + next.out() + next.err());
			assertTrue(journal(out).isEmpty());
		}
	}

	/**
	 * Issue 15 F5: a Replicate create that waited for the result ({@code Prefer: wait}) kept the
	 * prediction's id off the disk for as long as it waited, so a kill in those seconds left a paid
	 * prediction the next run could not find, and that run paid again. The create now returns the id
	 * at once: a kill while the prediction runs leaves it journalled by its id, and the next run
	 * fetches it without a second create.
	 */
	@Test
	void aKillWhileAReplicatePredictionRunsLeavesItsIdAndTheNextRunPaysNothingMore() throws Exception {
		String token = "r8_nothing_lost_f5c1";
		try (io.github.qwenedit.emulator.ReplicateEmulator replicate = new io.github.qwenedit.emulator.ReplicateEmulator(
			token).processingDelay(Duration.ofSeconds(4)))
		{
			Map<String, String> env = bed.env("REPLICATE_API_TOKEN", token, "REPLICATE_BASE_URL", replicate);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = replicateBatch(in, out);
			Process batch = startChild(env, null, args);
			await(() -> !replicate.jobs().isEmpty(), "the create was sent");
			// Inside the seconds a waiting create used to hold the answer, well before the prediction ends.
			Thread.sleep(1500);
			assertFalse(replicate.lastJob().isFinal(), "the prediction ended before the kill");
			batch.destroyForcibly();
			assertTrue(batch.waitFor(30, TimeUnit.SECONDS));
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), Files.readString(work.resolve("child.txt")));
			assertEquals(BatchJournal.Phase.ACCEPTED, left.get(0).phase, "the prediction's id was not journalled");
			assertEquals(replicate.lastJob().id, left.get(0).job.id());

			assertTheNextRunSavesItWithNoSecondPrediction(env, args, replicate, out, "");
		}
	}

	/**
	 * A create whose connection was refused never reached the provider: its entry goes, and no later
	 * run says that it may have been charged.
	 */
	@Test
	void aCreateThatNeverLeftTheMachineLeavesNothingInTheJournal() throws Exception {
		int closedPort;
		try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
			closedPort = socket.getLocalPort();
		}
		Map<String, String> env = bed.s3().env();
		env.put("EACHLABS_API_KEY", "each-refused-5c1e");
		env.put("EACHLABS_BASE_URL", "http://127.0.0.1:" + closedPort);
		Path in = folderOfImages(1);
		Path out = work.resolve("out");
		Outcome refused = runInProcess(env, "--provider", "eachlabs", "--instruction", INSTRUCTION, "--output",
			out.toString(), in.toString());
		assertEquals(1, refused.code(), refused.out() + refused.err());
		assertTrue(refused.err().contains("was refused"), refused.err());
		assertTrue(journal(out).isEmpty(), "a create that never left the machine was journalled");
		assertEquals(0, bed.s3().countObjects(bed.s3().prefix()), "staged objects left behind");
	}

	/**
	 * Issue 15 C8: the journal entry was written once every input was staged, so a kill while an
	 * upload was under way left the stored object known to nothing but the day-old sweep. Each key is
	 * journalled before its upload now: the next run deletes the object, says nothing was charged,
	 * and edits the image once.
	 */
	@Test
	void anInputUploadedAsTheRunWasKilledIsDeletedByTheNextRunWhichPaysOnce() throws Exception {
		S3TestServer s3 = bed.s3();
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY);
			TcpRelay relay = new TcpRelay(java.net.URI.create(s3.endpoint()).getPort()))
		{
			Map<String, String> env = s3.env();
			env.putAll(dashscopeEnv(dashscope));
			env.put(BucketConfig.ENDPOINT_S3, relay.endpoint());
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			List<String> before = s3.keys(s3.prefix());
			relay.holdRepliesTo("PUT");
			Process batch = startChild(env, null, args);
			await(() -> s3.keys(s3.prefix()).size() > before.size(), "the input was stored in the bucket");
			batch.destroyForcibly();
			assertTrue(batch.waitFor(30, TimeUnit.SECONDS));
			relay.holdRepliesTo(null);
			List<String> stored = new ArrayList<>(s3.keys(s3.prefix()));
			stored.removeAll(before);
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), "the upload was not journalled: " + Files.readString(work.resolve("child.txt")));
			assertEquals(BatchJournal.Phase.UPLOADING, left.get(0).phase);
			assertEquals(stored, left.get(0).stagedKeys);

			Outcome next = runInProcess(env, args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertEquals(before, s3.keys(s3.prefix()), "the killed run's upload was left in the bucket: " + next.out());
			assertEquals(1, dashscope.edits().size(), next.out() + next.err());
			assertFalse((next.out() + next.err()).contains("may have been"), next.out() + next.err());
			assertTrue(next.out().contains("1 done, 0 failed"), next.out());
			assertTrue(journal(out).isEmpty());
		}
	}

	private static long downloads(io.github.qwenedit.emulator.EmulatorServer<?> emulator) {
		return emulator.requests().stream().filter(r -> r.path().startsWith("/outputs/")).count();
	}

	/**
	 * A result link that answers 404 for a moment after the job ended (an object store or CDN that
	 * does not have the object yet) is tried again within the edit's deadline: the result is saved.
	 */
	@Test
	void aResultLinkThatAnswers404JustAfterTheJobIsFetchedOnALaterTry() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			dashscope.missingOutputsFor(2);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Outcome run = runInProcess(dashscopeEnv(dashscope), "--provider", "dashscope", "--instruction", INSTRUCTION,
				"--output", out.toString(), in.toString());
			assertEquals(0, run.code(), run.out() + run.err());
			assertEquals(1, dashscope.edits().size());
			assertEquals(3, downloads(dashscope), "the link was not tried again after its 404s");
			assertNotNull(IJ.openImage(out.resolve("AI-edit_1_of_cell0.tif").toString()));
			assertTrue(journal(out).isEmpty());
		}
	}

	/**
	 * A result link that still answers 404 after the edit's tries does not throw the paid result
	 * away: the entry stays with its links, the message says so, and the next run's recovery (which
	 * tries again too, here past one more 404) saves it without sending the image again.
	 */
	@Test
	void aResultLinkThatStaysMissingKeepsThePaidResultForTheNextRun() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			dashscope.missingOutputsFor(1000);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Outcome failed = runInProcess(dashscopeEnv(dashscope), args);
			String printed = failed.out() + failed.err();
			assertEquals(1, failed.code(), printed);
			assertTrue(printed.contains("HTTP 404"), printed);
			// Issue 15 N1: a link gone now may stay gone, so the next run is not promised the result.
			assertTrue(printed.contains("tries its result links once more without paying again"), printed);
			assertFalse(printed.contains("fetches it without paying again"), printed);
			assertTrue(downloads(dashscope) > 1, "the link was tried once only");
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), "the paid result was dropped: " + printed);
			assertEquals(1, left.get(0).outputUrls.size());

			dashscope.missingOutputsFor(1);
			Outcome next = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, next.code(), next.out() + next.err());
			assertTrue(next.out().contains("recovered "), next.out());
			assertEquals(1, dashscope.edits().size(), "the image was paid for twice");
			assertNotNull(IJ.openImage(out.resolve("AI-edit_1_of_cell0.tif").toString()));
			assertTrue(journal(out).isEmpty());
		}
	}

	/**
	 * A kept result whose links still answer 404 when the next run tries them is lost, and paid for:
	 * that run says so and does not send the image again on its own (every rerun used to pay once
	 * more); the run after it, which the user starts knowing this, edits the image anew.
	 */
	@Test
	void aPaidResultFoundGoneIsNotPaidForAgainUnasked() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			dashscope.missingOutputsFor(1000);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Outcome first = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(1, journal(out).size(), first.out() + first.err());

			Outcome second = runInProcess(dashscopeEnv(dashscope), args);
			String printed = second.out() + second.err();
			assertEquals(1, dashscope.edits().size(), "the image was sent again unasked: " + printed);
			assertEquals(1, second.code(), printed);
			assertTrue(printed.contains("was not sent again in this run"), printed);
			assertTrue(journal(out).isEmpty(), "a lost result stays pending forever: " + printed);

			dashscope.missingOutputsFor(0);
			Outcome third = runInProcess(dashscopeEnv(dashscope), args);
			assertEquals(0, third.code(), third.out() + third.err());
			assertEquals(2, dashscope.edits().size());
			assertNotNull(IJ.openImage(out.resolve("AI-edit_1_of_cell0.tif").toString()));
		}
	}

	/**
	 * A result larger than the download cap is paid for: its links stay in the journal, the message
	 * names the setting to raise, and a run with a higher cap saves it without sending the image again.
	 */
	@Test
	void aResultOverTheDownloadCapIsKeptUntilTheCapIsRaised() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			dashscope.oversizedOutputs(2_000_000);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Map<String, String> env = dashscopeEnv(dashscope);
			env.put(io.github.qwenedit.core.Configuration.DOWNLOAD_CAP_MB, "1");
			Outcome capped = runInProcess(env, args);
			String printed = capped.out() + capped.err();
			assertEquals(1, capped.code(), printed);
			assertTrue(printed.contains("larger than 1 MiB") && printed.contains("QWEN_EDIT_DOWNLOAD_CAP_MB"), printed);
			List<BatchJournal.Entry> left = journal(out);
			assertEquals(1, left.size(), "the paid result over the cap was dropped: " + printed);
			assertEquals(1, left.get(0).outputUrls.size());

			dashscope.oversizedOutputs(0);
			env.put(io.github.qwenedit.core.Configuration.DOWNLOAD_CAP_MB, "3");
			Outcome raised = runInProcess(env, args);
			assertEquals(0, raised.code(), raised.out() + raised.err());
			assertEquals(1, dashscope.edits().size(), "the image was paid for twice");
			assertNotNull(IJ.openImage(out.resolve("AI-edit_1_of_cell0.tif").toString()));
			assertTrue(journal(out).isEmpty());
		}
	}

	/**
	 * A kept result that turns out never to be an image (here the body kept over the cap) is not left
	 * pending for ever: the recovery drops it as lost, that run does not send the image again unasked,
	 * and the next one edits it anew.
	 */
	@Test
	void aKeptResultThatIsNoImageIsDroppedAsLostNotPendingForEver() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			dashscope.oversizedOutputs(2_000_000);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "dashscope", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString() };
			Map<String, String> env = dashscopeEnv(dashscope);
			env.put(io.github.qwenedit.core.Configuration.DOWNLOAD_CAP_MB, "1");
			runInProcess(env, args);
			assertEquals(1, journal(out).size());

			env.put(io.github.qwenedit.core.Configuration.DOWNLOAD_CAP_MB, "3");
			Outcome found = runInProcess(env, args);
			String printed = found.out() + found.err();
			assertEquals(1, found.code(), printed);
			assertTrue(printed.contains("can never be saved") && printed.contains("was not sent again in this run"), printed);
			assertFalse(printed.contains("pending"), printed);
			assertTrue(journal(out).isEmpty(), printed);
			assertEquals(1, dashscope.edits().size(), "the image was sent again unasked");

			dashscope.oversizedOutputs(0);
			Outcome anew = runInProcess(env, args);
			assertEquals(0, anew.code(), anew.out() + anew.err());
			assertEquals(2, dashscope.edits().size());
		}
	}

	/**
	 * A 2xx answer to a create means the provider took it: one cut short in transit (not JSON) or
	 * without the job's id is not "no job". The run says it may have been charged, and the entry
	 * stays, so the next run says so again rather than nothing.
	 */
	@Test
	void aCreateAnswerCutShortIsReportedAsPossiblyChargedAndKept() throws Exception {
		try (io.github.qwenedit.emulator.ReplicateEmulator replicate = new io.github.qwenedit.emulator.ReplicateEmulator(
			"r8_cut_short_7d21"); io.github.qwenedit.emulator.FalEmulator fal = new io.github.qwenedit.emulator.FalEmulator(
				"fal-cut-short-19b4"))
		{
			replicate.failNextWith(201, "{\"id\":\"abc\",\"status\":\"starting\",\"urls\":{\"get\":\"", Map.of());
			fal.failNextWith(200, "{\"status\":\"IN_QUEUE\"}", Map.of());
			Path in = folderOfImages(1);
			for (String[] provider : new String[][] { { "replicate", "REPLICATE_API_TOKEN", "r8_cut_short_7d21",
				"REPLICATE_BASE_URL" }, { "fal", "FAL_KEY", "fal-cut-short-19b4", "FAL_QUEUE_BASE_URL" } })
			{
				Path out = work.resolve("out-" + provider[0]);
				Map<String, String> env = bed.env(provider[1], provider[2], provider[3],
					provider[0].equals("fal") ? fal : replicate);
				Outcome cut = runInProcess(env, "--provider", provider[0], "--instruction", INSTRUCTION, "--output",
					out.toString(), in.toString());
				String printed = cut.out() + cut.err();
				assertEquals(1, cut.code(), printed);
				assertTrue(printed.contains("may have been created and charged"), provider[0] + ": " + printed);
				List<BatchJournal.Entry> left = journal(out);
				assertEquals(1, left.size(), provider[0] + ": the entry of a job that may be charged was dropped: " + printed);
				assertEquals(BatchJournal.Phase.STAGED, left.get(0).phase);
			}
		}
	}

	/**
	 * A journal copied in from elsewhere (or edited) must not choose where the key goes: a job link
	 * on a host that is not the configured provider's is not called; the entry is set aside with a
	 * sentence and the run goes on. The other host here is one the user allowed plain http for (fal's
	 * upload host), so only the new check stands between it and the key.
	 */
	@Test
	void aJournalledJobLinkOnAnotherHostNeverGetsTheKey() throws Exception {
		String key = "fal-foreign-link-3a9c";
		try (io.github.qwenedit.emulator.FalEmulator fal = new io.github.qwenedit.emulator.FalEmulator(key);
			io.github.qwenedit.emulator.FalEmulator elsewhere = new io.github.qwenedit.emulator.FalEmulator("other-key"))
		{
			String foreign = elsewhere.baseUrl().replace("127.0.0.1", "localhost");
			Map<String, String> env = bed.env("FAL_KEY", key, "FAL_QUEUE_BASE_URL", fal);
			env.put("FAL_REST_BASE_URL", foreign);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Path entries = Files.createDirectories(out.resolve(BatchJournal.FOLDER));
			String job = foreign + "/fal-ai/qwen-image-2/requests/planted-1";
			Files.writeString(entries.resolve("planted.json"), "{\"version\":2,\"phase\":\"ACCEPTED\",\"source\":\"" +
				in.resolve("cell0.tif").toAbsolutePath() + "\",\"provider\":\"fal\",\"model\":\"fal-ai/qwen-image-2/edit\"," +
				"\"instruction\":\"" + INSTRUCTION + "\",\"jobId\":\"planted-1\",\"pollUrl\":\"" + job + "/status\"," +
				"\"resultUrl\":\"" + job + "\",\"cancelUrl\":\"" + job + "/cancel\",\"stagedKeys\":[]}");
			Outcome run = runInProcess(env, "--provider", "fal", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString());
			String printed = run.out() + run.err();
			for (io.github.qwenedit.emulator.RecordedRequest r : elsewhere.requests()) {
				String auth = String.valueOf(r.header("Authorization"));
				assertFalse(auth.contains(key), "the key went to another host: " + r.path());
			}
			assertTrue(printed.contains("set aside") && printed.contains("localhost"), printed);
			assertEquals(0, run.code(), printed);
			assertTrue(Files.isRegularFile(entries.resolve("planted.json" + BatchJournal.SET_ASIDE)));
		}
	}

	/**
	 * The disk fills up once the create went out: the journal cannot record the job, and then the
	 * result cannot be written either. The run says that the job was not journalled, never claims
	 * that a later run fetches it without paying again, and writes the paid result it holds in
	 * memory to a folder elsewhere (the system's temporary folder), with its provenance, and names
	 * it. (A file in the journal folder's place makes the journal write fail; the process's
	 * file-size limit makes the result's TIFF fail, while the smaller PNG as sent still fits.)
	 */
	@Test
	void aJobNeitherJournalledNorSavedIsToldAsSuchWithNoFalsePromise() throws Exception {
		try (io.github.qwenedit.emulator.PixelDojoEmulator pixeldojo = new io.github.qwenedit.emulator.PixelDojoEmulator(
			"pd_full_disk_8c3e").createReplyDelay(Duration.ofSeconds(8)).processingDelay(Duration.ofSeconds(1))
				.credits(10))
		{
			Map<String, String> env = bed.env("PIXELDOJO_API_KEY", "pd_full_disk_8c3e", "PIXELDOJO_BASE_URL", pixeldojo);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Path temporary = Files.createDirectories(work.resolve("tmp"));
			// 400 KiB: the result's 480 KB TIFF does not fit, its PNG as sent (about 300 KB) does.
			Process batch = startChild(env, "ulimit -f 400", List.of("-Djava.io.tmpdir=" + temporary), "--provider",
				"pixeldojo", "--instruction", INSTRUCTION, "--output", out.toString(), in.toString());
			await(() -> pixeldojo.jobs().size() == 1, "the job was made");
			Path journalFolder = out.resolve(BatchJournal.FOLDER);
			try (java.util.stream.Stream<Path> entries = Files.list(journalFolder)) {
				for (Path entry : entries.collect(java.util.stream.Collectors.toList())) Files.delete(entry);
			}
			Files.delete(journalFolder);
			Files.writeString(journalFolder, "not a folder");
			assertTrue(batch.waitFor(60, TimeUnit.SECONDS), "the batch did not end");
			String printed = Files.readString(work.resolve("child.txt"));
			assertEquals(1, batch.exitValue(), printed);
			assertTrue(printed.contains("Could not write the result"), printed);
			assertTrue(printed.contains("Cannot write the journal") && printed.contains(pixeldojo.lastJob().id), printed);
			assertFalse(printed.contains("without paying again"), printed);
			List<Path> kept;
			try (java.util.stream.Stream<Path> folders = Files.list(temporary)) {
				kept = folders.filter(f -> f.getFileName().toString().startsWith("qwen-edit-unsaved-"))
					.collect(java.util.stream.Collectors.toList());
			}
			assertEquals(1, kept.size(), printed);
			assertTrue(printed.contains(kept.get(0).toString()), "the message does not say where the result is: " + printed);
			assertNotNull(IJ.openImage(kept.get(0).resolve("AI-edit_1_of_cell0.png").toString()), printed);
			assertTrue(Files.readString(kept.get(0).resolve("provenance.json")).contains(pixeldojo.lastJob().id));
		}
	}

	/**
	 * Result files get the mode any file the user makes gets (a lab's shared folder stays readable
	 * to the group), not the owner-only mode of temporary files.
	 */
	@Test
	void aResultFileHasTheUsersNormalMode() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Outcome run = runInProcess(dashscopeEnv(dashscope), "--provider", "dashscope", "--instruction", INSTRUCTION,
				"--output", out.toString(), in.toString());
			assertEquals(0, run.code(), run.out() + run.err());
			Path probe = Files.createFile(out.resolve("probe"));
			var normal = Files.getPosixFilePermissions(probe);
			assertTrue(normal.contains(java.nio.file.attribute.PosixFilePermission.GROUP_READ),
				"this test needs a umask that lets the group read new files: " + normal);
			assertEquals(normal, Files.getPosixFilePermissions(out.resolve("AI-edit_1_of_cell0.tif")));
		}
	}

	/**
	 * A job still running at the deadline that the provider did not stop stays in the journal, and
	 * the run says so: that the next run or Recover fetches it without paying again, not only that it
	 * may still be charged.
	 */
	@Test
	void aJobTimedOutAndNotStoppedIsToldToBeFetchedByTheNextRun() throws Exception {
		String key = "fal-timed-out-6b0d";
		try (io.github.qwenedit.emulator.FalEmulator fal = new io.github.qwenedit.emulator.FalEmulator(key)) {
			fal.processingDelay(Duration.ofSeconds(20));
			Map<String, String> env = bed.env("FAL_KEY", key, "FAL_QUEUE_BASE_URL", fal);
			env.put("QWEN_EDIT_DEADLINE_SECONDS", "4");
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Outcome run = runInProcess(env, "--provider", "fal", "--instruction", INSTRUCTION, "--output", out.toString(),
				in.toString());
			String printed = run.out() + run.err();
			assertEquals(1, run.code(), printed);
			assertEquals(1, journal(out).size(), "the running job was dropped: " + printed);
			assertTrue(printed.contains("Timed out") && printed.contains("fetches it without paying again"), printed);
		}
	}

	/**
	 * A rate limit on the next run's first look at a journalled job is waited out as the provider
	 * asks: the job is fetched in that run, not reported pending after one 429.
	 */
	@Test
	void aRecoveryWaitsOutARateLimitOnItsFirstLook() throws Exception {
		String key = "fal-recover-429-2c8e";
		try (io.github.qwenedit.emulator.FalEmulator fal = new io.github.qwenedit.emulator.FalEmulator(key)) {
			fal.processingDelay(Duration.ofSeconds(5));
			Map<String, String> env = bed.env("FAL_KEY", key, "FAL_QUEUE_BASE_URL", fal);
			env.put("QWEN_EDIT_DEADLINE_SECONDS", "2");
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = { "--provider", "fal", "--instruction", INSTRUCTION, "--output", out.toString(), in.toString() };
			Outcome first = runInProcess(env, args);
			assertEquals(1, journal(out).size(), first.out() + first.err());

			env.remove("QWEN_EDIT_DEADLINE_SECONDS");
			for (int i = 0; i < RetryPolicy.DEFAULT.maxAttempts() + 2; i++) {
				fal.failNextWith(429, "{\"detail\":\"rate limited\"}", Map.of("Retry-After", "1"));
			}
			Outcome next = runInProcess(env, args);
			String printed = next.out() + next.err();
			assertEquals(0, next.code(), printed);
			assertTrue(next.out().contains("recovered "), printed);
			assertEquals(1, fal.jobs().size(), "the image was paid for twice: " + printed);
			assertTrue(journal(out).isEmpty(), printed);
		}
	}

	/**
	 * A burst of 429s on the result of an accepted job is not a refused create, nor the job's own
	 * failure: the image is not sent again (that would pay twice), and the result is asked for again
	 * until it comes.
	 */
	@Test
	void aRateLimitWhileFollowingAnAcceptedJobNeverSendsTheImageAgain() throws Exception {
		String key = "fal-429-burst-4e1a";
		try (io.github.qwenedit.emulator.FalEmulator fal = new io.github.qwenedit.emulator.FalEmulator(key)) {
			fal.processingDelay(Duration.ofSeconds(2));
			Map<String, String> env = bed.env("FAL_KEY", key, "FAL_QUEUE_BASE_URL", fal);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Process batch = startChild(env, null, "--provider", "fal", "--instruction", INSTRUCTION, "--output",
				out.toString(), in.toString());
			// Once the status stream is open, the next request is the result's: that is where the 429s go.
			await(() -> fal.requests().stream().anyMatch(r -> r.path().endsWith("/status/stream")), "the job is followed");
			for (int i = 0; i < 12; i++) {
				fal.failNextWith(429, "{\"detail\":\"rate limited\"}", Map.of("Retry-After", "1"));
			}
			assertTrue(batch.waitFor(90, TimeUnit.SECONDS), "the batch did not end");
			String printed = Files.readString(work.resolve("child.txt"));
			assertEquals(1, fal.jobs().size(), "the image was sent again: " + printed);
			assertEquals(0, batch.exitValue(), "the paid result was not saved: " + printed);
			assertEquals(0, journal(out).size(), printed);
		}
	}

	/**
	 * 503s while an accepted Replicate prediction is followed, every look in a row with all of its
	 * retries, say nothing about the prediction, which runs on and is billed: it is neither stopped
	 * (Replicate bills the seconds used) nor dropped from the journal, and the next run fetches it
	 * without a second prediction.
	 */
	@Test
	void aLasting503WhileFollowingAJobNeitherStopsNorDropsIt() throws Exception {
		assertRepliesWhileFollowingAPredictionNeitherStopNorDropIt("r8_passing_503_7c2d", replicate -> {
			for (int i = 0; i < JobPoller.UNREADABLE_IN_A_ROW * RetryPolicy.DEFAULT.maxAttempts(); i++) {
				replicate.failNextWith(503, "{\"detail\":\"overloaded\"}", Map.of());
			}
		});
	}

	/**
	 * A 200 whose body is no status at all (what gateways send during incidents), at every look in a
	 * row, while an accepted prediction is followed is a reply that cannot be read, not the
	 * prediction's end: it stays in the journal, and the next run fetches it without a second
	 * prediction.
	 */
	@Test
	void anErrorBodyWithStatus200WhileFollowingAJobKeepsIt() throws Exception {
		assertRepliesWhileFollowingAPredictionNeitherStopNorDropIt("r8_error_body_200_5e1b", replicate -> {
			for (int i = 0; i < JobPoller.UNREADABLE_IN_A_ROW; i++) {
				replicate.failNextWith(200, "{\"error\":\"internal error\"}", Map.of());
			}
		});
	}

	/**
	 * A status look answered 429 with a Retry-After of a day made the run wait, silent, to its
	 * deadline, say "Timed out" and stop a prediction that had long finished, paid for: the next run
	 * paid again. The wait beyond the deadline is said at once, and the prediction stays in the journal.
	 */
	@Test
	void aStatusLookToldToComeBackInADayKeepsTheJobAndSaysSo() throws Exception {
		assertRepliesWhileFollowingAPredictionNeitherStopNorDropIt("r8_come_back_tomorrow_9a4e", replicate ->
			replicate.failNextWith(429, "{\"detail\":\"Request was throttled.\"}", Map.of("Retry-After", "86400")));
	}

	/**
	 * Issue 15 M5: one status answer that could not be read (a gateway's 200 with an error body, then
	 * 503s through every retry) ended the edit, leaving its job to the next run, though the next
	 * look saw it finished. The same run now looks again and saves the result.
	 */
	@Test
	void aStatusUnreadableOnceDoesNotEndTheEdit() throws Exception {
		String token = "r8_unreadable_once_3f1a";
		try (io.github.qwenedit.emulator.ReplicateEmulator replicate = new io.github.qwenedit.emulator.ReplicateEmulator(
			token).processingDelay(Duration.ofSeconds(2)))
		{
			Map<String, String> env = bed.env("REPLICATE_API_TOKEN", token, "REPLICATE_BASE_URL", replicate);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			Process batch = startChild(env, null, replicateBatch(in, out));
			await(() -> !replicate.jobs().isEmpty() && replicate.requests().stream().anyMatch(r ->
				r.method().equals("GET") && r.path().endsWith("/predictions/" + replicate.lastJob().id)),
				"the prediction is followed");
			replicate.failNextWith(200, "{\"error\":\"internal error\"}", Map.of());
			for (int i = 0; i < RetryPolicy.DEFAULT.maxAttempts(); i++) {
				replicate.failNextWith(503, "{\"detail\":\"overloaded\"}", Map.of());
			}
			assertTrue(batch.waitFor(90, TimeUnit.SECONDS), "the batch did not end");
			String printed = Files.readString(work.resolve("child.txt"));
			assertEquals(0, batch.exitValue(), printed);
			assertTrue(printed.contains("1 done, 0 failed"), printed);
			assertEquals(1, replicate.jobs().size(), printed);
			assertFalse(replicate.lastJob().cancelRequested(), printed);
			assertTrue(journal(out).isEmpty(), printed);
			assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell0.tif")), printed);
		}
	}

	/**
	 * Runs a Replicate batch in a child JVM, gives the prediction's status reads {@code replies} once
	 * it is followed, and checks that the prediction was neither stopped nor dropped from the journal
	 * and that the next run saves its result without a second prediction.
	 */
	private void assertRepliesWhileFollowingAPredictionNeitherStopNorDropIt(String token,
		java.util.function.Consumer<io.github.qwenedit.emulator.ReplicateEmulator> replies) throws Exception
	{
		try (io.github.qwenedit.emulator.ReplicateEmulator replicate = new io.github.qwenedit.emulator.ReplicateEmulator(
			token).processingDelay(Duration.ofSeconds(3)))
		{
			Map<String, String> env = bed.env("REPLICATE_API_TOKEN", token, "REPLICATE_BASE_URL", replicate);
			Path in = folderOfImages(1);
			Path out = work.resolve("out");
			String[] args = replicateBatch(in, out);
			Process batch = startChild(env, null, args);
			await(() -> !replicate.jobs().isEmpty() && replicate.requests().stream().anyMatch(r ->
				r.method().equals("GET") && r.path().endsWith("/predictions/" + replicate.lastJob().id)),
				"the prediction is followed");
			replies.accept(replicate);
			assertTrue(batch.waitFor(90, TimeUnit.SECONDS), "the batch did not end");
			String printed = Files.readString(work.resolve("child.txt"));
			assertFalse(replicate.lastJob().cancelRequested(), "a paid prediction was stopped: " + printed);
			assertEquals(1, journal(out).size(), "the prediction was dropped from the journal: " + printed);

			assertTheNextRunSavesItWithNoSecondPrediction(env, args, replicate, out, printed);
		}
	}

	private static String[] replicateBatch(Path in, Path out) {
		return new String[] { "--provider", "replicate", "--model", "qwen-image-edit-plus", "--instruction", INSTRUCTION,
			"--output", out.toString(), in.toString() };
	}

	/** The run after an interrupted one saves the journalled prediction's result and creates none. */
	private void assertTheNextRunSavesItWithNoSecondPrediction(Map<String, String> env, String[] args,
		io.github.qwenedit.emulator.ReplicateEmulator replicate, Path out, String before) throws Exception
	{
		Outcome next = runInProcess(env, args);
		assertEquals(0, next.code(), before + next.out() + next.err());
		assertEquals(1, replicate.jobs().size(), "the image was paid for twice: " + before + next.out() + next.err());
		assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell0.tif")), next.out());
		assertTrue(journal(out).isEmpty());
	}

	static int journalSize(Path out) throws Exception {
		return BatchTestData.journalSize(out);
	}
}
