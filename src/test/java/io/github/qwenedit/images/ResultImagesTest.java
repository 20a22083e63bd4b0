package io.github.qwenedit.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;

import ij.ImagePlus;
import ij.measure.Calibration;
import ij.process.ByteProcessor;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.Hashing;
import io.github.qwenedit.core.OutputImage;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.fixtures.PngBytes;

class ResultImagesTest {

	static {
		System.setProperty("java.awt.headless", "true");
	}

	private static final String PROMPT = "remove the scale bar\nand keep \"the\" cells [1]";

	@Test
	void theResultIsANewRgbImageTitledAsAnAiEdit() throws Exception {
		int[] pixels = randomPixels(20, 10);
		OutputImage out = new OutputImage(png(pixels, 20, 10), "image/png");

		ImagePlus imp = ResultImages.toImagePlus(out, 1, 2, "blobs.gif", provenance());

		assertEquals("AI-edit 1 of blobs.gif", imp.getTitle());
		assertEquals(ImagePlus.COLOR_RGB, imp.getType());
		assertEquals(20, imp.getWidth());
		assertEquals(10, imp.getHeight());
		assertArrayEquals(pixels, (int[]) imp.getProcessor().getPixels());
		assertFalse(imp.changes);
	}

	@Test
	void everyProvenanceEntryCanBeReadBackAsAProperty() throws Exception {
		OutputImage out = new OutputImage(png(randomPixels(20, 10), 20, 10), "image/png");
		Provenance given = provenance();

		ImagePlus imp = ResultImages.toImagePlus(out, 2, 3, "blobs.gif", given);

		assertEquals(PROMPT, imp.getProp(Provenance.PROMPT), "the prompt survives with its newline and quotes");
		assertEquals("DashScope", imp.getProp(Provenance.PROVIDER));
		assertEquals("42", imp.getProp(Provenance.SEED));
		assertEquals("2 of 3", imp.getProp(Provenance.OUTPUT_INDEX));
		assertEquals(Hashing.sha256Hex(out.bytes()), imp.getProp(Provenance.OUTPUT_SHA256));
		assertEquals("true", imp.getProp(Provenance.AI_GENERATED));
		assertEquals(Provenance.IPTC_COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA, imp.getProp(Provenance.DIGITAL_SOURCE_TYPE));
		assertNull(given.get(Provenance.OUTPUT_INDEX), "the caller's provenance is not changed");

		Provenance read = ResultImages.provenanceOf(imp);
		for (String key : given.entries().keySet()) {
			assertEquals(given.get(key), read.get(key), key);
		}
		assertEquals("2 of 3", read.get(Provenance.OUTPUT_INDEX));
	}

	/** What the plugin itself writes into the provenance reads back the same from a saved TIFF. */
	@Test
	void thePluginsOwnProvenanceNotesSurviveASavedTiff(@org.junit.jupiter.api.io.TempDir java.nio.file.Path folder)
		throws Exception
	{
		BufferedImage wide = new BufferedImage(4000, 1000, BufferedImage.TYPE_INT_RGB);
		io.github.qwenedit.core.InputImage sent = io.github.qwenedit.codec.InputFitting.fitSides(wide, "wide.tif", 384, 3072);
		String note = io.github.qwenedit.codec.InputFitting.fitSides(sent, 384, 3072).note().orElseThrow();
		OutputImage out = new OutputImage(png(randomPixels(20, 10), 20, 10), "image/png");
		ImagePlus imp = ResultImages.toImagePlus(out, 1, 1, "wide.tif",
			provenance().put(Provenance.INPUT_ADJUSTMENTS, "image 1: " + note));

		java.io.File saved = ResultFiles.saveAsTiff(List.of(imp), folder.toFile()).get(0);
		ImagePlus reopened = ij.IJ.openImage(saved.getPath());

		assertEquals("image 1: " + note, reopened.getProp(Provenance.INPUT_ADJUSTMENTS));
		assertEquals(PROMPT, reopened.getProp(Provenance.PROMPT));
	}

	@Test
	void theInfoBlockSaysTheImageIsAiGenerated() throws Exception {
		OutputImage out = new OutputImage(png(randomPixels(8, 8), 8, 8), "image/png");

		ImagePlus imp = ResultImages.toImagePlus(out, 1, 1, "blobs.gif", provenance());

		String info = (String) imp.getProperty("Info");
		assertTrue(info.startsWith("AI-generated image (Qwen Image Edit). Not measured data."), info);
		assertTrue(info.contains("DigitalSourceType: " + Provenance.IPTC_COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA), info);
		assertTrue(info.contains(Provenance.PROMPT + ": remove the scale bar and keep"), info);
	}

	@Test
	void aJpegResultIsDecodedToo() throws Exception {
		BufferedImage image = new BufferedImage(30, 20, BufferedImage.TYPE_INT_RGB);
		ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
		ImageIO.write(image, "jpeg", jpeg);

		ImagePlus imp = ResultImages.toImagePlus(new OutputImage(jpeg.toByteArray(), "image/jpeg"), 1, 1, "a.tif",
			provenance());

		assertEquals(30, imp.getWidth());
		assertEquals(20, imp.getHeight());
	}

	@Test
	void bytesThatAreNotAnImageAreRefusedClearly() {
		OutputImage html = new OutputImage("<html><body>Access denied</body></html>".getBytes(StandardCharsets.UTF_8),
			"text/html");

		EditException e = assertThrows(EditException.class,
			() -> ResultImages.toImagePlus(html, 1, 1, "blobs.gif", provenance()));

		assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
		assertTrue(e.getMessage().startsWith("The provider returned something that is not an image"), e.getMessage());
	}

	@Test
	void aDamagedPngIsRefusedAsNotAnImage() throws Exception {
		byte[] whole = png(randomPixels(50, 50), 50, 50);
		byte[] cut = java.util.Arrays.copyOf(whole, 60);

		EditException e = assertThrows(EditException.class,
			() -> ResultImages.toImagePlus(new OutputImage(cut, "image/png"), 1, 1, "x", provenance()));

		assertTrue(e.getMessage().startsWith("The provider returned something that is not an image"), e.getMessage());
	}

	@Test
	void aHugeResultIsRefusedBeforeDecoding() {
		OutputImage bomb = new OutputImage(PngBytes.pngHeaderOnly(30_000, 30_000), "image/png");

		EditException e = assertThrows(EditException.class,
			() -> ResultImages.toImagePlus(bomb, 1, 1, "blobs.gif", provenance()));

		assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind());
		assertTrue(e.getMessage().contains("30000*30000 pixels (900.0 megapixels)"), e.getMessage());
	}

	@Test
	void anUnreadableWebpSaysWhatItIs() {
		byte[] webp = "RIFF\0\0\0\0WEBPVP8 ".getBytes(StandardCharsets.ISO_8859_1);

		EditException e = assertThrows(EditException.class,
			() -> ResultImages.toImagePlus(new OutputImage(webp, "image/webp"), 1, 1, "a", provenance()));

		assertTrue(e.getMessage().contains("WebP"), e.getMessage());
	}

	@Test
	void theSourceCalibrationIsKeptOnlyAtTheSamePixelSize() throws Exception {
		ImagePlus source = new ImagePlus("cells.tif", new ByteProcessor(20, 10));
		Calibration cal = source.getCalibration();
		cal.pixelWidth = 0.25;
		cal.pixelHeight = 0.5;
		cal.setUnit("µm");
		cal.setFunction(Calibration.STRAIGHT_LINE, new double[] { 1, 2 }, "OD");

		ImagePlus same = ResultImages.toImagePlus(new OutputImage(png(randomPixels(20, 10), 20, 10), "image/png"), 1, 2,
			source, provenance());
		ImagePlus larger = ResultImages.toImagePlus(new OutputImage(png(randomPixels(40, 20), 40, 20), "image/png"), 2, 2,
			source, provenance());

		assertEquals("AI-edit 1 of cells.tif", same.getTitle());
		assertEquals(0.25, same.getCalibration().pixelWidth);
		assertEquals(0.5, same.getCalibration().pixelHeight);
		assertEquals("µm", same.getCalibration().getUnit());
		assertFalse(same.getCalibration().calibrated(), "grey-value calibration belongs to the source's pixels only");
		assertFalse(larger.getCalibration().scaled());
		assertEquals(0.25, source.getCalibration().pixelWidth, "the source keeps its own calibration");
	}

	@Test
	void everyOutputOfAResultBecomesItsOwnImage() throws Exception {
		OutputImage first = new OutputImage(png(randomPixels(20, 10), 20, 10), "image/png");
		OutputImage second = new OutputImage(png(randomPixels(20, 10), 20, 10), "image/png");
		EditResult result = new EditResult(List.of(first, second), provenance(), List.of(), new io.github.qwenedit.core.PhaseTimes());
		ImagePlus source = new ImagePlus("blobs.gif", new ByteProcessor(20, 10));

		List<ImagePlus> images = ResultImages.toImagePlus(result, source);

		assertEquals(2, images.size());
		assertEquals("AI-edit 2 of blobs.gif", images.get(1).getTitle());
		assertEquals("2 of 2", images.get(1).getProp(Provenance.OUTPUT_INDEX));
		assertEquals(second.sha256(), images.get(1).getProp(Provenance.OUTPUT_SHA256));
		assertEquals(first.sha256(), images.get(0).getProp(Provenance.OUTPUT_SHA256));
	}

	@Test
	void anUntitledSourceStillGivesARecognisableTitle() {
		assertEquals("AI-edit 3 of untitled", ResultImages.title(3, " "));
	}

	private static Provenance provenance() {
		return new Provenance()
			.put(Provenance.PROVIDER, "DashScope")
			.put(Provenance.MODEL, "qwen-image-edit-plus")
			.put(Provenance.PROMPT, PROMPT)
			.put(Provenance.SEED, "42")
			.put(Provenance.sourceTitle(1), "blobs.gif")
			.put(Provenance.sourceSha256(1), "ab".repeat(32));
	}

	private static int[] randomPixels(int width, int height) {
		int[] pixels = new int[width * height];
		Random random = new Random(width * 31L + height);
		for (int i = 0; i < pixels.length; i++) {
			pixels[i] = random.nextInt(0x1000000);
		}
		return pixels;
	}

	private static byte[] png(int[] pixels, int width, int height) throws Exception {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		image.setRGB(0, 0, width, height, pixels, 0, width);
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		ImageIO.write(image, "png", out);
		return out.toByteArray();
	}
}
