package io.github.qwenedit.imagej;

import static io.github.qwenedit.imagej.MacroRecording.record;
import static io.github.qwenedit.imagej.MacroRecording.recordedInputs;
import static io.github.qwenedit.imagej.MacroRecording.replay;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.scijava.Context;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.module.ModuleItem;

import com.fasterxml.jackson.databind.JsonNode;

import ij.ImagePlus;
import ij.Macro;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.fixtures.BatchTestData;
import io.github.qwenedit.fixtures.TestImages;

/**
 * Record and replay: the option string is written the way ImageJ's recorder writes it for this
 * command (keys lower-cased in the command's declaration order, values with spaces in brackets,
 * the active image not recorded) and read back with ImageJ's own {@link Macro#getValue}. The replayed
 * run must send the provider exactly what the recorded run sent.
 */
class MacroReplayTest {

	private static final String KEY = "sk-macro-test-1111";
	private DashScopeEmulator dashscope;
	private ImagePlus cells;

	@BeforeEach
	void start() {
		dashscope = new DashScopeEmulator(KEY);
		cells = TestImages.pattern("cells.tif", 400, 400);
	}

	@AfterEach
	void stop() {
		dashscope.close();
	}

	private Map<String, String> env() {
		return Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl());
	}

	private JsonNode sent(Map<String, Object> inputs) throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs);
			assertFalse(run.failed(), run.failure());
			return dashscope.lastEdit().body();
		}
	}

	private void assertReplaysIdentically(String instruction, String negativePrompt) throws Exception {
		Map<String, Object> recorded = EditCommandRunner.inputs(cells, "dashscope", "qwen-image-2.0", instruction);
		recorded.put("seed", "42");
		recorded.put("outputs", 2);
		recorded.put("promptExtend", false);
		recorded.put("negativePrompt", negativePrompt);
		JsonNode original = sent(recorded);
		String options = record(recorded);
		JsonNode replayed = sent(replay(options, cells));
		assertEquals(original, replayed, "replay of " + options);
		assertEquals(instruction.strip(), replayed.path("input").path("messages").get(0).path("content").get(1)
			.path("text").asText());
		assertEquals(42, replayed.path("parameters").path("seed").asInt());
		assertEquals(2, replayed.path("parameters").path("n").asInt());
	}

	/** The keys the recorder writes for {@code command}, in order. */
	private static List<String> keys(Class<? extends org.scijava.command.Command> command) {
		List<String> keys = new ArrayList<>();
		for (ModuleItem<?> item : recordedInputs(command)) {
			keys.add(Macro.trimKey(item.getName()));
		}
		return keys;
	}

	/** ImageJ's Macro.getValue finds a key wherever it ends a word: no key may be another's tail. */
	private static void assertUniqueAndNoneTheTailOfAnother(List<String> keys) {
		for (String a : keys) {
			for (String b : keys) {
				if (a.equals(b)) continue;
				int at = b.indexOf(a);
				assertFalse(at > 0 && !Character.isLetter(b.charAt(at - 1)), a + " is the tail of " + b);
				assertFalse(at == 0 && b.length() == a.length(), "duplicate key " + a);
			}
		}
	}

	/** The README's line for {@code title}, its options checked to carry every key of {@code command} in order. */
	private static String readmeMacro(String title, Class<? extends org.scijava.command.Command> command,
		java.util.Set<String> optional) throws java.io.IOException
	{
		String readme = java.nio.file.Files.readString(java.nio.file.Path.of("README.md"));
		java.util.regex.Matcher m = java.util.regex.Pattern.compile("run\\(\"" + java.util.regex.Pattern.quote(title) +
			"\", \"([^\"]*)\"\\);").matcher(readme);
		assertTrue(m.find(), "no recorded " + title + " macro in the README");
		String options = m.group(1);
		int last = -1;
		for (String key : keys(command)) {
			if (optional.contains(key)) continue;
			int at = options.indexOf(key + "=");
			assertTrue(at > last, key + " is missing or out of order in the README's " + title + " macro");
			last = at;
		}
		return options;
	}

	@Test
	void keysAreUniqueAndNoneIsTheTailOfAnother() {
		List<String> keys = keys(EditImagesCommand.class);
		assertUniqueAndNoneTheTailOfAnother(keys);
		assertUniqueAndNoneTheTailOfAnother(keys(EditImagesBatchCommand.class));
		assertUniqueAndNoneTheTailOfAnother(keys(RecoverUnfinishedEditsCommand.class));
		assertEquals("instruction", keys.get(keys.size() - 1), "free text must be recorded last");
		assertEquals("negativeprompt", keys.get(keys.size() - 2), "free text must be recorded last");
	}

	@Test
	void theDialogsAskForTheInstructionFirstThoughTheLineWritesItLast() {
		for (Class<? extends org.scijava.command.Command> command : List.of(EditImagesCommand.class,
			EditImagesBatchCommand.class))
		{
			try (Context context = new Context(CommandService.class)) {
				// SciJava's dialog lays the inputs out in declaration order; a screen of 768 px shows its top.
				String firstAsked = null;
				for (ModuleItem<?> item : context.service(CommandService.class).getCommand(command).inputs()) {
					if (MacroLine.recordedInputs(context.service(CommandService.class).getCommand(command)).contains(item)) {
						firstAsked = item.getName();
						break;
					}
				}
				assertEquals("instruction", firstAsked, command.getSimpleName());
			}
			List<String> keys = keys(command);
			assertEquals("instruction", keys.get(keys.size() - 1), command.getSimpleName());
		}
	}

	@Test
	void theReadmesRecordedMacroCarriesEveryOptionInOrderAndRuns() throws Exception {
		String options = readmeMacro("Edit Images...", EditImagesCommand.class, java.util.Set.of());
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(replay(options, cells));
			assertFalse(run.failed(), run.failure());
			assertEquals("remove the scale bar", dashscope.lastEdit().prompt());
		}
	}

	@Test
	void theReadmesRecordedBatchMacroCarriesEveryOptionInOrderAndRuns(@TempDir java.nio.file.Path work)
		throws Exception
	{
		String options = readmeMacro("Edit Images (Batch)...", EditImagesBatchCommand.class, java.util.Set.of());
		java.nio.file.Path in = java.nio.file.Files.createDirectories(work.resolve("images"));
		for (int i = 0; i < 2; i++) {
			new ij.io.FileSaver(TestImages.pattern("c" + i, 400, 400)).saveAsTiff(in.resolve("c" + i + ".tif")
				.toString());
		}
		java.nio.file.Path out = work.resolve("results");
		String here = options.replace("/path/to/images", in.toString()).replace("/path/to/results", out.toString());
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			org.scijava.module.Module batch = runner.runCommand(EditImagesBatchCommand.class, replay(here, null,
				EditImagesBatchCommand.class));
			assertEquals(0, ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode(),
				((org.scijava.Cancelable) batch).getCancelReason());
			assertEquals(2, dashscope.edits().size());
			assertEquals("remove the scale bar", dashscope.lastEdit().prompt());
			assertEquals(2, BatchTestData.logLines(out).size());
		}
	}

	@Test
	void theReadmesRecordedRecoveryMacroCarriesEveryOptionInOrderAndRuns(@TempDir java.nio.file.Path work)
		throws Exception
	{
		String options = readmeMacro("Recover Unfinished Edits...", RecoverUnfinishedEditsCommand.class,
			java.util.Set.of());
		java.nio.file.Path out = java.nio.file.Files.createDirectories(work.resolve("results"));
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			org.scijava.module.Module recovery = runner.runCommand(RecoverUnfinishedEditsCommand.class, replay(options
				.replace("/path/to/results", out.toString()), null, RecoverUnfinishedEditsCommand.class));
			assertFalse(((org.scijava.Cancelable) recovery).isCanceled(), ((org.scijava.Cancelable) recovery)
				.getCancelReason());
			assertEquals(0, dashscope.requests().size());
		}
	}

	@Test
	void aPlainEditReplays() throws Exception {
		assertReplaysIdentically("remove the scale bar", "");
	}

	@Test
	void optionWordsInsideTheInstructionDoNotHijackTheRealOptions() throws Exception {
		assertReplaysIdentically("remove the bar seed=5 outputs=9 model=qwen-image-edit", "");
	}

	@Test
	void bracketsQuotesCommasEqualsAndNewlinesSurvive() throws Exception {
		assertReplaysIdentically("put [the [red] cell] from \"image 2\", keep x=3,\nthen 'sharpen'", "text, [logos] seed=5");
	}

	@Test
	void textThatWouldReplayDifferentlyIsRefusedBeforeAnyCall() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Map<String, Object> in = EditCommandRunner.inputs(cells, "dashscope", "qwen-image-2.0", "paint it");
			in.put("negativePrompt", "blur instruction=[make it red]");
			assertTrue(runner.run(in).failure().contains("instruction="));
			in = EditCommandRunner.inputs(cells, "dashscope", "qwen-image-2.0", "remove ] the bar");
			assertTrue(runner.run(in).failure().contains("unbalanced"));
			in = EditCommandRunner.inputs(cells, "dashscope", "qwen-image-2.0", "'sharpen'");
			assertTrue(runner.run(in).failure().contains("single quotes"));
			assertEquals(0, dashscope.requests().size());
		}
	}
}
