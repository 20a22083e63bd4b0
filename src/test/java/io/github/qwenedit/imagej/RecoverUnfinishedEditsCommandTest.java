package io.github.qwenedit.imagej;

import io.github.qwenedit.ChildJvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.scijava.module.Module;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;
import io.github.qwenedit.cli.QwenEditCli;
import io.github.qwenedit.cli.QwenEditCliRunner;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.AsyncJobEmulator.Phase;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.EmulatedSchema;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.engine.BatchLog;
import io.github.qwenedit.engine.JournalRecovery;
import io.github.qwenedit.engine.JournalRecovery.Kind;
import io.github.qwenedit.fixtures.BatchTestData;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.staging.S3TestServer;

/**
 * Recover Unfinished Edits, through the SciJava command, after batches and edits were killed or
 * left jobs behind: against the eachlabs emulator and a real S3 server.
 */
class RecoverUnfinishedEditsCommandTest {

	private static final String KEY = "each-recover-test-7f3a";
	private static final String INSTRUCTION = "remove the scale bar";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();
	private final S3TestServer s3 = bed.s3();

	@TempDir
	Path work;

	private EachLabsEmulator eachlabs;
	private Map<String, String> env;

	private void startEachlabs(Duration processing) {
		eachlabs = new EachLabsEmulator(KEY).processingDelay(processing);
		// These tests follow a seed from the journal into the result, so the model's schema takes one.
		EmulatedSchema.field(eachlabs.schema().schema(), "seed", "integer");
		env = new HashMap<>(s3.env());
		env.put("EACHLABS_API_KEY", KEY);
		env.put("EACHLABS_BASE_URL", eachlabs.baseUrl());
		env.put(Configuration.CONFIG_DIR, work.resolve("config").toString());
	}

	@AfterEach
	void stopEachlabs() {
		if (eachlabs != null) eachlabs.close();
		s3.clear();
	}

	private JournalRecovery.Report recover(Path folder, int waitSeconds) throws Exception {
		try (EditCommandRunner fiji = new EditCommandRunner(env)) {
			Module module = fiji.runCommand(RecoverUnfinishedEditsCommand.class, Map.of("outputFolder", folder.toFile(),
				"waitSeconds", waitSeconds, "openImages", false));
			JournalRecovery.Report report = ((RecoverUnfinishedEditsCommand) module.getDelegateObject()).report();
			assertNotNull(report, "the command did not run");
			for (String line : fiji.log()) {
				assertFalse(line.contains(KEY) || line.contains(s3.secretAccessKey()), line);
			}
			assertTrue(String.join("\n", fiji.log()).contains(report.describe()), "the report was not logged");
			return report;
		}
	}

	private Path folderOfImages(int count) throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < count; i++) {
			new FileSaver(TestImages.pattern("cell" + i, 300 + i, 300)).saveAsTiff(in.resolve("cell" + i + ".tif").toString());
		}
		return in;
	}

	private static List<BatchJournal.Entry> journal(Path out) {
		return new BatchJournal(out).entries();
	}

	private static long acceptedJobs(Path out) {
		return journal(out).stream().filter(e -> e.job != null).count();
	}

	private static void await(BooleanSupplier condition, String what) throws InterruptedException {
		long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
		while (!condition.getAsBoolean()) {
			assertTrue(System.nanoTime() < until, "timed out waiting until " + what);
			Thread.sleep(50);
		}
	}

	private Process start(List<String> command) throws Exception {
		ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
			.redirectOutput(ProcessBuilder.Redirect.DISCARD);
		pb.environment().putAll(env);
		return pb.start();
	}

	private static String java() {
		return ChildJvm.JAVA;
	}

	private static void kill(Process process) throws InterruptedException {
		process.destroyForcibly();
		assertTrue(process.waitFor(30, TimeUnit.SECONDS));
	}

	/** The journal's files as written, for a check that no secret or signed link is in them. */
	private void assertJournalHoldsNoSecret(Path out) throws Exception {
		List<BatchJournal.Entry> entries = journal(out);
		assertFalse(entries.isEmpty());
		for (BatchJournal.Entry entry : entries) {
			String text = Files.readString(entry.file);
			for (String secret : List.of(KEY, s3.secretAccessKey(), s3.accessKeyId(), "X-Amz-Signature", "X-Amz-Credential")) {
				assertFalse(text.contains(secret), "the journal holds " + secret + ": " + text);
			}
		}
	}

	private List<String> logLines(Path out) throws Exception {
		return Files.readAllLines(out.resolve(BatchLog.FILE));
	}

	/**
	 * A batch in a shell is killed while its jobs run; Recover Unfinished Edits fetches every result,
	 * logs it so that the next run skips it, deletes the staged inputs and creates nothing twice.
	 */
	@Test
	void recoversABatchKilledMidRunWithoutPayingTwice() throws Exception {
		startEachlabs(Duration.ofMillis(2500));
		Path in = folderOfImages(3);
		Path out = work.resolve("out");
		Process batch = start(List.of(java(), ChildJvm.PREFERENCES, "-cp", System.getProperty("java.class.path"), QwenEditCli.class.getName(),
			"--provider", "eachlabs", "--instruction", INSTRUCTION, "--output", out.toString(), in.toString()));
		await(() -> acceptedJobs(out) == 3, "the batch journalled its three jobs");
		kill(batch);
		assertJournalHoldsNoSecret(out);
		assertTrue(s3.countObjects(s3.prefix()) > 0, "the killed batch should have left staged inputs");

		JournalRecovery.Report report = recover(out, 30);
		assertEquals(3, report.of(Kind.RECOVERED).size(), report.describe());
		assertEquals(3, eachlabs.jobs().size(), "a job was created twice");
		assertEquals(0, s3.countObjects(s3.prefix()), "staged inputs left behind");
		assertTrue(journal(out).isEmpty());
		assertEquals(3, report.deletedKeys().size(), report.describe());
		for (int i = 0; i < 3; i++) {
			ImagePlus result = IJ.openImage(out.resolve("AI-edit_1_of_cell" + i + ".tif").toString());
			assertNotNull(result, "result " + i + " lost");
			assertEquals("cell" + i + ".tif", result.getProp(Provenance.sourceTitle(1)));
			assertEquals(INSTRUCTION, result.getProp(Provenance.PROMPT));
			assertNotNull(result.getProp(Provenance.REQUEST_ID));
			assertEquals("true", result.getProp(Provenance.AI_GENERATED));
		}
		long recoveredLines = logLines(out).stream()
			.filter(l -> l.contains("\"recovered\":true") && l.contains("\"status\":\"done\"")).count();
		assertEquals(3, recoveredLines, String.join("\n", logLines(out)));

		String text = runShellBatch(in, out);
		assertTrue(text.contains("0 done, 0 failed, 3 skipped"), "the log is not complete: " + text);
		assertEquals(3, eachlabs.jobs().size());
	}

	/** A program stopped in the middle of an edit, before the provider's reply or during the wait. */
	private void leaveBehind(Path out, String source, boolean accepted) throws Exception {
		Process stopped = start(leftBehindJob(out, source, accepted ? "accepted" : "staged"));
		assertTrue(stopped.waitFor(60, TimeUnit.SECONDS), "the program did not stop");
	}

	private static List<String> leftBehindJob(Path out, String source, String... how) {
		List<String> command = new java.util.ArrayList<>(List.of(java(), ChildJvm.PREFERENCES, "-cp", System.getProperty("java.class.path"),
			LeftBehindJob.class.getName(), out.toString(), source, "eachlabs", INSTRUCTION));
		command.addAll(List.of(how));
		return command;
	}

	@Test
	void anEntryWithoutJobIdHasItsInputsDeletedAndSaysTheJobMayExist() throws Exception {
		startEachlabs(Duration.ofMillis(100));
		Path out = Files.createDirectories(work.resolve("out"));
		leaveBehind(out, "cells.tif", false);
		assertEquals(1, s3.countObjects(s3.prefix()));
		assertJournalHoldsNoSecret(out);

		JournalRecovery.Report report = recover(out, 0);
		List<JournalRecovery.Outcome> unconfirmed = report.of(Kind.NOT_CONFIRMED);
		assertEquals(1, unconfirmed.size(), report.describe());
		String reason = unconfirmed.get(0).reason;
		assertTrue(reason.contains("may have been created") && reason.contains("cannot be fetched"), reason);
		assertEquals(0, s3.countObjects(s3.prefix()), "the staged input was not deleted");
		assertTrue(report.describe().contains(report.deletedKeys().get(0)), report.describe());
		assertTrue(journal(out).isEmpty());
		assertTrue(logLines(out).get(0).contains("\"status\":\"failed\""), logLines(out).get(0));
	}

	@Test
	void aJobStillRunningStaysInTheJournalAndALaterRecoveryFetchesIt() throws Exception {
		startEachlabs(Duration.ofSeconds(3));
		Path out = Files.createDirectories(work.resolve("out"));
		leaveBehind(out, "cells.tif", true);
		assertJournalHoldsNoSecret(out);

		JournalRecovery.Report early = recover(out, 0);
		assertEquals(1, early.of(Kind.STILL_RUNNING).size(), early.describe());
		assertTrue(early.describe().contains("Still running"), early.describe());
		assertEquals(1, acceptedJobs(out), "a running job must stay in the journal");
		assertFalse(eachlabs.lastJob().isFinal() || eachlabs.lastJob().cancelRequested(),
			"recovery must not stop a running job");
		assertFalse(Files.exists(out.resolve(BatchLog.FILE)), "nothing final to log yet");

		assertTrue(eachlabs.awaitLastJobIn(Phase.SUCCEEDED));
		JournalRecovery.Report later = recover(out, 0);
		assertEquals(1, later.of(Kind.RECOVERED).size(), later.describe());
		ImagePlus result = IJ.openImage(out.resolve("AI-edit_1_of_cells.tif").toString());
		assertEquals(String.valueOf(LeftBehindJob.SEED), result.getProp(Provenance.SEED));
		assertTrue(journal(out).isEmpty());
		assertEquals(0, s3.countObjects(s3.prefix()));
		assertEquals(1, eachlabs.jobs().size());
		assertEquals(1, logLines(out).size());
	}

	/** A batch or an edit still running in another program, or in this Fiji, saves its own results. */
	@Test
	void anEntryOfAProgramStillRunningIsLeftAlone() throws Exception {
		startEachlabs(Duration.ofMillis(100));
		Path out = Files.createDirectories(work.resolve("out"));
		Process busy = start(leftBehindJob(out, "cells.tif", "staged", "stay"));
		try {
			await(() -> journal(out).size() == 1, "the program journalled its edit");
			JournalRecovery.Report report = recover(out, 0);
			assertEquals(1, report.of(Kind.IN_PROGRESS).size(), report.describe());
			assertEquals(1, s3.countObjects(s3.prefix()), "the inputs of a job in flight were deleted");
			assertEquals(1, journal(out).size());
		}
		finally {
			kill(busy);
		}
		JournalRecovery.Report afterKill = recover(out, 0);
		assertEquals(1, afterKill.of(Kind.NOT_CONFIRMED).size(), afterKill.describe());
		assertEquals(0, s3.countObjects(s3.prefix()));
	}

	private String runShellBatch(Path in, Path out) throws Exception {
		return runShellBatch(in, out, 0);
	}

	private String runShellBatch(Path in, Path out, int expectedCode, String... more) throws Exception {
		ByteArrayOutputStream printed = new ByteArrayOutputStream();
		List<String> args = new java.util.ArrayList<>(List.of("--provider", "eachlabs", "--instruction", INSTRUCTION,
			"--output", out.toString()));
		args.addAll(List.of(more));
		args.add(in.toString());
		int code = QwenEditCliRunner.run(Configuration.fromEnvironment(env), new PrintStream(printed, true, "UTF-8"),
			args.toArray(new String[0]));
		String text = printed.toString(StandardCharsets.UTF_8);
		assertEquals(expectedCode, code, text);
		return text;
	}

	/** An image whose job is still in flight elsewhere is not sent again by a batch; a later run fetches it. */
	@Test
	void aShellBatchNeverSendsAgainAnImageWhoseJobIsStillInFlight() throws Exception {
		startEachlabs(Duration.ofMillis(200));
		Path in = folderOfImages(2);
		Path out = Files.createDirectories(work.resolve("out"));
		String busySource = in.resolve("cell0.tif").toAbsolutePath().toString();
		Process busy = start(leftBehindJob(out, busySource, "accepted", "stay"));
		try {
			await(() -> acceptedJobs(out) == 1, "the other program's job was accepted");
			// Not edited in this run, so the run is not complete: reported as pending, and the exit code says so.
			// The seed of the other program's edit, so that its result answers the same request.
			String seed = String.valueOf(LeftBehindJob.SEED);
			String first = runShellBatch(in, out, 1, "--seed", seed);
			assertTrue(first.contains("pending " + busySource + " (job still running at the provider") &&
				first.contains("1 done, 0 failed, 0 skipped, 1 pending"), first);
			assertFalse(first.contains("skipped " + busySource), first);
			assertEquals(2, eachlabs.jobs().size(), "the image in flight was sent again");
		}
		finally {
			kill(busy);
		}
		assertTrue(eachlabs.awaitLastJobIn(Phase.SUCCEEDED));
		String second = runShellBatch(in, out, 0, "--seed", String.valueOf(LeftBehindJob.SEED));
		assertTrue(second.contains("recovered " + busySource) && second.contains("0 done, 0 failed, 1 skipped, 1 recovered"), second);
		assertFalse(second.contains("skipped " + busySource), "a result fetched now was also said skipped: " + second);
		assertEquals(2, eachlabs.jobs().size());
		assertEquals(0, s3.countObjects(s3.prefix()));
	}

	/** Cancel Running Edits stops a recovery that waits; the job runs on at the provider and stays in the journal. */
	@Test
	void aCancelledRecoveryLeavesTheJobRunningAndInTheJournal() throws Exception {
		startEachlabs(Duration.ofMillis(100));
		eachlabs.jobsNeverFinish();
		Path out = Files.createDirectories(work.resolve("out"));
		leaveBehind(out, "cells.tif", true);
		String jobId = eachlabs.lastJob().id;
		try (EditCommandRunner fiji = new EditCommandRunner(env)) {
			java.util.concurrent.Future<Module> running = fiji.startCommand(RecoverUnfinishedEditsCommand.class,
				Map.of("outputFolder", out.toFile(), "waitSeconds", 60, "openImages", false));
			assertTrue(eachlabs.awaitRequestTo("/v1/prediction/" + jobId), "the recovery did not look at the job");
			long asked = System.nanoTime();
			await(() -> fiji.editService().cancelAll() > 0 || running.isDone(), "the recovery could be cancelled");
			JournalRecovery.Report report = ((RecoverUnfinishedEditsCommand) running.get(30, TimeUnit.SECONDS)
				.getDelegateObject()).report();
			assertTrue(System.nanoTime() - asked < TimeUnit.SECONDS.toNanos(10), "the cancel was not prompt");
			assertTrue(report.cancelled(), report.describe());
			assertTrue(report.describe().contains("run the recovery again"), report.describe());
			assertTrue(report.outcomes().isEmpty(), "a cancelled look is no outcome: " + report.describe());
		}
		assertFalse(eachlabs.lastJob().cancelRequested(), "a recovery must not stop the job it waits for");
		assertEquals(1, acceptedJobs(out));
		assertEquals(1, s3.countObjects(s3.prefix()));
	}

	/**
	 * A result link that answers 404 for a moment (an object store that does not serve the result
	 * yet) is tried again by the recovery too: the result is recovered, not reported as expired.
	 */
	@Test
	void aResultLinkThatAnswers404OnceIsRecoveredNotGivenUp() throws Exception {
		startEachlabs(Duration.ofMillis(100));
		Path out = Files.createDirectories(work.resolve("out"));
		leaveBehind(out, "cells.tif", true);
		assertTrue(eachlabs.awaitLastJobIn(Phase.SUCCEEDED));
		eachlabs.missingOutputsFor(2);

		JournalRecovery.Report report = recover(out, 0);
		assertEquals(1, report.of(Kind.RECOVERED).size(), report.describe());
		assertTrue(journal(out).isEmpty(), report.describe());
		assertEquals(1, eachlabs.jobs().size(), "the image was sent again");
	}

	/** Documented: an expired result cannot come back, so its entry is dropped and the log says "expired". */
	@Test
	void anExpiredResultLinkIsReportedAndItsEntryDropped() throws Exception {
		startEachlabs(Duration.ofMillis(100));
		Path out = Files.createDirectories(work.resolve("out"));
		leaveBehind(out, "cells.tif", true);
		assertTrue(eachlabs.awaitLastJobIn(Phase.SUCCEEDED));
		eachlabs.expireOutputs();

		JournalRecovery.Report report = recover(out, 0);
		List<JournalRecovery.Outcome> expired = report.of(Kind.EXPIRED);
		assertEquals(1, expired.size(), report.describe());
		assertTrue(expired.get(0).reason.contains("expired") && expired.get(0).reason.contains("edit the image again"),
			expired.get(0).reason);
		assertTrue(report.describe().contains("links expired"), report.describe());
		assertTrue(journal(out).isEmpty(), "an expired entry is dropped");
		assertEquals(0, s3.countObjects(s3.prefix()));
		assertTrue(logLines(out).get(0).contains("\"status\":\"expired\""), logLines(out).get(0));
		try (var files = Files.list(out)) {
			assertFalse(files.anyMatch(f -> f.toString().endsWith(".tif")));
		}
	}

	/** Fiji crashes during an interactive edit that saves to a folder; the command saves its result there. */
	@Test
	void anInteractiveEditKilledMidRunIsRecoveredIntoItsOutputFolder() throws Exception {
		startEachlabs(Duration.ofMillis(2500));
		Path in = folderOfImages(1);
		Path out = Files.createDirectories(work.resolve("out"));
		Process fiji = start(List.of(java(), ChildJvm.PREFERENCES, "-cp", System.getProperty("java.class.path"),
			InteractiveEditProcess.class.getName(), in.resolve("cell0.tif").toString(), out.toString(), "eachlabs",
			EachLabsEmulator.MODEL, INSTRUCTION));
		await(() -> acceptedJobs(out) == 1, "the edit journalled its job");
		kill(fiji);
		assertJournalHoldsNoSecret(out);
		assertEquals(out.toAbsolutePath().toString(), journal(out).get(0).destination);

		JournalRecovery.Report report = recover(out, 30);
		assertEquals(1, report.of(Kind.RECOVERED).size(), report.describe());
		ImagePlus result = IJ.openImage(out.resolve("AI-edit_1_of_cell0.tif").toString());
		assertNotNull(result, "the result was not saved into the edit's output folder");
		assertEquals("cell0.tif", result.getProp(Provenance.sourceTitle(1)));
		assertEquals(1, eachlabs.jobs().size());
		assertEquals(0, s3.countObjects(s3.prefix()));
		assertTrue(journal(out).isEmpty());
		assertEquals(1, logLines(out).size());
	}

	/**
	 * An entry of the first format (no version, the plane inside the source as {@code file#plane=N})
	 * is still read; the plane it recovers keeps its stack's calibration and is titled as the plane.
	 */
	@Test
	void anEntryOfTheFirstFormatIsRecoveredAndAStackPlaneKeepsItsCalibration() throws Exception {
		startEachlabs(Duration.ofMillis(100));
		Path out = Files.createDirectories(work.resolve("out"));
		Path stackFile = Files.createDirectories(work.resolve("in")).resolve("cells.tif");
		// The size of the emulator's results, so that the result has the plane's size and keeps its calibration.
		ImagePlus stack = BatchTestData.stack("cells", 3);
		stack.getCalibration().pixelWidth = 0.25;
		stack.getCalibration().pixelHeight = 0.25;
		stack.getCalibration().setUnit("um");
		new FileSaver(stack).saveAsTiffStack(stackFile.toString());
		leaveBehind(out, "placeholder", true);
		assertTrue(eachlabs.awaitLastJobIn(Phase.SUCCEEDED));
		BatchJournal.Entry written = journal(out).get(0);
		com.fasterxml.jackson.databind.node.ObjectNode first = (com.fasterxml.jackson.databind.node.ObjectNode)
			io.github.qwenedit.http.Json.MAPPER.readTree(written.file.toFile());
		for (String field : List.of("version", "phase", "plane", "provenance", "outputs", "outputUrls", "facts")) {
			first.remove(field);
		}
		first.put("source", stackFile.toAbsolutePath() + "#plane=2");
		first.put("sourceTitle", "cells plane 002");
		Files.write(written.file, io.github.qwenedit.http.Json.bytes(first));

		BatchJournal.Entry read = journal(out).get(0);
		assertEquals(0, read.version);
		assertEquals(BatchJournal.Phase.ACCEPTED, read.phase);
		assertEquals(stackFile.toAbsolutePath().toString(), read.source.source);
		assertEquals(2, read.source.plane);

		JournalRecovery.Report report = recover(out, 0);
		assertEquals(1, report.of(Kind.RECOVERED).size(), report.describe());
		ImagePlus result = IJ.openImage(out.resolve("AI-edit_1_of_cells_plane_002.tif").toString());
		assertNotNull(result, "the plane's result was not saved under the plane's title");
		assertEquals(0.25, result.getCalibration().pixelWidth, 1e-9, "the plane lost its stack's calibration: " + result.getWidth() + "*" + result.getHeight());
		assertEquals(stack.getCalibration().getUnit(), result.getCalibration().getUnit());
		String line = logLines(out).get(0);
		assertTrue(line.contains("\"plane\":2") && line.contains("\"source\":\"" + stackFile.toAbsolutePath() + "\""), line);
		assertEquals(1, eachlabs.jobs().size());
	}

	/**
	 * Point 11: a journal names keys to delete, and recovery deletes only those the plugin could have
	 * staged (its prefix and random names): one edited by hand, from another folder or another bucket
	 * setting leaves the user's own objects alone.
	 */
	@Test
	void recoveryDeletesOnlyKeysThePluginCouldHaveStaged() throws Exception {
		startEachlabs(Duration.ofMillis(100));
		Path out = Files.createDirectories(work.resolve("out"));
		leaveBehind(out, "cells.tif", false);
		List<String> mine = List.of("precious/cells-raw.tif", s3.prefix() + "/notes.txt", "staging/other/" +
			"0b5e2c6e-1f3a-4c1e-9d57-2a8c4f1e9b11.png");
		org.jclouds.blobstore.BlobStore store = s3.blobStore();
		for (String key : mine) {
			store.putBlob(s3.bucket(), store.blobBuilder(key).payload(new byte[] { 1, 2, 3 }).build());
		}
		BatchJournal.Entry written = journal(out).get(0);
		com.fasterxml.jackson.databind.node.ObjectNode tampered = (com.fasterxml.jackson.databind.node.ObjectNode)
			io.github.qwenedit.http.Json.MAPPER.readTree(written.file.toFile());
		com.fasterxml.jackson.databind.node.ArrayNode keys = (com.fasterxml.jackson.databind.node.ArrayNode) tampered
			.get("stagedKeys");
		mine.forEach(keys::add);
		keys.add(s3.prefix() + "/../precious/cells-raw.tif");
		Files.write(written.file, io.github.qwenedit.http.Json.bytes(tampered));

		JournalRecovery.Report report = recover(out, 0);
		assertEquals(1, report.deletedKeys().size(), report.describe());
		assertEquals(List.of(s3.prefix() + "/notes.txt"), s3.keys(s3.prefix() + "/"), "the staged input was not deleted");
		for (String key : mine) {
			assertTrue(s3.keys("").contains(key), key + " was deleted: " + report.describe());
			assertTrue(report.describe().contains(key + " as a staged object, but it is not a name this plugin stages"),
				report.describe());
		}
		assertTrue(journal(out).isEmpty());
	}

	/**
	 * Point 5 in Fiji: a result too large for Fiji's memory says so and how to get it, stays in the
	 * journal of the output folder, and Recover Unfinished Edits saves it without sending it again.
	 */
	@Test
	void aResultTooLargeForFijisMemoryIsRecoveredWithoutPayingAgain() throws Exception {
		startEachlabs(Duration.ofMillis(100));
		try (io.github.qwenedit.emulator.DashScopeEmulator dashscope = new io.github.qwenedit.emulator.DashScopeEmulator(
			KEY).largeOutputs(5000, 4000))
		{
			env.put("DASHSCOPE_API_KEY", KEY);
			env.put("DASHSCOPE_BASE_URL", dashscope.baseUrl());
			Path in = folderOfImages(1);
			Path out = Files.createDirectories(work.resolve("out"));
			Path printed = work.resolve("fiji.txt");
			ProcessBuilder pb = new ProcessBuilder(java(), ChildJvm.PREFERENCES, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
				InteractiveEditProcess.class.getName(), in.resolve("cell0.tif").toString(), out.toString(), "dashscope",
				"qwen-image-2.0", INSTRUCTION).redirectErrorStream(true).redirectOutput(printed.toFile());
			pb.environment().putAll(env);
			Process fiji = pb.start();
			assertTrue(fiji.waitFor(60, TimeUnit.SECONDS), "Fiji did not end");
			String text = Files.readString(printed);
			assertTrue(text.contains("not enough memory for a 5000") && text.contains("Edit > Options > Memory"), text);
			assertEquals(1, journal(out).size(), "the paid result was not kept for Recover");
			assertEquals(1, dashscope.edits().size());

			JournalRecovery.Report report = recover(out, 0);
			assertEquals(1, report.of(Kind.RECOVERED).size(), report.describe());
			assertEquals(1, dashscope.edits().size(), "the image was sent again");
			assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell0.tif")));
			assertTrue(journal(out).isEmpty());
		}
	}
}
