package io.github.qwenedit.imagej.legacy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Rectangle;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.scijava.command.Command;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.module.Module;
import org.scijava.module.ModuleItem;
import org.scijava.module.ModuleService;
import org.scijava.module.process.PreprocessorPlugin;
import org.scijava.plugin.PluginInfo;
import org.scijava.plugin.PluginService;
import org.scijava.widget.InputHarvester;

import com.fasterxml.jackson.databind.JsonNode;

import ij.IJ;
import ij.ImagePlus;
import ij.WindowManager;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.imagej.EditImagesBatchCommand;
import io.github.qwenedit.imagej.EditImagesCommand;
import io.github.qwenedit.imagej.MacroLine;
import io.github.qwenedit.imagej.RecoverUnfinishedEditsCommand;
import io.github.qwenedit.imagej.SettingsCommand;

/**
 * Macro lines replayed the way Fiji replays them: ImageJ's own interpreter runs the line, the
 * command gets exactly the options the line carries, and everything else SciJava does to a command
 * before it runs (remembered values, the file chooser for a lone file input, the headless UI)
 * happens as it does for a user.
 */
class RecordedLinesReplayTest {

	private static final String KEY = "sk-replay-test-2222";
	private DashScopeEmulator dashscope;
	private ImageJMacros macros;

	@BeforeEach
	void start() {
		dashscope = new DashScopeEmulator(KEY);
		macros = new ImageJMacros(Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl()));
	}

	@AfterEach
	void stop() {
		macros.close();
		dashscope.close();
	}

	/** The README's line for {@code title} (the first one), exactly as written there. */
	private static String readmeLine(String title) throws Exception {
		String readme = Files.readString(Path.of("README.md"));
		Matcher m = Pattern.compile("run\\(\"" + Pattern.quote(title) + "\", \"[^\"]*\"\\);")
			.matcher(readme);
		assertTrue(m.find(), "no " + title + " line in the README");
		return m.group();
	}

	@Test
	void theReadmesSingleEditLineEditsTheActiveImageAndLeavesTheResultCurrent() throws Exception {
		String line = readmeLine("Edit Images...");
		String after = macros.run("newImage(\"cells\", \"8-bit ramp\", 256, 256, 1);\n" + line + "\n" +
			"return getTitle() + \"|\" + Property.get(\"QwenEdit.Model\");");
		assertEquals(1, dashscope.edits().size(), String.join("\n", macros.log()));
		assertEquals("remove the scale bar", dashscope.lastEdit().prompt());
		assertEquals("AI-edit 1 of cells|qwen-image-2.0", after);
		assertEquals("selectImage(\"cells\"); " + line, WindowManager.getCurrentImage().getProp("QwenEdit.MacroLine"),
			"the README's line is the one the command records");
	}

	@Test
	void theReadmesBatchAndRecoveryLinesRunAsWrittenAndAreWhatTheCommandsRecord(@TempDir Path work) throws Exception {
		// Folders with spaces, as a user's often are: the recorded line brackets them.
		Path in = Files.createDirectories(work.resolve("my images"));
		for (int i = 0; i < 2; i++) {
			IJ.saveAsTiff(IJ.createImage("c" + i, "8-bit ramp", 300, 300, 1), in.resolve("c" + i + ".tif").toString());
		}
		Path out = work.resolve("my results");
		for (String title : List.of("Edit Images (Batch)...", "Recover Unfinished Edits...")) {
			String line = readmeLine(title).replace("/path/to/images", in.toString())
				.replace("/path/to/results", out.toString());
			macros.run(line);
			assertFalse(((org.scijava.Cancelable) macros.lastRun()).isCanceled(), String.join("\n", macros.log()));
			assertEquals(line, "run(\"" + title + "\", \"" + io.github.qwenedit.imagej.MacroLine.options(macros.lastRun()) +
				"\");", "the README's line is the one the command records");
		}
		assertEquals(2, dashscope.edits().size(), String.join("\n", macros.log()));
	}

	@Test
	void aLineRecordedWithoutTheOutputFolderRunsWithoutAskingForOne() throws Exception {
		String line = readmeLine("Edit Images...").replace(" outputfolder=[]", "");
		assertFalse(line.contains("outputfolder"), line);
		macros.run("newImage(\"cells\", \"8-bit ramp\", 256, 256, 1);\n" + line);
		assertEquals(1, dashscope.edits().size(), String.join("\n", macros.log()));
	}

	@Test
	void theReadmesFolderMacroEditsEveryFileItOpensAndNoEarlierResult(@TempDir Path work) throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		Map<String, String> sourceHashes = new java.util.TreeMap<>();
		for (int i = 0; i < 5; i++) {
			ImagePlus cells = IJ.createImage("cells_" + i, "8-bit noise", 200 + 10 * i, 200, 1);
			Path file = in.resolve("cells_" + i + ".tif");
			IJ.saveAsTiff(cells, file.toString());
			cells.close();
			sourceHashes.put("cells_" + i + ".tif", null);
		}
		String readme = Files.readString(Path.of("README.md"));
		Matcher m = Pattern.compile("#@ File \\(style=\"directory\"\\) input\n#@ File \\(style=\"directory\"\\) output\n" +
			"(setBatchMode\\(true\\);.*?\n})", Pattern.DOTALL).matcher(readme);
		assertTrue(m.find(), "no folder macro in the README");
		for (int round = 1; round <= 3; round++) {
			Path out = Files.createDirectories(work.resolve("out" + round));
			int before = dashscope.edits().size();
			macros.run("input = \"" + in + "\";\noutput = \"" + out + "\";\n" + m.group(1));
			assertEquals(5, dashscope.edits().size() - before, "round " + round + ": one edit per file");
			List<String> saved;
			try (var files = Files.list(out)) {
				saved = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tif")).sorted()
					.collect(Collectors.toList());
			}
			assertEquals(sourceHashes.keySet().stream().map(n -> "AI-edit_1_of_" + n).collect(Collectors.toList()), saved,
				"round " + round + ": each file's own result, none of an earlier result");
			for (String name : sourceHashes.keySet()) {
				ImagePlus result = IJ.openImage(out.resolve("AI-edit_1_of_" + name).toString());
				assertEquals(name, result.getProp("QwenEdit.Source1.Title"), "round " + round);
				assertEquals(sha256(Files.readAllBytes(in.resolve(name))).length(), 64);
			}
		}
	}

	@Test
	void aModelTheProviderDoesNotOfferIsRefusedWithTheListBeforeAnyCall() throws Exception {
		String line = readmeLine("Edit Images...").replace("model=qwen-image-2.0", "model=qwen-imag-2.0");
		macros.run("newImage(\"cells\", \"8-bit ramp\", 256, 256, 1);\n" + line);
		assertEquals(0, dashscope.edits().size(), "a typo must not bill another model");
		String log = String.join("\n", macros.log());
		assertTrue(log.contains("qwen-imag-2.0") && log.contains("qwen-image-2.0"), log);
	}

	@Test
	void aLineWithoutAModelUsesTheNamedProvidersDefaultNotOneRememberedFromAnotherProvider() throws Exception {
		// A run with another provider (refused for want of its key, after SciJava remembered its inputs).
		String replicate = readmeLine("Edit Images...").replace("provider=dashscope model=qwen-image-2.0",
			"provider=replicate model=qwen/qwen-image-edit");
		macros.run("newImage(\"cells\", \"8-bit ramp\", 256, 256, 1);\n" + replicate);
		assertEquals(0, dashscope.edits().size());
		String withoutModel = readmeLine("Edit Images...").replace(" model=qwen-image-2.0", "");
		macros.run(withoutModel);
		assertEquals(1, dashscope.edits().size(), String.join("\n", macros.log()));
		assertEquals("qwen-image-2.0", dashscope.lastEdit().model());
	}

	@Test
	void noImageOpenIsSaidInTheLog() throws Exception {
		macros.run(readmeLine("Edit Images..."));
		assertEquals(0, dashscope.edits().size());
		assertTrue(macros.log().stream().anyMatch(l -> l.contains("No image to edit")), String.join("\n", macros.log()));
	}

	@Test
	void theLineInAResultsProvenanceReplaysTheSameRequest() throws Exception {
		String instruction = "make the \\\"cell\\\" [left] brighter seed=5 count=9 caf\\351 \\u4e2d\\u6587 a\\\\b";
		String line = readmeLine("Edit Images...").replace("seed=42", "seed=7")
			.replace("instruction=[remove the scale bar]", "instruction=[" + instruction + "]");
		macros.run("newImage(\"cells\", \"8-bit ramp\", 256, 256, 1);\n" +
			line.replace("\\u4e2d\\u6587", "\" + fromCharCode(0x4e2d, 0x6587) + \""));
		String recorded = WindowManager.getCurrentImage().getProp("QwenEdit.MacroLine");
		assertEquals(1, dashscope.edits().size(), String.join("\n", macros.log()));
		JsonNode first = dashscope.lastEdit().body();
		String typed = first.path("input").path("messages").get(0).path("content").get(1).path("text").asText();
		assertEquals("make the \"cell\" [left] brighter seed=5 count=9 caf\u00e9 \u4e2d\u6587 a\\b", typed);
		assertNotNull(recorded);
		assertFalse(recorded.chars().anyMatch(c -> c > 127), "the line is plain ASCII: " + recorded);
		assertTrue(recorded.startsWith("selectImage(\"cells\"); run(\"Edit Images...\""), recorded);
		ImageJMacros.closeAllImages();
		macros.run("newImage(\"cells\", \"8-bit ramp\", 256, 256, 1);\n" + recorded);
		assertEquals(2, dashscope.edits().size(), String.join("\n", macros.log()));
		assertEquals(first, dashscope.lastEdit().body(), "the replayed line sends the same request");
		assertEquals(7, dashscope.lastEdit().body().path("parameters").path("seed").asInt());
	}

	@Test
	void everyCommandTellsImageJLegacyNotToRecordItAsTheModuleItRuns() {
		// imagej-legacy's MacroRecorderPreprocessor asks module.getInfo().is("no-record"); when it is not
		// told, it writes its own line after ours and ImageJ's menu runner a bare one after a cancel.
		for (Class<? extends Command> command : List.of(EditImagesCommand.class, EditImagesBatchCommand.class,
			RecoverUnfinishedEditsCommand.class, SettingsCommand.class))
		{
			CommandInfo info = macros.sciJava().service(CommandService.class).getCommand(command);
			Module module = macros.sciJava().service(ModuleService.class).createModule(info);
			assertTrue(module.getInfo().is("no-record"), command.getSimpleName());
		}
	}

	/** The output folder the Edit Images dialog would show: the command after every step before the dialog. */
	private Object outputFolderTheDialogWouldShow() {
		Module module = beforeTheDialog(IJ.createImage("open", "8-bit ramp", 64, 64, 1));
		assertFalse(module.isInputResolved("outputFolder"), "the dialog asks for the folder");
		return module.getInput("outputFolder");
	}

	/** An Edit Images command on {@code open} after every step before its dialog (which shows the unresolved inputs). */
	private Module beforeTheDialog(ImagePlus open) {
		CommandInfo info = macros.sciJava().service(CommandService.class).getCommand(EditImagesCommand.class);
		Module module = macros.sciJava().service(ModuleService.class).createModule(info);
		WindowManager.setTempCurrentImage(open);
		PluginService plugins = macros.sciJava().service(PluginService.class);
		for (PluginInfo<PreprocessorPlugin> steps : plugins.getPluginsOfType(PreprocessorPlugin.class)) {
			if (steps.getPriority() <= InputHarvester.PRIORITY) break; // the dialog, and what follows it
			PreprocessorPlugin step = plugins.createInstance(steps);
			step.process(module);
			assertFalse(step.isCanceled(), step.getCancelReason());
		}
		assertTrue(module.isInputResolved("image"));
		return module;
	}

	@Test
	void theSelectionOptionsAreAskedOnlyForAnAreaSelectionAndAlwaysRecorded() {
		ModuleItem<?> margin = macros.sciJava().service(CommandService.class).getCommand(EditImagesCommand.class)
			.getInput("contextMargin");
		@SuppressWarnings("unchecked")
		ModuleItem<Double> remembered = (ModuleItem<Double>) margin;
		macros.sciJava().service(ModuleService.class).save(remembered, 0.5);
		try {
			selectionOptionsAskedOnlyForAnAreaSelection();
		}
		finally {
			// The default is not stored: this forgets 0.5 for the tests that follow.
			macros.sciJava().service(ModuleService.class).save(remembered, remembered.getDefaultValue());
		}
	}

	private void selectionOptionsAskedOnlyForAnAreaSelection() {
		Module plain = beforeTheDialog(IJ.createImage("plain", "8-bit ramp", 64, 64, 1));
		assertTrue(plain.isInputResolved("contextMargin") && plain.isInputResolved("featherWidth"),
			"not in the dialog without a selection");
		assertEquals(0.5, plain.getInput("contextMargin"), "the remembered value is kept");
		assertTrue(MacroLine.options(plain).contains(" contextmargin=0.5 featherwidth="), MacroLine.options(plain));
		ImagePlus selected = IJ.createImage("selected", "8-bit ramp", 64, 64, 1);
		selected.setRoi(new Rectangle(8, 8, 20, 20));
		Module withSelection = beforeTheDialog(selected);
		assertFalse(withSelection.isInputResolved("contextMargin") || withSelection.isInputResolved("featherWidth"),
			"in the dialog with an area selection");
		assertEquals(0.5, withSelection.getInput("contextMargin"));
		ImagePlus line = IJ.createImage("line", "8-bit ramp", 64, 64, 1);
		line.setRoi(new ij.gui.Line(1, 1, 40, 40));
		assertTrue(beforeTheDialog(line).isInputResolved("contextMargin"), "a line selection is not edited alone");
	}

	private ModuleItem<?> outputFolderItem() {
		return macros.sciJava().service(CommandService.class).getCommand(EditImagesCommand.class).getInput("outputFolder");
	}

	@Test
	void aLineWithAnEmptyFolderLeavesTheNextDialogsFolderEmptyNotTheApplicationFolder() throws Exception {
		@SuppressWarnings("unchecked")
		ModuleItem<File> folder = (ModuleItem<File>) outputFolderItem();
		macros.sciJava().service(ModuleService.class).save(folder, null);
		String line = readmeLine("Edit Images...").replace("instruction=", "outputfolder=[] instruction=");
		macros.run("newImage(\"cells\", \"8-bit ramp\", 256, 256, 1);\n" + line);
		assertEquals(1, dashscope.edits().size(), String.join("\n", macros.log()));
		assertEquals(null, outputFolderTheDialogWouldShow());
	}

	@Test
	void aRememberedApplicationFolderIsNotOffered() {
		@SuppressWarnings("unchecked")
		ModuleItem<File> folder = (ModuleItem<File>) outputFolderItem();
		macros.sciJava().service(ModuleService.class).save(folder, new File(System.getProperty("user.dir")));
		assertEquals(null, outputFolderTheDialogWouldShow());
		macros.sciJava().service(ModuleService.class).save(folder, null);
	}

	private static String sha256(byte[] bytes) throws Exception {
		return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
	}
}
