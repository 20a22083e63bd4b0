package io.github.qwenedit.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.Deflater;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.fixtures.PngBytes;

/** The fast reader of providers' PNGs gives exactly the pixels the JDK's reader gives, or leaves the PNG to it. */
public class PngDecoderTest {

	static {
		System.setProperty("java.awt.headless", "true");
	}

	private static final long ANY = Long.MAX_VALUE;

	@Test
	void everyRowFilterDecodesToTheOriginalPixelsAsTheJdkReaderDoes() throws Exception {
		for (BufferedImage image : new BufferedImage[] { noise(301, 177, 1), smooth(640, 480) }) {
			byte[] png = png(image.getWidth(), image.getHeight(), filteredRows(image), null, null);

			BufferedImage fast = PngDecoder.decodeRgb8(png, ANY);

			assertNotNull(fast, "an 8-bit RGB PNG was left to the JDK's reader");
			assertEquals(BufferedImage.TYPE_INT_RGB, fast.getType());
			assertArrayEquals(pixels(image), pixels(fast));
			assertArrayEquals(pixels(jdkRead(png)), pixels(fast));
		}
	}

	@Test
	void aPngOfTheJdkWriterDecodesToTheSamePixels() throws Exception {
		BufferedImage image = smooth(333, 222);
		byte[] png = jdkPng(image, false);

		assertArrayEquals(pixels(image), pixels(PngDecoder.decodeRgb8(png, ANY)));
	}

	@Test
	void theEncodersPngsInManyDataChunksDecodeToTheSamePixels() throws Exception {
		BufferedImage image = noise(1000, 700, 2);
		byte[] png = PngEncoder.encode(image);
		assertTrue(count(png, "IDAT") > 10, "one data chunk only");

		assertArrayEquals(pixels(image), pixels(PngDecoder.decodeRgb8(png, ANY)));
		assertArrayEquals(pixels(image), pixels(InputFitting.decodeRgb(png, ANY)));
	}

	@Test
	void otherPngsAndOtherFormatsAreLeftToTheJdkReaderAndDecodeAsBefore() throws Exception {
		BufferedImage translucent = new BufferedImage(40, 30, BufferedImage.TYPE_INT_ARGB);
		Graphics2D g = translucent.createGraphics();
		g.setColor(new Color(255, 0, 0, 128));
		g.fillRect(0, 0, 20, 30);
		g.dispose();
		byte[][] others = {
			jdkPng(translucent, false),
			jdkPng(converted(smooth(40, 30), BufferedImage.TYPE_BYTE_GRAY), false),
			jdkPng(converted(smooth(40, 30), BufferedImage.TYPE_BYTE_INDEXED), false),
			jdkPng(converted(smooth(40, 30), BufferedImage.TYPE_USHORT_GRAY), false),
			jdkPng(smooth(40, 30), true),
			InputFitting.toJpeg(smooth(40, 30), 0.9f),
		};
		for (byte[] other : others) {
			assertNull(PngDecoder.decodeRgb8(other, ANY));
			BufferedImage decoded = InputFitting.decodeRgb(other, ANY);
			assertEquals(40, decoded.getWidth());
			assertEquals(30, decoded.getHeight());
		}
		int halfRedOverWhite = InputFitting.decodeRgb(others[0], ANY).getRGB(5, 5) & 0xffffff;
		assertEquals(0xff, halfRedOverWhite >> 16, "transparency is no longer shown over white");
		assertTrue((halfRedOverWhite & 0xff) > 100 && (halfRedOverWhite & 0xff) < 150, Integer.toHexString(halfRedOverWhite));
	}

	@Test
	void aColourProfileOrATransparentColourLeavesThePngToTheJdkReader() throws Exception {
		byte[] rows = rows(4, 3, 0);
		assertNotNull(PngDecoder.decodeRgb8(png(4, 3, rows, "tEXt", "Comment\0fine".getBytes(StandardCharsets.ISO_8859_1)), ANY));
		assertNull(PngDecoder.decodeRgb8(png(4, 3, rows, "tRNS", new byte[6]), ANY));
		assertNull(PngDecoder.decodeRgb8(png(4, 3, rows, "iCCP", "sRGB\0\0".getBytes(StandardCharsets.ISO_8859_1)), ANY));
	}

	@Test
	void damagedPixelDataIsAnErrorNotAPicture() throws Exception {
		IOException unknownFilter = assertThrows(IOException.class,
			() -> PngDecoder.decodeRgb8(png(4, 3, rows(4, 3, 5), null, null), ANY));
		assertTrue(unknownFilter.getMessage().contains("unknown filter type 5"), unknownFilter.getMessage());

		IOException short_ = assertThrows(IOException.class,
			() -> PngDecoder.decodeRgb8(png(4, 3, Arrays.copyOf(rows(4, 3, 0), 2 * 13), null, null), ANY));
		assertTrue(short_.getMessage().contains("ends at row 2 of 3"), short_.getMessage());

		byte[] whole = PngEncoder.encode(noise(300, 200, 3));
		byte[] cut = Arrays.copyOf(whole, whole.length / 2);
		assertThrows(IOException.class, () -> PngDecoder.decodeRgb8(cut, ANY));
		assertThrows(IOException.class, () -> InputFitting.decodeRgb(cut, ANY));
	}

	@Test
	void aHeaderClaimingTooManyPixelsIsRefusedBeforeAnythingIsAllocated() throws Exception {
		byte[] claims = png(100_000, 100_000, rows(1, 1, 0), null, null);
		IOException refused = assertThrows(IOException.class, () -> PngDecoder.decodeRgb8(claims, InputFitting.MAX_PIXELS));
		assertTrue(refused.getMessage().contains("100000*100000"), refused.getMessage());
	}

	/** Rows of {@code width} grey-ish RGB pixels, each behind the filter byte {@code filter}. */
	private static byte[] rows(int width, int height, int filter) {
		byte[] rows = new byte[(1 + 3 * width) * height];
		for (int y = 0; y < height; y++) {
			rows[y * (1 + 3 * width)] = (byte) filter;
			for (int i = 1; i <= 3 * width; i++) rows[y * (1 + 3 * width) + i] = (byte) (y * 40 + i);
		}
		return rows;
	}

	/** An 8-bit RGB PNG of the given filtered rows, with one extra chunk before the data when named. */
	private static byte[] png(int width, int height, byte[] rows, String extraType, byte[] extraData) {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		out.writeBytes(PngBytes.SIGNATURE);
		PngBytes.chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2).array());
		if (extraType != null) PngBytes.chunk(out, extraType, extraData);
		Deflater deflater = new Deflater();
		deflater.setInput(rows);
		deflater.finish();
		byte[] compressed = new byte[rows.length + 64];
		int length = deflater.deflate(compressed);
		deflater.end();
		PngBytes.chunk(out, "IDAT", Arrays.copyOf(compressed, length));
		PngBytes.chunk(out, "IEND", new byte[0]);
		return out.toByteArray();
	}

	/**
	 * The rows of {@code image} as a PNG encoder writes them, row y with filter type y % 5 (none,
	 * sub, up, average, Paeth: the specification's section 7.3), each filter applied from its
	 * definition.
	 */
	private static byte[] filteredRows(BufferedImage image) {
		int width = image.getWidth();
		int stride = 3 * width;
		byte[] out = new byte[(1 + stride) * image.getHeight()];
		int[] previous = new int[stride];
		for (int y = 0; y < image.getHeight(); y++) {
			int[] row = new int[stride];
			for (int x = 0; x < width; x++) {
				int rgb = image.getRGB(x, y);
				row[3 * x] = rgb >> 16 & 0xff;
				row[3 * x + 1] = rgb >> 8 & 0xff;
				row[3 * x + 2] = rgb & 0xff;
			}
			int filter = y % 5;
			int start = y * (1 + stride);
			out[start] = (byte) filter;
			for (int i = 0; i < stride; i++) {
				int a = i >= 3 ? row[i - 3] : 0;
				int b = previous[i];
				int c = i >= 3 ? previous[i - 3] : 0;
				int predictor;
				if (filter == 0) predictor = 0;
				else if (filter == 1) predictor = a;
				else if (filter == 2) predictor = b;
				else if (filter == 3) predictor = (a + b) / 2;
				else {
					int p = a + b - c;
					int pa = Math.abs(p - a);
					int pb = Math.abs(p - b);
					int pc = Math.abs(p - c);
					predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
				}
				out[start + 1 + i] = (byte) (row[i] - predictor);
			}
			previous = row;
		}
		return out;
	}

	private static int count(byte[] png, String type) {
		int n = 0;
		int at = 8;
		while (at < png.length) {
			int length = ByteBuffer.wrap(png, at, 4).getInt();
			if (new String(png, at + 4, 4, StandardCharsets.US_ASCII).equals(type)) n++;
			at += 12 + length;
		}
		return n;
	}

	private static byte[] jdkPng(BufferedImage image, boolean interlaced) throws IOException {
		ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
			ImageWriteParam param = writer.getDefaultWriteParam();
			param.setProgressiveMode(interlaced ? ImageWriteParam.MODE_DEFAULT : ImageWriteParam.MODE_DISABLED);
			writer.setOutput(stream);
			writer.write(null, new IIOImage(image, null, null), param);
		}
		finally {
			writer.dispose();
		}
		return out.toByteArray();
	}

	/** The JDK's reader, then drawn into packed RGB: the way every PNG was read before. */
	private static BufferedImage jdkRead(byte[] png) throws IOException {
		return converted(ImageIO.read(new ByteArrayInputStream(png)), BufferedImage.TYPE_INT_RGB);
	}

	private static BufferedImage converted(BufferedImage image, int type) {
		BufferedImage target = new BufferedImage(image.getWidth(), image.getHeight(), type);
		Graphics2D g = target.createGraphics();
		g.drawImage(image, 0, 0, null);
		g.dispose();
		return target;
	}

	private static int[] pixels(BufferedImage image) {
		return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
	}

	private static BufferedImage noise(int width, int height, long seed) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		Random random = new Random(seed);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) image.setRGB(x, y, random.nextInt());
		}
		return image;
	}

	private static BufferedImage smooth(int width, int height) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				int v = (int) (128 + 60 * Math.sin(x / 37.0) + 40 * Math.cos(y / 23.0));
				image.setRGB(x, y, v << 16 | (255 - v) << 8 | v / 2);
			}
		}
		return image;
	}

	/** Horizontal and vertical stripes and flat areas, which steer the JDK writer to other filters. */
	private static BufferedImage stripes(int width, int height) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				int rgb = y < height / 3 ? (y % 7) * 0x202020 : y < 2 * height / 3 ? (x % 5) * 0x303030 : 0x808080;
				image.setRGB(x, y, rgb);
			}
		}
		return image;
	}
}
