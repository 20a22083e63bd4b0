package io.github.qwenedit.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Random;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;

/** The inputs sent to a provider keep every pixel, whatever the image holds. */
public class PngEncoderTest {

	static {
		System.setProperty("java.awt.headless", "true");
	}

	@Test
	void noisyImageDecodesToTheSamePixels() throws Exception {
		BufferedImage noise = new BufferedImage(301, 177, BufferedImage.TYPE_INT_RGB);
		Random random = new Random(7);
		for (int y = 0; y < noise.getHeight(); y++) {
			for (int x = 0; x < noise.getWidth(); x++) noise.setRGB(x, y, random.nextInt());
		}
		assertSamePixels(noise, decode(PngEncoder.encode(noise)));
	}

	@Test
	void singlePixelAndSingleRowImagesRoundTrip() throws Exception {
		for (int[] size : new int[][] { { 1, 1 }, { 513, 1 }, { 1, 513 } }) {
			BufferedImage image = new BufferedImage(size[0], size[1], BufferedImage.TYPE_INT_RGB);
			for (int y = 0; y < size[1]; y++) {
				for (int x = 0; x < size[0]; x++) image.setRGB(x, y, (x * 31 + y * 17) * 0x010203);
			}
			assertSamePixels(image, decode(PngEncoder.encode(image)));
		}
	}

	@Test
	void partOfALargerImageIsWrittenAsThatPartOnly() throws Exception {
		BufferedImage whole = gradient(400, 300);
		BufferedImage part = whole.getSubimage(37, 21, 200, 150);
		BufferedImage decoded = decode(PngEncoder.encode(part));
		assertEquals(200, decoded.getWidth());
		assertEquals(150, decoded.getHeight());
		assertSamePixels(part, decoded);
	}

	@Test
	void otherPixelLayoutsAreWrittenAsRgb() throws Exception {
		BufferedImage bgr = new BufferedImage(64, 48, BufferedImage.TYPE_3BYTE_BGR);
		bgr.getGraphics().drawImage(gradient(64, 48), 0, 0, null);
		assertSamePixels(bgr, decode(PngEncoder.encode(bgr)));
	}

	/**
	 * The faster encoding must not make uploads noticeably larger than the JDK's own writer, nor push
	 * an image over an inline-size limit it used to fit.
	 */
	@Test
	void isNoLargerThanTheJdkWriterOnASmoothNoisyImage() throws Exception {
		BufferedImage photoLike = new BufferedImage(512, 512, BufferedImage.TYPE_INT_RGB);
		Random random = new Random(3);
		for (int y = 0; y < 512; y++) {
			for (int x = 0; x < 512; x++) {
				int v = (int) (128 + 60 * Math.sin(x / 37.0) + 40 * Math.cos(y / 23.0) + random.nextInt(9));
				photoLike.setRGB(x, y, v << 16 | (255 - v) << 8 | v / 2);
			}
		}
		ByteArrayOutputStream jdk = new ByteArrayOutputStream();
		ImageIO.write(photoLike, "png", jdk);
		byte[] ours = PngEncoder.encode(photoLike);

		assertSamePixels(photoLike, decode(ours));
		assertTrue(ours.length <= jdk.size() * 1.05, ours.length + " bytes against the JDK's " + jdk.size());
	}

	private static BufferedImage gradient(int width, int height) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) image.setRGB(x, y, (x & 255) << 16 | (y & 255) << 8 | ((x ^ y) & 255));
		}
		return image;
	}

	private static BufferedImage decode(byte[] png) throws Exception {
		BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(png));
		assertTrue(decoded != null, "a PNG reader recognises the bytes");
		return decoded;
	}

	private static void assertSamePixels(BufferedImage expected, BufferedImage actual) {
		assertEquals(expected.getWidth(), actual.getWidth());
		assertEquals(expected.getHeight(), actual.getHeight());
		for (int y = 0; y < expected.getHeight(); y++) {
			for (int x = 0; x < expected.getWidth(); x++) {
				int want = expected.getRGB(x, y) & 0xffffff;
				int got = actual.getRGB(x, y) & 0xffffff;
				if (want != got) {
					throw new AssertionError(String.format("pixel (%d, %d): %06x written, %06x read back", x, y, want, got));
				}
			}
		}
	}
}
