package io.github.qwenedit.codec;

import static io.github.qwenedit.fixtures.PngBytes.pngHeaderOnly;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.InputImage;

public class InputFittingTest {

	static {
		System.setProperty("java.awt.headless", "true");
	}

	private static final long SIX_MIB = 6L * 1024 * 1024;

	@Test
	void aSmallImageIsEnlargedToTheMinimumSide() throws Exception {
		InputFitting.Fitted fitted = InputFitting.fitSides(png("small.tif", gradient(100, 100)), 384, 3072);

		assertSize(384, 384, fitted.image());
		assertEquals("image/png", fitted.image().mimeType());
		assertEquals("small.tif", fitted.image().sourceTitle());
		assertEquals(Optional.of("scaled from 100*100 to 384*384 to fit 384-3072 px per side"), fitted.note());
	}

	@Test
	void aLargeImageIsReducedKeepingItsAspectRatio() throws Exception {
		InputFitting.Fitted fitted = InputFitting.fitSides(png("large.tif", gradient(5000, 4000)), 384, 3072);

		assertSize(3072, 2458, fitted.image());
		assertEquals(Optional.of("scaled from 5000*4000 to 3072*2458 to fit 384-3072 px per side"), fitted.note());
	}

	@Test
	void anImageThatFitsIsSentAsItIs() throws Exception {
		InputImage image = png("fits.tif", gradient(1000, 800));

		InputFitting.Fitted fitted = InputFitting.fitSides(image, 384, 3072);

		assertSame(image, fitted.image());
		assertSame(image.bytes(), fitted.image().bytes());
		assertFalse(fitted.note().isPresent());
	}

	@Test
	void scalingBeforeEncodingSendsTheSameBytesAndRecordsTheSameNote() throws Exception {
		BufferedImage view = noise(4000, 1000, 3);
		InputFitting.Fitted afterEncoding = InputFitting.fitSides(png("wide.tif", view), 384, 3072);

		InputImage beforeEncoding = InputFitting.fitSides(view, "wide.tif", 384, 3072);
		InputFitting.Fitted checked = InputFitting.fitSides(beforeEncoding, 384, 3072);

		assertSize(3072, 768, beforeEncoding);
		assertEquals(afterEncoding.image().sha256(), beforeEncoding.sha256(), "scaled differently before encoding");
		assertEquals("4000*1000", beforeEncoding.sourceSize().toString());
		assertSame(beforeEncoding, checked.image(), "an image scaled before encoding was scaled again");
		assertEquals(Optional.of("scaled from 4000*1000 to 3072*768 to fit 384-3072 px per side"), checked.note());
		assertEquals(afterEncoding.note(), checked.note());
	}

	@Test
	void anImageThatFitsIsEncodedUnscaledWithoutANote() throws Exception {
		InputImage image = InputFitting.fitSides(gradient(1000, 800), "fits.tif", 384, 3072);

		assertSize(1000, 800, image);
		assertEquals("1000*800", image.sourceSize().toString());
		assertFalse(InputFitting.fitSides(image, 384, 3072).note().isPresent());
	}

	@Test
	void anImageTooElongatedForBothLimitsIsClampedAndTheNoteSaysSo() throws Exception {
		InputFitting.Fitted fitted = InputFitting.fitSides(png("line.tif", gradient(20000, 10)), 384, 3072);

		assertSize(3072, 384, fitted.image());
		String note = fitted.note().orElseThrow();
		assertTrue(note.startsWith("scaled from 20000*10 to 3072*384"), note);
		assertTrue(note.contains("aspect ratio"), note);
	}

	@Test
	void shrinkingAveragesFineDetailInsteadOfAliasingIt() throws Exception {
		BufferedImage checkerboard = new BufferedImage(4000, 4000, BufferedImage.TYPE_INT_RGB);
		for (int y = 0; y < 4000; y++) {
			for (int x = 0; x < 4000; x++) {
				if (((x + y) & 1) == 0) checkerboard.setRGB(x, y, 0xffffff);
			}
		}

		BufferedImage scaled = InputFitting.scale(checkerboard, 3072, 3072);

		for (int y = 0; y < 3072; y += 7) {
			for (int x = 0; x < 3072; x += 7) {
				int grey = scaled.getRGB(x, y) & 0xff;
				assertTrue(grey > 64 && grey < 192, "pixel " + x + "," + y + " is " + grey + ", not a mid grey");
			}
		}
	}

	@Test
	void threeNoisyImagesAreShrunkBelowTheRequestBudget() throws Exception {
		List<InputImage> images = new ArrayList<>();
		for (int i = 1; i <= 3; i++) {
			images.add(png("noise" + i + ".tif", noise(3000, 3000, i)));
		}

		InputFitting.FittedSet fitted = InputFitting.fitTotalBytes(images, SIX_MIB);

		long total = 0;
		for (InputImage image : fitted.images()) {
			total += InputFitting.dataUriLength(image);
			assertEquals("image/jpeg", image.mimeType());
			assertTrue(image.width() >= 384 && image.width() < 3000, "width " + image.width());
			assertEquals(image.width(), image.height(), "the aspect ratio is kept");
			BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(image.bytes()));
			assertEquals(image.width(), decoded.getWidth(), "the declared size is the real size");
		}
		assertTrue(total <= SIX_MIB, "data URIs take " + total + " bytes");
		assertEquals(3, fitted.notes().size(), fitted.notes().toString());
		for (int i = 1; i <= 3; i++) {
			String note = fitted.notes().get(i - 1);
			assertTrue(note.startsWith("image " + i + ": re-encoded as JPEG (quality 0.9) and scaled from 3000*3000 to "),
				note);
			assertTrue(note.endsWith("to keep the inline request within 6.0 MiB"), note);
		}
		assertEquals("noise2.tif", fitted.images().get(1).sourceTitle());
	}

	@Test
	void imagesWithinTheBudgetAreLeftAlone() throws Exception {
		List<InputImage> images = List.of(png("a.tif", gradient(400, 400)), png("b.tif", gradient(500, 400)));

		InputFitting.FittedSet fitted = InputFitting.fitTotalBytes(images, SIX_MIB);

		assertSame(images.get(0), fitted.images().get(0));
		assertSame(images.get(1), fitted.images().get(1));
		assertTrue(fitted.notes().isEmpty());
	}

	@Test
	void aBudgetThatCannotBeMetEvenAtTheMinimumSideIsRefused() throws Exception {
		List<InputImage> images = List.of(png("noise.tif", noise(800, 800, 1)));

		EditException e = assertThrows(EditException.class, () -> InputFitting.fitTotalBytes(images, 10_000));

		assertEquals(ErrorKind.STAGING, e.kind());
		assertTrue(e.getMessage().contains("QWEN_EDIT_BUCKET"), e.getMessage());
	}

	@Test
	void aFileOverTheLimitIsFirstRecompressedLosslessly() throws Exception {
		BufferedImage micrograph = noisyGradient(600, 450, 3);
		InputImage image = png("micrograph.tif", micrograph);
		long stronger = PngEncoder.encode(micrograph, java.util.zip.Deflater.DEFAULT_COMPRESSION).length;
		assertTrue(stronger < image.bytes().length, "the scenario needs a stronger compression to help");
		long limit = (stronger + image.bytes().length) / 2;

		InputFitting.FittedSet fitted = InputFitting.fitEachFile(List.of(image), limit, 384, "DashScope qwen-image-2.0");

		InputImage sent = fitted.images().get(0);
		assertTrue(sent.bytes().length <= limit, sent.bytes().length + " bytes");
		assertSize(600, 450, sent);
		assertEquals("image/png", sent.mimeType());
		assertPixelsEqual(micrograph, ImageIO.read(new ByteArrayInputStream(sent.bytes())));
		assertEquals(List.of("image 1: re-compressed losslessly (PNG, stronger compression) to fit the limit of " +
			String.format(java.util.Locale.ROOT, "%.1f MB", limit / 1e6) + " per image file of DashScope qwen-image-2.0"),
			fitted.notes());
	}

	@Test
	void aFileStillOverTheLimitIsScaledDownKeepingItsAspectRatio() throws Exception {
		InputImage small = png("small.tif", gradient(500, 400));
		InputImage noisy = png("noise.tif", noise(1600, 1200, 5));

		InputFitting.FittedSet fitted = InputFitting.fitEachFile(List.of(small, noisy), 2_000_000, 384, "DashScope x");

		assertSame(small, fitted.images().get(0), "a file within the limit keeps its bytes");
		InputImage sent = fitted.images().get(1);
		assertTrue(sent.bytes().length <= 2_000_000, sent.bytes().length + " bytes");
		assertTrue(sent.width() >= 384 && sent.width() < 1600, "width " + sent.width());
		assertEquals(sent.width() * 3, sent.height() * 4, 4, "the aspect ratio is kept");
		assertSize(sent.width(), sent.height(), sent);
		assertEquals("image/png", sent.mimeType());
		assertEquals(1, fitted.notes().size(), fitted.notes().toString());
		String note = fitted.notes().get(0);
		assertTrue(note.startsWith("image 2: ") && note.contains("scaled from 1600*1200 to " + sent.width() + "*" +
			sent.height()) && note.endsWith(" to fit the limit of 2 MB per image file of DashScope x"), note);
	}

	@Test
	void aFileThatCannotFitEvenAtTheMinimumSideIsRefusedInOneSentence() throws Exception {
		InputImage noisy = png("noise.tif", noise(800, 600, 1));

		EditException e = assertThrows(EditException.class,
			() -> InputFitting.fitEachFile(List.of(noisy), 100_000, 384, "DashScope qwen-image-2.0"));

		assertEquals(ErrorKind.INVALID_INPUT, e.kind());
		assertEquals("The image \"noise.tif\" is still 0.6 MB at 512*384 px, over the limit of 0.1 MB per image file " +
			"of DashScope qwen-image-2.0, and cannot be scaled below 384 px per side: send a smaller or smoother image.",
			e.getMessage());
	}

	@Test
	void aDecompressionBombIsRefusedFromItsHeader() {
		byte[] bomb = pngHeaderOnly(40_000, 40_000);
		InputImage image = new InputImage(bomb, "image/png", 40_000, 40_000, "bomb.png");

		EditException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
			() -> assertThrows(EditException.class, () -> InputFitting.fitSides(image, 384, 3072)));

		assertEquals(ErrorKind.INVALID_INPUT, e.kind());
		assertTrue(e.getMessage().contains("40000*40000 pixels (1600.0 megapixels)"), e.getMessage());
		assertEquals(Optional.of(new ImageSize(40_000, 40_000)), InputFitting.readSize(bomb));
		assertThrows(IOException.class, () -> InputFitting.decodeRgb(bomb, InputFitting.MAX_PIXELS));
	}

	@Test
	void bytesThatAreNoImageHaveNoSize() {
		assertEquals(Optional.empty(), InputFitting.readSize("<html>nope</html>".getBytes(StandardCharsets.UTF_8)));
	}

	@Test
	void theDataUriLengthCountsBase64AndThePrefix() {
		InputImage image = new InputImage(new byte[10], "image/png", 1, 1, "");
		String uri = "data:image/png;base64," + java.util.Base64.getEncoder().encodeToString(new byte[10]);

		assertEquals(uri.length(), InputFitting.dataUriLength(image));
	}

	private static void assertSize(int width, int height, InputImage image) throws IOException {
		assertEquals(width, image.width());
		assertEquals(height, image.height());
		BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(image.bytes()));
		assertEquals(width, decoded.getWidth());
		assertEquals(height, decoded.getHeight());
	}

	private static InputImage png(String title, BufferedImage image) {
		return InputImage.png(InputFitting.toPng(image), image.getWidth(), image.getHeight(), title);
	}

	private static BufferedImage gradient(int width, int height) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		int[] row = new int[width];
		for (int x = 0; x < width; x++) {
			int v = x * 255 / Math.max(1, width - 1);
			row[x] = (v << 16) | (v << 8) | (255 - v);
		}
		for (int y = 0; y < height; y++) {
			image.setRGB(0, y, width, 1, row, 0, width);
		}
		return image;
	}

	private static BufferedImage noise(int width, int height, long seed) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		Random random = new Random(seed);
		int[] row = new int[width];
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				row[x] = random.nextInt(0x1000000);
			}
			image.setRGB(0, y, width, 1, row, 0, width);
		}
		return image;
	}

	/** Like a micrograph: smooth structure under a little noise, which a stronger deflate level packs better. */
	private static BufferedImage noisyGradient(int width, int height, long seed) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		Random random = new Random(seed);
		int[] row = new int[width];
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				int v = Math.min(255, (x + y) * 255 / (width + height) + random.nextInt(4));
				row[x] = (v << 16) | (v << 8) | v;
			}
			image.setRGB(0, y, width, 1, row, 0, width);
		}
		return image;
	}

	private static void assertPixelsEqual(BufferedImage expected, BufferedImage actual) {
		for (int y = 0; y < expected.getHeight(); y++) {
			for (int x = 0; x < expected.getWidth(); x++) {
				assertEquals(expected.getRGB(x, y), actual.getRGB(x, y), "pixel " + x + "," + y);
			}
		}
	}
}
