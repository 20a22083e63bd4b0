package io.github.qwenedit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ij.io.FileSaver;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.engine.OutputFolderLock;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.imagej.EditCommandRunner;
import io.github.qwenedit.imagej.RecoverUnfinishedEditsCommand;

/**
 * An output folder from someone else with symbolic links planted under the names the plugin writes
 * (the log, the lock, a result): nothing is written through them, so no file appears outside the
 * folder. A planted log or lock stops the run before any call; a planted result name is skipped for
 * the next free one.
 */
class PlantedLinksTest {

	private static final String KEY = "sk-planted-links-1c7e";
	private DashScopeEmulator dashscope;

	@TempDir
	Path work;

	private Path outside;
	private Path in;
	private Map<String, String> env;

	@BeforeEach
	void setUp() throws Exception {
		dashscope = new DashScopeEmulator(KEY);
		env = Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl());
		outside = Files.createDirectories(work.resolve("outside"));
		in = Files.createDirectories(work.resolve("in"));
		new FileSaver(TestImages.pattern("cell", 400, 400)).saveAsTiff(in.resolve("cell.tif").toString());
	}

	@AfterEach
	void stop() {
		dashscope.close();
	}

	private Outcome edit(Path out) throws Exception {
		return QwenEditCliRunner.run(env, work.resolve("config"), "--provider", "dashscope", "--instruction",
			"remove the scale bar", "--output", out.toString(), in.toString());
	}

	private Path folderWithLink(String name, String target) throws Exception {
		Path out = Files.createDirectories(work.resolve("out-" + name.replaceAll("[^a-z]", "")));
		Files.createSymbolicLink(out.resolve(name), outside.resolve(target));
		return out;
	}

	private void assertNothingOutside() throws Exception {
		try (var files = Files.list(outside)) {
			assertEquals(0, files.count(), "a file was written outside the output folder");
		}
	}

	@Test
	void aLinkUnderTheLogsOrTheLocksNameStopsTheRunBeforeAnyCall() throws Exception {
		for (String name : new String[] { QwenEditCli.LOG_FILE, OutputFolderLock.FILE }) {
			Outcome outcome = edit(folderWithLink(name, "stolen-" + name));
			assertEquals(2, outcome.code(), outcome.out() + outcome.err());
			assertTrue(outcome.err().contains(name + " in ") && outcome.err().contains("is a symbolic link"), outcome.err());
			assertNothingOutside();
		}
		assertEquals(0, dashscope.requests().size(), "a call was made");
	}

	/** A journal folder planted as a link to another folder would put the journal there, and a clean-up would remove the link. */
	@Test
	void aLinkUnderTheJournalsNameStopsTheRunBeforeAnyCall() throws Exception {
		Path elsewhere = Files.createDirectories(outside.resolve("someone-elses-folder"));
		Path out = Files.createDirectories(work.resolve("out-journal"));
		Path link = Files.createSymbolicLink(out.resolve(BatchJournal.FOLDER), elsewhere);
		Outcome outcome = edit(out);
		assertEquals(2, outcome.code(), outcome.out() + outcome.err());
		assertTrue(outcome.err().contains(BatchJournal.FOLDER + " in ") && outcome.err().contains("is a symbolic link"),
			outcome.err());
		assertEquals(0, dashscope.requests().size(), "a call was made");
		assertTrue(Files.isSymbolicLink(link), "the planted link was removed");
		try (var files = Files.list(elsewhere)) {
			assertEquals(0, files.count(), "a file was written through the link");
		}
	}

	@Test
	void recoveryRefusesAFolderWhoseLogIsALink() throws Exception {
		Path out = folderWithLink(QwenEditCli.LOG_FILE, "stolen-by-recovery.jsonl");
		try (EditCommandRunner fiji = new EditCommandRunner(env)) {
			Map<String, Object> inputs = new java.util.HashMap<>();
			inputs.put("outputFolder", out.toFile());
			inputs.put("waitSeconds", 0);
			inputs.put("openImages", false);
			org.scijava.module.Module recovery = fiji.runCommand(RecoverUnfinishedEditsCommand.class, inputs);
			String reason = ((org.scijava.Cancelable) recovery).getCancelReason();
			assertTrue(reason != null && reason.contains(QwenEditCli.LOG_FILE + " in ") &&
				reason.contains("is a symbolic link"), reason);
		}
		assertNothingOutside();
	}

	@Test
	void aLinkUnderAResultsNameIsSkippedInTheShellAndInFiji() throws Exception {
		Path out = folderWithLink("AI-edit_1_of_cell.tif", "planted.tif");
		Outcome outcome = edit(out);
		assertEquals(0, outcome.code(), outcome.out() + outcome.err());
		assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell-2.tif")), outcome.out());
		assertNothingOutside();

		Path fijiOut = folderWithLink("AI-edit_1_of_cells.tif", "planted-by-fiji.tif");
		try (EditCommandRunner fiji = new EditCommandRunner(env)) {
			Map<String, Object> inputs = EditCommandRunner.inputs(TestImages.pattern("cells.tif", 400, 400), "dashscope",
				"qwen-image-2.0", "remove the scale bar");
			inputs.put("outputFolder", fijiOut.toFile());
			assertEquals(null, fiji.run(inputs).failure());
		}
		assertTrue(Files.isSymbolicLink(fijiOut.resolve("AI-edit_1_of_cells.tif")));
		assertTrue(Files.isRegularFile(fijiOut.resolve("AI-edit_1_of_cells-2.tif"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
		assertNothingOutside();
		assertFalse(Files.exists(outside.resolve("planted.tif")));
	}
}
