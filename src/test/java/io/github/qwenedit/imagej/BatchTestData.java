package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import ij.ImagePlus;
import ij.ImageStack;
import ij.process.ByteProcessor;
import io.github.qwenedit.core.OptionText;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.engine.BatchLog;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.images.BatchImages;

/** Images and checks shared by the batch tests of the shell and the Fiji command. */
public final class BatchTestData {

	/** Small enough for 60 edits in a few seconds, large enough for every provider's minimum. */
	public static final int SIDE = 384;

	private BatchTestData() {}

	/**
	 * Inputs of the batch command with every option the dialog remembers set to its default: SciJava
	 * saves each run's values in the preferences (target/java-prefs here), so a test that tried a bad
	 * seed would otherwise hand it to every later test in the same JVM.
	 */
	public static Map<String, Object> batchInputsWithDefaultOptions() {
		Map<String, Object> inputs = new HashMap<>();
		inputs.put("size", OptionText.AS_INPUT);
		inputs.put("outputs", 1);
		inputs.put("seed", OptionText.RANDOM_SEED);
		inputs.put("promptExtend", true);
		inputs.put("staging", "auto");
		inputs.put("negativePrompt", "");
		inputs.put("fileFilter", BatchImages.DEFAULT_FILTER);
		inputs.put("maxCost", 0.0);
		return inputs;
	}

	/** The grey value of plane {@code plane} (1-based) of {@link #stack}: every plane differs. */
	public static int greyOf(int plane) {
		return 10 + 4 * plane;
	}

	/** An 8-bit stack whose plane i is a uniform grey {@link #greyOf(int) greyOf(i)}. */
	public static ImagePlus stack(String title, int planes) {
		ImageStack stack = new ImageStack(SIDE, SIDE);
		for (int i = 1; i <= planes; i++) {
			ByteProcessor plane = new ByteProcessor(SIDE, SIDE);
			plane.setValue(greyOf(i));
			plane.fill();
			stack.addSlice("z" + i, plane);
		}
		ImagePlus imp = new ImagePlus(title, stack);
		imp.setDisplayRange(0, 255);
		return imp;
	}

	/** Plane i of an assembled result came from source plane i: the emulator inverts what it gets. */
	public static void assertAssembledInPlaneOrder(ImagePlus assembled, int planes) {
		assertEquals(planes, assembled.getStackSize());
		for (int i = 1; i <= planes; i++) {
			int rgb = assembled.getStack().getProcessor(i).get(SIDE - 1, SIDE - 1) & 0xFFFFFF;
			int expected = 255 - greyOf(i);
			assertEquals(expected << 16 | expected << 8 | expected, rgb, "plane " + i + " of the assembled stack");
		}
	}

	public static List<JsonNode> logLines(Path out) throws Exception {
		List<JsonNode> lines = new java.util.ArrayList<>();
		for (String line : Files.readAllLines(out.resolve(BatchLog.FILE))) {
			lines.add(Json.MAPPER.readTree(line));
		}
		return lines;
	}

	public static int journalSize(Path out) throws java.io.IOException {
		Path journal = out.resolve(BatchJournal.FOLDER);
		if (!Files.isDirectory(journal)) return 0;
		try (var files = Files.list(journal)) {
			return (int) files.filter(f -> f.toString().endsWith(".json")).count();
		}
	}


	/** Journal entries of jobs the provider has accepted (an entry is written before the submit, its job id after). */
	public static int acceptedJobsInJournal(Path out) throws java.io.IOException {
		Path journal = out.resolve(BatchJournal.FOLDER);
		if (!Files.isDirectory(journal)) return 0;
		int accepted = 0;
		try (var files = Files.list(journal)) {
			for (Path f : (Iterable<Path>) files::iterator) {
				try {
					if (f.toString().endsWith(".json") && Files.readString(f).contains("\"jobId\"")) accepted++;
				}
				catch (java.io.IOException goneMeanwhile) {
					// Cleared between the listing and the read.
				}
			}
		}
		return accepted;
	}
}
