package io.github.qwenedit.cli;

import io.github.qwenedit.ChildJvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.staging.S3TestServer;

/** The shell command: a folder in, TIFFs and a log out, configured by environment variables only. */
class QwenEditCliTest {

	private static final String KEY = "sk-cli-test-9d0e";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();
	private final S3TestServer s3 = bed.s3();

	@TempDir
	Path work;

	private Path folderOfImages(int count) throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < count; i++) {
			ImagePlus image = TestImages.pattern("cell" + i, 400 + i, 400);
			new FileSaver(image).saveAsTiff(in.resolve("cell" + i + ".tif").toString());
		}
		Files.writeString(in.resolve("notes.txt"), "not an image");
		return in;
	}

	private Outcome runInProcess(Map<String, String> env, String... args) throws Exception {
		return QwenEditCliRunner.run(env, work.resolve("config"), args);
	}

	@Test
	void editsAFolderLogsEachSourceAndResumesWithoutRedoingAnything() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Map<String, String> env = Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl());
			Path in = folderOfImages(5);
			Path out = work.resolve("out");
			String[] args = { "--provider", "dashscope", "--instruction", "remove the scale bar", "--output",
				out.toString(), "--seed", "7", in.toString() };
			Outcome first = runInProcess(env, args);
			assertEquals(0, first.code(), first.err());
			assertTrue(first.out().contains("5 done, 0 failed, 0 skipped"), first.out());
			assertEquals(5, dashscope.edits().size());
			List<String> log = Files.readAllLines(out.resolve(QwenEditCli.LOG_FILE));
			assertEquals(5, log.size());
			assertTrue(log.get(0).contains("\"status\":\"done\"") && log.get(0).contains("\"requestId\""), log.get(0));
			ImagePlus result = IJ.openImage(out.resolve("AI-edit_1_of_cell0.tif").toString());
			assertEquals("7", result.getProp(Provenance.SEED));
			assertEquals("cell0.tif", result.getProp(Provenance.sourceTitle(1)));

			Outcome again = runInProcess(env, args);
			assertEquals(0, again.code());
			assertTrue(again.out().contains("0 done, 0 failed, 5 skipped"), again.out());
			assertEquals(5, dashscope.edits().size(), "a finished source was edited again");
			for (String text : List.of(first.out(), first.err(), String.join("\n", log))) {
				assertFalse(text.contains(KEY));
			}
			try (var saved = Files.list(out)) {
				for (Path file : (Iterable<Path>) saved::iterator) {
					String bytes = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
					assertFalse(bytes.contains(KEY), "the key was written into " + file);
				}
			}
		}
	}

	@Test
	void failuresAreCountedAndTheExitCodeSaysSo() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			dashscope.failNext(DashScopeEmulator.Failure.ARREARAGE);
			Map<String, String> env = Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl());
			Outcome outcome = runInProcess(env, "--provider", "dashscope", "--instruction", "x", "--output",
				work.resolve("out").toString(), "--concurrency", "1", folderOfImages(2).toString());
			assertEquals(1, outcome.code());
			assertTrue(outcome.out().contains("1 done, 1 failed, 0 skipped"), outcome.out());
			assertTrue(outcome.err().contains("overdue bill"), outcome.err());
			Outcome usage = runInProcess(env, "--provider", "dashscope");
			assertEquals(2, usage.code());
			assertTrue(usage.err().contains("--instruction"), usage.err());
		}
	}

	@Test
	void theSameSelectionIsAppliedToEveryImage() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Map<String, String> env = Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl());
			Path in = folderOfImages(2);
			Path out = work.resolve("out");
			Outcome outcome = runInProcess(env, "--provider", "dashscope", "--instruction", "remove the scale bar",
				"--output", out.toString(), "--selection", "100,100,150,150", in.toString());
			assertEquals(0, outcome.code(), outcome.err());
			for (int i = 0; i < 2; i++) {
				int[] source = (int[]) IJ.openImage(in.resolve("cell" + i + ".tif").toString()).getProcessor().getPixels();
				ImagePlus result = IJ.openImage(out.resolve("AI-edit_1_of_cell" + i + ".tif").toString());
				int[] edited = (int[]) result.getProcessor().getPixels();
				int width = result.getWidth();
				int changedInside = 0;
				for (int p = 0; p < edited.length; p++) {
					int x = p % width;
					int y = p / width;
					boolean inside = x >= 100 && x < 250 && y >= 100 && y < 250;
					if (!inside) assertEquals(source[p], edited[p], "a pixel outside the selection moved");
					else if (source[p] != edited[p]) changedInside++;
				}
				assertTrue(changedInside > 10000);
			}
		}
	}

	@Test
	void anEachlabsBatchNeverExceedsTenJobsInFlight() throws Exception {
		try (io.github.qwenedit.emulator.EachLabsEmulator eachlabs = new io.github.qwenedit.emulator.EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(java.time.Duration.ofMillis(500));
			Map<String, String> env = new HashMap<>(s3.env());
			env.put("EACHLABS_API_KEY", KEY);
			env.put("EACHLABS_BASE_URL", eachlabs.baseUrl());
			Outcome outcome = runInProcess(env, "--provider", "eachlabs", "--instruction", "x", "--output",
				work.resolve("out").toString(), "--concurrency", "20", folderOfImages(24).toString());
			assertEquals(0, outcome.code(), outcome.err());
			assertTrue(outcome.out().contains("at most 10 edits at once"), outcome.out());
			assertTrue(outcome.out().contains("24 done, 0 failed"), outcome.out());
			assertTrue(eachlabs.maxConcurrentObserved() <= 10, "more than 10 predictions in flight");
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	/** A batch killed while its jobs run is recovered by the next run: no result lost, no job paid twice. */
	@Test
	void aKilledBatchIsRecoveredWithoutPayingTwice() throws Exception {
		try (io.github.qwenedit.emulator.EachLabsEmulator eachlabs = new io.github.qwenedit.emulator.EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(java.time.Duration.ofSeconds(4));
			Path in = folderOfImages(4);
			Path out = work.resolve("out");
			Map<String, String> env = new HashMap<>(s3.env());
			env.put("EACHLABS_API_KEY", KEY);
			env.put("EACHLABS_BASE_URL", eachlabs.baseUrl());
			env.put(Configuration.CONFIG_DIR, work.resolve("config").toString());
			ProcessBuilder pb = new ProcessBuilder(ChildJvm.JAVA, ChildJvm.PREFERENCES, "-cp",
				System.getProperty("java.class.path"), QwenEditCli.class.getName(), "--provider", "eachlabs", "--instruction",
				"remove the scale bar", "--output", out.toString(), "--concurrency", "4", in.toString())
				.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
			pb.environment().putAll(env);
			Process batch = pb.start();
			Path journal = out.resolve(BatchJournal.FOLDER);
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
			while (journalSize(journal) < 4 && System.nanoTime() < until) {
				Thread.sleep(50);
			}
			assertEquals(4, journalSize(journal), "the jobs were not journalled");
			batch.destroyForcibly();
			assertTrue(batch.waitFor(30, TimeUnit.SECONDS));
			assertTrue(s3.countObjects(s3.prefix()) > 0, "the killed run should have left staged objects");

			Outcome resumed = runInProcess(env, "--provider", "eachlabs", "--instruction", "remove the scale bar", "--output",
				out.toString(), in.toString());
			assertEquals(0, resumed.code(), resumed.out() + resumed.err());
			assertEquals(4, resumed.out().split("recovered ", -1).length - 1, resumed.out());
			assertTrue(resumed.out().contains("0 done, 0 failed, 0 skipped, 4 recovered"), resumed.out());
			assertEquals(4, eachlabs.jobs().size(), "a job was created twice");
			assertEquals(0, journalSize(journal));
			assertEquals(0, s3.countObjects(s3.prefix()), "staged objects left behind");
			for (int i = 0; i < 4; i++) {
				assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell" + i + ".tif")), "result " + i + " lost");
			}
		}
	}

	/** Jobs the provider accepted, as the journal records them (entries written before the submit not counted). */
	private static int journalSize(Path journal) {
		return (int) new BatchJournal(journal.getParent()).entries().stream().filter(e -> e.job != null).count();
	}

	/** Exactly as a shell runs it: a fresh JVM, configured by environment variables alone, through the bucket. */
	@Test
	void runsAsAProgramConfiguredByTheEnvironment() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path in = folderOfImages(2);
			Path out = work.resolve("out");
			List<String> command = new ArrayList<>(List.of(ChildJvm.JAVA, ChildJvm.PREFERENCES,
				"-cp", System.getProperty("java.class.path"), QwenEditCli.class.getName(), "--provider", "dashscope",
				"--instruction", "remove the scale bar", "--output", out.toString(), in.toString()));
			ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
			pb.environment().putAll(s3.env());
			pb.environment().put("DASHSCOPE_API_KEY", KEY);
			pb.environment().put("DASHSCOPE_BASE_URL", dashscope.baseUrl());
			pb.environment().put(Configuration.CONFIG_DIR, work.resolve("config").toString());
			Process process = pb.start();
			assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the command did not finish");
			String printed = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
			assertEquals(0, process.exitValue(), printed);
			assertTrue(printed.contains("2 done, 0 failed, 0 skipped"), printed);
			assertFalse(printed.contains(KEY) || printed.contains(s3.secretAccessKey()), printed);
			assertFalse(dashscope.lastEdit().inputs().get(0).fromDataUri(), "the bucket was not used");
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell1.tif")));
		}
	}

	/** The shell reads a seed and a size as the Fiji commands do, with the same sentence for a bad seed. */
	@Test
	void aSeedAndASizeAreReadAsInFiji() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Map<String, String> env = Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl());
			Path in = folderOfImages(1);
			Outcome badSeed = runInProcess(env, "--provider", "dashscope", "--instruction", "x", "--output",
				work.resolve("out").toString(), "--seed", "seven", in.toString());
			assertEquals(2, badSeed.code());
			assertTrue(badSeed.err().contains(
				"The seed must be a whole number between 0 and 2147483647, or -1 for a random seed (it was \"seven\")."),
				badSeed.err());
			assertEquals(0, dashscope.edits().size());

			Outcome asInput = runInProcess(env, "--provider", "dashscope", "--instruction", "x", "--output",
				work.resolve("out").toString(), "--size", "as input", "--seed", "-1", in.toString());
			assertEquals(0, asInput.code(), asInput.err());
			assertEquals(1, dashscope.edits().size());
		}
	}
}
