package io.github.qwenedit.cli;

import io.github.qwenedit.ChildJvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import ij.io.FileSaver;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.engine.OutputFolderLock;
import io.github.qwenedit.fixtures.BatchTestData;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.imagej.EditCommandRunner;

/**
 * Two programs writing into one output folder at once: the second (another shell run, or Fiji's
 * Edit Images saving there) is refused before it sends anything, so no image is paid for twice and
 * neither settles the other's journal entries; the first finishes as if alone.
 */
class OutputFolderLockTest {

	private static final String KEY = "sk-folder-lock-6d2e";
	private static final int IMAGES = 3;

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	@TempDir
	Path work;

	private Process start(Map<String, String> env, Path in, Path out, String name) throws Exception {
		ProcessBuilder pb = new ProcessBuilder(ChildJvm.JAVA, ChildJvm.PREFERENCES, "-cp",
			System.getProperty("java.class.path"), QwenEditCli.class.getName(), "--provider", "eachlabs", "--instruction",
			"remove the scale bar", "--output", out.toString(), in.toString()).redirectErrorStream(true)
			.redirectOutput(work.resolve(name + ".txt").toFile());
		pb.environment().putAll(env);
		return pb.start();
	}

	/** Single edits share a folder with each other, never with a batch; the last to end lets it go. */
	@Test
	void singleEditsShareTheFolderAndABatchWaitsForNone() throws Exception {
		Path out = work.resolve("shared");
		try (OutputFolderLock one = OutputFolderLock.share(out); OutputFolderLock two = OutputFolderLock.share(out)) {
			EditException refused = assertThrows(EditException.class, () -> OutputFolderLock.claim(out));
			assertTrue(refused.getMessage().startsWith("Another run is writing into " + out), refused.getMessage());
			// The input was fine: the folder is busy, and the heading says so.
			assertTrue(refused.describe().startsWith("Output folder: Another run"), refused.describe());
			one.close();
			assertThrows(EditException.class, () -> OutputFolderLock.claim(out), "released while an edit still ran");
		}
		try (OutputFolderLock batch = OutputFolderLock.claim(out)) {
			assertThrows(EditException.class, () -> OutputFolderLock.share(out));
		}
		OutputFolderLock.share(out).close();
	}

	@Test
	void aSecondRunIntoTheSameFolderIsRefusedAndNothingIsPaidTwice() throws Exception {
		EachLabsEmulator eachlabs = bed.serve(new EachLabsEmulator(KEY));
		eachlabs.processingDelay(Duration.ofSeconds(25));
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < IMAGES; i++) {
			new FileSaver(TestImages.pattern("cell" + i, BatchTestData.SIDE, BatchTestData.SIDE)).saveAsTiff(in.resolve(
				"cell" + i + ".tif").toString());
		}
		Path out = work.resolve("out");
		Map<String, String> env = bed.env("EACHLABS_API_KEY", KEY, "EACHLABS_BASE_URL", eachlabs);
		env.put(Configuration.CONFIG_DIR, work.resolve("config").toString());
		Process first = start(env, in, out, "first");
		Process second = null;
		try {
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
			while (eachlabs.jobs().size() < IMAGES && System.nanoTime() < until && first.isAlive()) {
				Thread.sleep(50);
			}
			assertEquals(IMAGES, eachlabs.jobs().size(), "the first run did not send its jobs: " + Files.readString(work
				.resolve("first.txt")));

			try (EditCommandRunner fiji = new EditCommandRunner(env)) {
				Map<String, Object> inputs = EditCommandRunner.inputs(TestImages.pattern("cells.tif", 400, 400), "eachlabs",
					EachLabsEmulator.MODEL, "remove the scale bar");
				inputs.put("outputFolder", out.toFile());
				String failure = fiji.run(inputs).failure();
				assertTrue(failure != null && failure.contains("Another run is writing into " + out), failure);
			}
			second = start(env, in, out, "second");
			assertTrue(second.waitFor(60, TimeUnit.SECONDS), "the second run did not end");
			String secondPrinted = Files.readString(work.resolve("second.txt"));
			assertEquals(2, second.exitValue(), secondPrinted);
			assertTrue(secondPrinted.contains("Output folder: Another run is writing into " + out), secondPrinted);

			assertEquals(IMAGES, eachlabs.jobs().size(), "an image was sent while the first run held the folder");

			assertTrue(first.isAlive(), "the first run ended before the others were tried");
			assertTrue(first.waitFor(60, TimeUnit.SECONDS), "the first run did not end");
			String firstPrinted = Files.readString(work.resolve("first.txt"));
			assertEquals(0, first.exitValue(), firstPrinted);
			assertTrue(firstPrinted.contains(IMAGES + " done, 0 failed, 0 skipped"), firstPrinted);
			assertEquals(IMAGES, eachlabs.jobs().size(), "an image was paid for twice");
			List<String> log = Files.readAllLines(out.resolve(QwenEditCli.LOG_FILE));
			assertEquals(IMAGES, log.size(), String.join("\n", log));
			assertEquals(0, BatchTestData.journalSize(out));
		}
		finally {
			first.destroyForcibly();
			if (second != null) second.destroyForcibly();
		}
	}
}
