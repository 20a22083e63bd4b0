package io.github.qwenedit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.scijava.Cancelable;
import org.scijava.module.Module;

import ij.io.FileSaver;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.fixtures.BatchTestData;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.imagej.EditCommandRunner;
import io.github.qwenedit.imagej.EditImagesBatchCommand;

/**
 * A cost ceiling that compares false with every estimate (NaN, infinity, a negative amount) or a
 * number of edits at once below 1 is refused before anything is sent, in the shell and in Fiji.
 * eachlabs has a list price, so a ceiling is really checked there.
 */
class BatchParametersTest {

	private static final String KEY = "sk-batch-parameters-71ad";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	@TempDir
	Path work;

	private Path oneImage() throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		new FileSaver(TestImages.pattern("cell", BatchTestData.SIDE, BatchTestData.SIDE)).saveAsTiff(in.resolve("cell.tif")
			.toString());
		return in;
	}

	@ParameterizedTest(name = "--{0} {1}")
	@CsvSource({ "max-cost, NaN, cost ceiling", "max-cost, Infinity, cost ceiling", "max-cost, -1, cost ceiling",
		"concurrency, 0, edits at once", "concurrency, -5, edits at once" })
	void theShellCommandRefusesBeforeAnyCall(String option, String value, String words) throws Exception {
		EachLabsEmulator eachlabs = bed.serve(new EachLabsEmulator(KEY));
		Outcome outcome = QwenEditCliRunner.run(bed.env("EACHLABS_API_KEY", KEY, "EACHLABS_BASE_URL", eachlabs),
			work.resolve("config"), "--provider", "eachlabs", "--instruction", "remove the scale bar", "--output",
			work.resolve("out").toString(), "--" + option, value, oneImage().toString());
		assertEquals(2, outcome.code(), outcome.out() + outcome.err());
		assertTrue(outcome.err().contains(words) && outcome.err().contains("nothing was sent"), outcome.err());
		assertEquals(0, eachlabs.jobs().size(), "a paid call was made");
	}

	/** A ceiling of -0 is a ceiling of nothing at all, said as such. */
	@org.junit.jupiter.api.Test
	void aCeilingOfMinusZeroIsZero() throws Exception {
		EachLabsEmulator eachlabs = bed.serve(new EachLabsEmulator(KEY));
		Outcome outcome = QwenEditCliRunner.run(bed.env("EACHLABS_API_KEY", KEY, "EACHLABS_BASE_URL", eachlabs),
			work.resolve("config"), "--provider", "eachlabs", "--instruction", "remove the scale bar", "--output",
			work.resolve("out").toString(), "--max-cost", "-0", oneImage().toString());
		String said = outcome.out() + outcome.err();
		assertTrue(outcome.code() != 0, said);
		assertTrue(said.contains("$0.00") && !said.contains("-0.00"), said);
		assertEquals(0, eachlabs.jobs().size(), "a paid call was made");
	}

	@ParameterizedTest(name = "{0}={1}")
	@CsvSource({ "maxCost, NaN, cost ceiling", "maxCost, Infinity, cost ceiling", "maxCost, -1, cost ceiling",
		"concurrency, 0, edits at once", "concurrency, -5, edits at once" })
	void theFijiBatchCommandRefusesBeforeAnyCall(String parameter, String value, String words) throws Exception {
		EachLabsEmulator eachlabs = bed.serve(new EachLabsEmulator(KEY));
		Map<String, Object> inputs = BatchTestData.batchInputsWithDefaultOptions();
		inputs.put("batchSource", "folder");
		inputs.put("inputFolder", oneImage().toFile());
		inputs.put("outputFolder", work.resolve("out").toFile());
		inputs.put("provider", "eachlabs");
		inputs.put("model", EachLabsEmulator.MODEL);
		inputs.put("concurrency", 4);
		inputs.put("maxCost", 0.0);
		inputs.put("assembleStack", false);
		inputs.put("instruction", "remove the scale bar");
		if (parameter.equals("maxCost")) inputs.put("maxCost", Double.parseDouble(value));
		else inputs.put("concurrency", Integer.parseInt(value));
		try (EditCommandRunner runner = new EditCommandRunner(bed.env("EACHLABS_API_KEY", KEY, "EACHLABS_BASE_URL",
			eachlabs)))
		{
			Module batch = runner.runCommand(EditImagesBatchCommand.class, inputs);
			String reason = ((Cancelable) batch).getCancelReason();
			assertEquals(2, ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode(), reason);
			assertTrue(reason != null && reason.contains(words), reason);
			assertEquals(0, eachlabs.jobs().size(), "a paid call was made");
		}
	}
}
