package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ij.ImagePlus;
import ij.gui.PolygonRoi;
import ij.gui.Roi;
import ij.io.FileSaver;
import io.github.qwenedit.cli.QwenEditCliRunner;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.fixtures.TestImages;

/**
 * A selection that cannot be edited (wholly outside the image, or holding no pixels) is refused
 * before any call, instead of the whole image or one pixel being edited and paid for; a reply with
 * more images than asked for is kept to what was asked, and the rest is said, not downloaded.
 */
class SelectionAndOutputCountTest {

	private static final String KEY = "sk-selection-count-3a0f";
	private DashScopeEmulator dashscope;

	@TempDir
	Path work;

	@BeforeEach
	void start() {
		dashscope = new DashScopeEmulator(KEY);
	}

	@AfterEach
	void stop() {
		dashscope.close();
	}

	private EditCommandRunner runner() {
		return new EditCommandRunner(Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl()));
	}

	private long outputDownloads() {
		return dashscope.requests().stream().filter(r -> r.path().startsWith("/outputs/")).count();
	}

	@Test
	void aSelectionOutsideTheImageOrWithoutPixelsIsRefusedBeforeAnyCall() throws Exception {
		Roi outside = new Roi(900, 900, 50, 50);
		Roi flat = new PolygonRoi(new int[] { 20, 120, 60 }, new int[] { 40, 40, 40 }, 3, Roi.POLYGON);
		try (EditCommandRunner runner = runner()) {
			for (Roi roi : new Roi[] { outside, flat }) {
				ImagePlus image = TestImages.pattern("cells.tif", 400, 300);
				image.setRoi(roi, false);
				assertTrue(image.getRoi() != null, "ImageJ dropped the selection " + roi);
				EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(image, "dashscope", "qwen-image-2.0",
					"remove the scale bar"));
				String failure = run.failure();
				assertTrue(failure != null && failure.startsWith("Invalid input: The selection"), roi + ": " + failure);
				assertTrue(failure.contains(roi == outside ? "lies outside the image of 400*300 pixels" : "holds no pixels"),
					failure);
			}
		}
		assertEquals(0, dashscope.requests().size(), "a paid call was made");
	}

	@Test
	void anEmptyOrOutsideSelectionInTheShellIsRefusedBeforeAnyCall() throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		new FileSaver(TestImages.pattern("cell", 400, 300)).saveAsTiff(in.resolve("cell.tif").toString());
		Map<String, String> env = Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl());
		Outcome empty = QwenEditCliRunner.run(env, work.resolve("config"), "--provider", "dashscope", "--instruction",
			"remove the scale bar", "--output", work.resolve("out").toString(), "--selection", "10,10,0,0", in.toString());
		assertEquals(2, empty.code(), empty.out() + empty.err());
		assertTrue(empty.err().contains("--selection 10,10,0,0 is empty"), empty.err());
		Outcome outside = QwenEditCliRunner.run(env, work.resolve("config"), "--provider", "dashscope", "--instruction",
			"remove the scale bar", "--output", work.resolve("out").toString(), "--selection", "900,900,50,50",
			in.toString());
		assertEquals(1, outside.code(), outside.out() + outside.err());
		assertTrue(outside.err().contains("lies outside the image"), outside.err());
		assertEquals(0, dashscope.requests().size(), "a paid call was made");
	}

	@Test
	void aHundredLinksForOneAskedKeepOneAndSayWhatWasDropped() throws Exception {
		dashscope.linksPerAnswer(100);
		try (EditCommandRunner runner = runner()) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(TestImages.pattern("cells.tif", 400, 300),
				"dashscope", "qwen-image-2.0", "remove the scale bar"));
			assertEquals(null, run.failure());
			assertEquals(1, run.results().size(), "more results than asked for were kept");
			assertEquals(1, outputDownloads(), "links beyond the one asked for were downloaded");
			assertTrue(runner.log().stream().anyMatch(l -> l.contains("DashScope returned 100 images where 1 was asked " +
				"for: only the first was downloaded; the other 99 links were left unopened.")), runner.log()
					.toString());
		}
	}
}
