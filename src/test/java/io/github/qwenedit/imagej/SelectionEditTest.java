package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Polygon;
import java.awt.Rectangle;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import ij.ImagePlus;
import ij.gui.Line;
import ij.gui.OvalRoi;
import ij.gui.PolygonRoi;
import ij.gui.Roi;
import ij.gui.ShapeRoi;
import ij.plugin.filter.EDM;
import ij.process.ByteProcessor;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.fixtures.TestImages;

/** Edits confined to the selection: nothing outside it moves, and the difference map shows where things did. */
class SelectionEditTest {

	private static final String KEY = "sk-selection-test-77";
	private DashScopeEmulator dashscope;

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

	private static Map<String, Object> inputs(ImagePlus image, int feather, boolean showChanges) {
		Map<String, Object> in = EditCommandRunner.inputs(image, "dashscope", "qwen-image-2.0", "remove the scale bar");
		in.put("featherWidth", feather);
		in.put("showChanges", showChanges);
		return in;
	}

	private static List<Roi> selections() {
		Roi rectangle = new Roi(150, 120, 200, 160);
		Roi oval = new OvalRoi(180, 100, 220, 180);
		Roi polygon = new PolygonRoi(new Polygon(new int[] { 120, 400, 330, 160 }, new int[] { 90, 130, 380, 300 }, 4),
			Roi.POLYGON);
		Roi freehand = new PolygonRoi(new Polygon(new int[] { 200, 260, 330, 380, 300, 220 },
			new int[] { 100, 140, 110, 260, 340, 280 }, 6), Roi.FREEROI);
		Roi composite = new ShapeRoi(new Roi(100, 100, 120, 120)).or(new ShapeRoi(new OvalRoi(300, 250, 150, 120)));
		return List.of(rectangle, oval, polygon, freehand, composite);
	}

	private static ByteProcessor mask(Roi roi, int width, int height) {
		ByteProcessor mask = new ByteProcessor(width, height);
		mask.setColor(255);
		mask.fill(roi);
		return mask;
	}

	@Test
	void onlyPixelsInsideEverySelectionTypeChange() throws Exception {
		try (EditCommandRunner runner = runner()) {
			for (Roi roi : selections()) {
				ImagePlus image = TestImages.pattern("cells.tif", 600, 500);
				int[] original = ((int[]) image.getProcessor().getPixels()).clone();
				image.setRoi((Roi) roi.clone());
				EditCommandRunner.Run run = runner.run(inputs(image, 0, false));
				assertFalse(run.failed(), run.failure());
				ImagePlus result = run.results().get(0);
				assertEquals(ImagePlus.COLOR_RGB, result.getType());
				assertEquals(roi.getTypeAsString(), result.getRoi().getTypeAsString(), "the selection is not restored");
				ByteProcessor mask = mask(roi, 600, 500);
				int[] pixels = (int[]) result.getProcessor().getPixels();
				int inside = 0;
				long insideError = 0;
				for (int i = 0; i < pixels.length; i++) {
					if (mask.get(i) == 0) {
						assertEquals(original[i], pixels[i], roi.getTypeAsString() + ": a pixel outside the selection moved at " + i);
					}
					else {
						inside++;
						int inverted = ~original[i] & 0xffffff;
						insideError += Math.abs(((pixels[i] >> 8) & 255) - ((inverted >> 8) & 255));
					}
				}
				assertTrue(inside > 1000);
				assertTrue(insideError / inside < 40, roi.getTypeAsString() + ": inside pixels do not come from the edit, " +
					"mean error " + insideError / inside);
				assertTrue(result.getProp("QwenEdit.Selection").startsWith(roi.getTypeAsString()));
			}
		}
	}

	@Test
	void theFeatheredEdgeStaysWithinItsWidth() throws Exception {
		Roi oval = new OvalRoi(150, 100, 260, 220);
		try (EditCommandRunner runner = runner()) {
			ImagePlus hardImage = TestImages.pattern("cells.tif", 600, 500);
			hardImage.setRoi((Roi) oval.clone());
			int[] hard = (int[]) runner.run(inputs(hardImage, 0, false)).results().get(0).getProcessor().getPixels();
			ImagePlus softImage = TestImages.pattern("cells.tif", 600, 500);
			int[] original = ((int[]) softImage.getProcessor().getPixels()).clone();
			softImage.setRoi((Roi) oval.clone());
			int feather = 6;
			int[] soft = (int[]) runner.run(inputs(softImage, feather, false)).results().get(0).getProcessor().getPixels();
			ByteProcessor mask = mask(oval, 600, 500);
			FloatProcessor distance = new EDM().makeFloatEDM(mask, 0, false);
			int blended = 0;
			for (int i = 0; i < soft.length; i++) {
				if (mask.get(i) == 0) assertEquals(original[i], soft[i], "a pixel outside moved");
				else if (distance.getf(i) > feather + 1) assertEquals(hard[i], soft[i], "the blend reaches beyond its width");
				else if (soft[i] != hard[i]) blended++;
			}
			assertTrue(blended > 100, "no pixels were blended at the edge");
		}
	}

	@Test
	void aGreyImageKeepsItsTypeAndEveryOutsideValue() throws Exception {
		ImagePlus grey = TestImages.pattern("grey.tif", 600, 500);
		ImageProcessor bytes = grey.getProcessor().convertToByte(false);
		ImagePlus image = new ImagePlus("grey.tif", bytes);
		byte[] original = ((byte[]) bytes.getPixels()).clone();
		Roi roi = new OvalRoi(200, 150, 200, 150);
		image.setRoi(roi);
		try (EditCommandRunner runner = runner()) {
			ImagePlus result = runner.run(inputs(image, 3, false)).results().get(0);
			assertEquals(ImagePlus.GRAY8, result.getType());
			byte[] pixels = (byte[]) result.getProcessor().getPixels();
			ByteProcessor mask = mask(roi, 600, 500);
			int changed = 0;
			for (int i = 0; i < pixels.length; i++) {
				if (mask.get(i) == 0) assertEquals(original[i], pixels[i]);
				else if (original[i] != pixels[i]) changed++;
			}
			assertTrue(changed > 1000);
		}
	}

	@Test
	void theDifferenceMapIsZeroOutsideTheSelection() throws Exception {
		ImagePlus image = TestImages.pattern("cells.tif", 600, 500);
		Roi roi = new OvalRoi(180, 100, 220, 180);
		image.setRoi(roi);
		try (EditCommandRunner runner = runner()) {
			List<ImagePlus> results = runner.run(inputs(image, 4, true)).results();
			assertEquals(2, results.size());
			ImagePlus changes = results.get(1);
			assertEquals("AI-edit changes of AI-edit 1 of cells.tif", changes.getTitle());
			assertTrue(changes.getProp("QwenEdit.ChangesBetween").contains("cells.tif"));
			assertTrue(changes.getOverlay() != null && changes.getOverlay().size() > 0, "no calibration bar");
			ByteProcessor mask = mask(roi, 600, 500);
			float[] diff = (float[]) changes.getProcessor().getPixels();
			float inside = 0;
			for (int i = 0; i < diff.length; i++) {
				if (mask.get(i) == 0) assertEquals(0f, diff[i], "change outside the selection at " + i);
				else inside = Math.max(inside, diff[i]);
			}
			assertTrue(inside > 50, "the map shows no change inside");
		}
	}

	@Test
	void aSmallSelectionOnALargeImageSendsOnlyTheRegion() throws Exception {
		ImagePlus large = TestImages.pattern("large.tif", 4000, 3000);
		large.setRoi(new Roi(1900, 1400, 200, 200));
		try (EditCommandRunner runner = runner()) {
			EditCommandRunner.Run run = runner.run(inputs(large, 4, false));
			assertFalse(run.failed(), run.failure());
			var sent = dashscope.lastEdit().inputs().get(0);
			// 200 px plus a quarter on each side is 300 px, scaled up to the 384 px minimum side.
			assertEquals(384, sent.width());
			assertEquals(384, sent.height());
			assertTrue(dashscope.lastEdit().request().bodyLength() < 1_000_000, "more than the region was sent");
			assertTrue(runner.log().stream().anyMatch(l -> l.contains("instead of 4000*3000")), runner.log().toString());
			assertEquals(4000, run.results().get(0).getWidth());
		}
	}

	@Test
	void aLineSelectionIsIgnoredWithANote() throws Exception {
		ImagePlus image = TestImages.pattern("cells.tif", 480, 400);
		image.setRoi(new Line(10, 10, 200, 200));
		try (EditCommandRunner runner = runner()) {
			EditCommandRunner.Run run = runner.run(inputs(image, 4, false));
			assertFalse(run.failed(), run.failure());
			assertEquals(480, dashscope.lastEdit().inputs().get(0).width());
			assertTrue(runner.log().stream().anyMatch(l -> l.contains("not an area")), runner.log().toString());
		}
	}

	@Test
	void aRecordedMacroReplaysWithTheSelection() throws Exception {
		ImagePlus image = TestImages.pattern("cells.tif", 600, 500);
		image.setRoi(new Roi(150, 120, 200, 160)); // as makeRectangle(150, 120, 200, 160) before the run
		try (EditCommandRunner runner = runner()) {
			Map<String, Object> recorded = inputs(image, 4, false);
			runner.run(recorded);
			var first = dashscope.lastEdit().body();
			runner.run(MacroRecording.replay(MacroRecording.record(recorded), image));
			assertEquals(first, dashscope.lastEdit().body());
			assertEquals(new Rectangle(150, 120, 200, 160), image.getRoi().getBounds(), "the run changed the selection");
		}
	}
}
