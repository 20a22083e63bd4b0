package io.github.qwenedit.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;

import ij.CompositeImage;
import ij.IJ;
import ij.ImagePlus;
import ij.ImageStack;
import ij.gui.Overlay;
import ij.gui.Roi;
import ij.process.ByteProcessor;
import ij.process.ColorProcessor;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import ij.process.LUT;
import ij.process.ShortProcessor;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;

class ImageEncoderTest {

	static {
		System.setProperty("java.awt.headless", "true");
	}

	/** Within the models' 384-3072 px per side, so these images are sent unscaled, pixel for pixel. */
	private static final int W = 480;
	private static final int H = 400;

	@Test
	void eightBitIsRenderedThroughItsDisplayRange() throws Exception {
		assertRenderedThroughRange(new ByteProcessor(W, H), 50, 150, 40, 100, 200);
	}

	@Test
	void sixteenBitIsRenderedThroughItsDisplayRange() throws Exception {
		assertRenderedThroughRange(new ShortProcessor(W, H), 1000, 5000, 1000, 3000, 60000);
	}

	@Test
	void thirtyTwoBitIsRenderedThroughItsDisplayRange() throws Exception {
		assertRenderedThroughRange(new FloatProcessor(W, H), 0, 1, -3.5, 0.5, 7);
	}

	/** A value below the range is sent black, one in its middle mid-grey, one above it white. */
	private static void assertRenderedThroughRange(ImageProcessor ip, double min, double max, double below,
		double middle, double above) throws Exception
	{
		ip.putPixelValue(0, 0, below);
		ip.putPixelValue(1, 0, middle);
		ip.putPixelValue(2, 0, above);
		ImagePlus imp = new ImagePlus("gray.tif", ip);
		imp.setDisplayRange(min, max);

		int[] sent = encodeAndCheckUnchanged(imp);

		assertGray(0, sent[0]);
		assertGray(128, sent[1]);
		assertGray(255, sent[2]);
	}

	@Test
	void rgbPixelsArriveExactly() throws Exception {
		int[] pixels = new int[W * H];
		Random random = new Random(7);
		for (int i = 0; i < pixels.length; i++) {
			pixels[i] = random.nextInt(0x1000000);
		}
		ImagePlus imp = new ImagePlus("photo.jpg", new ColorProcessor(W, H, pixels.clone()));

		assertArrayEquals(pixels, encodeAndCheckUnchanged(imp));
	}

	@Test
	void indexedColourUsesItsLut() throws Exception {
		byte[] r = new byte[256];
		byte[] g = new byte[256];
		byte[] b = new byte[256];
		for (int i = 0; i < 256; i++) {
			r[i] = (byte) i;
			g[i] = (byte) (255 - i);
			b[i] = (byte) (i * 7);
		}
		ByteProcessor ip = new ByteProcessor(W, H);
		ip.setLut(new LUT(r, g, b));
		ip.set(0, 0, 10);
		ip.set(1, 0, 200);
		ImagePlus imp = new ImagePlus("palette.gif", ip);

		int[] sent = encodeAndCheckUnchanged(imp);

		assertEquals(rgb(10, 245, 70), sent[0]);
		assertEquals(rgb(200, 55, 200 * 7 & 0xff), sent[1]);
	}

	@Test
	void invertedLutIsShownInverted() throws Exception {
		ByteProcessor ip = new ByteProcessor(W, H);
		ip.invertLut();
		ip.set(0, 0, 0);
		ip.set(1, 0, 255);
		ImagePlus imp = new ImagePlus("inverted.tif", ip);

		int[] sent = encodeAndCheckUnchanged(imp);

		assertGray(255, sent[0]);
		assertGray(0, sent[1]);
	}

	@Test
	void compositeModeBlendsTheActiveChannelsWithTheirOwnRanges() throws Exception {
		CompositeImage ci = threeChannels(CompositeImage.COMPOSITE);
		ci.setPosition(2, 1, 1);
		ci.setDisplayRange(0, 200);
		ci.setActiveChannels("110");

		int[] sent = encodeAndCheckUnchanged(ci);

		assertEquals(rgb(200, 128, 0), sent[0], "red channel 1 plus green channel 2 scaled to 0-200, blue is off");
		assertEquals(rgb(200, 0, 0), sent[W - 1], "only channel 1 has signal on the right");
	}

	@Test
	void sixteenBitChannelsAreEachScaledThroughTheirOwnRange() throws Exception {
		ImageStack stack = new ImageStack(W, H);
		for (int value : new int[] { 500, 4000 }) {
			ShortProcessor ip = new ShortProcessor(W, H);
			ip.setValue(value);
			ip.fill();
			stack.addSlice(ip);
		}
		ImagePlus plain = new ImagePlus("cells16.tif", stack);
		plain.setDimensions(2, 1, 1);
		CompositeImage ci = new CompositeImage(plain, CompositeImage.COMPOSITE);
		LUT red = LUT.createLutFromColor(Color.RED);
		red.min = 0;
		red.max = 1000;
		LUT green = LUT.createLutFromColor(Color.GREEN);
		green.min = 0;
		green.max = 4000;
		ci.setLuts(new LUT[] { red, green });

		int[] sent = encodeAndCheckUnchanged(ci);

		assertEquals(rgb(128, 255, 0), sent[0]);
	}

	@Test
	void compositeModeCanTakeTheMaximumInsteadOfTheSum() throws Exception {
		CompositeImage ci = threeChannels(CompositeImage.COMPOSITE);
		ci.setLuts(new LUT[] { solid(Color.WHITE), solid(Color.WHITE), solid(Color.WHITE) });
		ci.setProp("CompositeProjection", "Max");

		int[] sent = encodeAndCheckUnchanged(ci);

		assertGray(200, sent[0]);
	}

	@Test
	void colourModeSendsTheCurrentChannelWithItsLut() throws Exception {
		CompositeImage ci = threeChannels(CompositeImage.COLOR);
		ci.setPosition(2, 1, 1);

		int[] sent = encodeAndCheckUnchanged(ci);

		assertEquals(rgb(0, 100, 0), sent[0]);
	}

	@Test
	void grayscaleModeSendsTheCurrentChannelInGrey() throws Exception {
		CompositeImage ci = threeChannels(CompositeImage.GRAYSCALE);
		ci.setPosition(3, 1, 1);

		int[] sent = encodeAndCheckUnchanged(ci);

		assertGray(50, sent[0]);
	}

	@Test
	void aStackSendsItsCurrentSlice() throws Exception {
		ImageStack stack = new ImageStack(W, H);
		for (int s = 1; s <= 5; s++) {
			ByteProcessor ip = new ByteProcessor(W, H);
			ip.setValue(10 * s);
			ip.fill();
			stack.addSlice("slice " + s, ip);
		}
		ImagePlus imp = new ImagePlus("stack.tif", stack);
		imp.setSlice(3);

		int[] sent = encodeAndCheckUnchanged(imp);

		assertGray(30, sent[0]);
		assertEquals(3, imp.getCurrentSlice());
	}

	@Test
	void aHyperstackSendsItsCurrentPosition() throws Exception {
		ImagePlus imp = IJ.createImage("hyper.tif", "8-bit black", W, H, 1, 3, 4);
		for (int i = 1; i <= imp.getStackSize(); i++) {
			ImageProcessor plane = imp.getStack().getProcessor(i);
			plane.setValue(i);
			plane.fill();
		}
		imp.setPosition(1, 2, 3);
		imp.setDisplayRange(0, 255);

		int[] sent = encodeAndCheckUnchanged(imp);

		assertGray(imp.getStackIndex(1, 2, 3), sent[0]);
	}

	@Test
	void aCompositeHyperstackBlendsTheChannelsAtItsSliceAndFrame() throws Exception {
		ImagePlus plain = IJ.createImage("cells.tif", "8-bit black", W, H, 2, 2, 2);
		for (int c = 1; c <= 2; c++) {
			for (int z = 1; z <= 2; z++) {
				for (int t = 1; t <= 2; t++) {
					ImageProcessor plane = plain.getStack().getProcessor(plain.getStackIndex(c, z, t));
					plane.setValue(c * 100 + z * 10 + t);
					plane.fill();
				}
			}
		}
		CompositeImage ci = new CompositeImage(plain, CompositeImage.COMPOSITE);
		ci.setLuts(new LUT[] { solid(Color.RED), solid(Color.GREEN) });
		ci.setPosition(1, 2, 1);

		int[] sent = encodeAndCheckUnchanged(ci);

		assertEquals(rgb(121, 221, 0), sent[0]);
	}

	@Test
	void overlaysAndSelectionsAreNotBurnedIn() throws Exception {
		ByteProcessor ip = new ByteProcessor(W, H);
		ImagePlus imp = new ImagePlus("annotated.tif", ip);
		Roi box = new Roi(0, 0, 10, 10);
		box.setFillColor(Color.WHITE);
		imp.setOverlay(new Overlay(box));
		imp.setRoi(new Roi(5, 5, 10, 10));
		imp.changes = true;

		int[] sent = encodeAndCheckUnchanged(imp);

		for (int value : sent) {
			assertGray(0, value);
		}
	}

	@Test
	void theSentPngIsTitledAndSizedLikeTheImage() throws Exception {
		ImagePlus imp = new ImagePlus("blobs.gif", new ByteProcessor(W, H));

		InputImage sent = ImageEncoder.encode(imp);

		assertEquals("image/png", sent.mimeType());
		assertEquals("blobs.gif", sent.sourceTitle());
		assertEquals(W, sent.width());
		assertEquals(H, sent.height());
		BufferedImage png = ImageIO.read(new ByteArrayInputStream(sent.bytes()));
		assertEquals(W, png.getWidth());
		assertEquals(3, png.getColorModel().getNumComponents(), "8-bit RGB without alpha");
	}

	@Test
	void aLargeImageIsSentAtTheSizeTheModelsAcceptAndItsOwnSizeIsKeptForTheRecord() throws Exception {
		ByteProcessor ip = new ByteProcessor(4000, 1000);
		ip.setValue(200);
		ip.fill(new Roi(0, 0, 2000, 1000));
		ImagePlus imp = new ImagePlus("wide.tif", ip);
		List<Object> before = state(imp);

		InputImage sent = ImageEncoder.encode(imp);

		assertEquals(before, state(imp), "the original image must not change");
		assertEquals(3072, sent.width());
		assertEquals(768, sent.height());
		assertEquals("4000*1000", sent.sourceSize().toString());
		BufferedImage png = ImageIO.read(new ByteArrayInputStream(sent.bytes()));
		assertEquals(3072, png.getWidth());
		assertGray(200, png.getRGB(100, 400) & 0xffffff);
		assertGray(0, png.getRGB(3000, 400) & 0xffffff);
	}

	@Test
	void noImageOrAFlushedImageIsRefused() {
		EditException none = assertThrows(EditException.class, () -> ImageEncoder.encode(null));
		assertEquals(ErrorKind.INVALID_INPUT, none.kind());
		assertTrue(none.getMessage().startsWith("No image to edit: open an image"), none.getMessage());

		ImagePlus closed = new ImagePlus("gone.tif", new ByteProcessor(W, H));
		closed.flush();
		EditException flushed = assertThrows(EditException.class, () -> ImageEncoder.encode(closed));
		assertTrue(flushed.getMessage().startsWith("No image to edit"), flushed.getMessage());
	}

	/** Channel 1 = 200 everywhere, channel 2 = 100 on the left half, channel 3 = 50 on the left half. */
	private static CompositeImage threeChannels(int mode) {
		ImageStack stack = new ImageStack(W, H);
		int[] values = { 200, 100, 50 };
		for (int c = 0; c < 3; c++) {
			ByteProcessor ip = new ByteProcessor(W, H);
			ip.setValue(values[c]);
			if (c == 0) ip.fill();
			else ip.fill(new Roi(0, 0, W / 2, H));
			stack.addSlice("c" + (c + 1), ip);
		}
		ImagePlus plain = new ImagePlus("channels.tif", stack);
		plain.setDimensions(3, 1, 1);
		CompositeImage ci = new CompositeImage(plain, mode);
		ci.setLuts(new LUT[] { solid(Color.RED), solid(Color.GREEN), solid(Color.BLUE) });
		return ci;
	}

	private static LUT solid(Color color) {
		LUT lut = LUT.createLutFromColor(color);
		lut.min = 0;
		lut.max = 255;
		return lut;
	}

	/**
	 * Encodes {@code imp}, checks that the original is exactly as it was, and returns the sent pixels
	 * as packed RGB read back from the PNG.
	 */
	private static int[] encodeAndCheckUnchanged(ImagePlus imp) throws EditException, IOException {
		List<Object> before = state(imp);
		InputImage sent = ImageEncoder.encode(imp);
		assertEquals(before, state(imp), "the original image must not change");
		BufferedImage png = ImageIO.read(new ByteArrayInputStream(sent.bytes()));
		int[] rgb = png.getRGB(0, 0, png.getWidth(), png.getHeight(), null, 0, png.getWidth());
		for (int i = 0; i < rgb.length; i++) {
			rgb[i] &= 0xffffff;
		}
		return rgb;
	}

	/** Everything about an image that the user could notice changing, in comparable form. */
	private static List<Object> state(ImagePlus imp) {
		List<Object> state = new ArrayList<>();
		ImageProcessor ip = imp.getProcessor();
		if (imp.getStackSize() == 1) {
			state.add(pixelChecksum(ip.getPixels()));
		}
		else {
			for (Object plane : imp.getStack().getImageArray()) {
				if (plane != null) state.add(pixelChecksum(plane));
			}
		}
		state.add(System.identityHashCode(ip));
		state.add(ip.getMin());
		state.add(ip.getMax());
		state.add(ip.getLut() == null ? "no lut" : Arrays.toString(lutBytes(ip.getLut())));
		state.add(imp.getDisplayRangeMin());
		state.add(imp.getDisplayRangeMax());
		if (imp instanceof CompositeImage) {
			CompositeImage ci = (CompositeImage) imp;
			for (LUT lut : ci.getLuts()) {
				state.add(lut.min + ".." + lut.max + " " + Arrays.toString(lutBytes(lut)));
			}
			state.add(ci.getMode());
			state.add(Arrays.toString(ci.getActiveChannels()));
		}
		state.add(Arrays.toString(imp.convertIndexToPosition(imp.getCurrentSlice())));
		state.add(imp.getChannel() + "," + imp.getSlice() + "," + imp.getFrame());
		Roi roi = imp.getRoi();
		state.add(roi == null ? "no roi" : System.identityHashCode(roi) + " " + roi.getBounds());
		state.add(imp.getOverlay() == null ? "no overlay" : imp.getOverlay().size());
		state.add(imp.changes);
		state.add(imp.getTitle());
		String[] props = imp.getPropertiesAsArray();
		state.add(props == null ? "no props" : Arrays.toString(props));
		state.add(String.valueOf(imp.getProperty("Info")));
		return state;
	}

	private static byte[] lutBytes(LUT lut) {
		byte[] bytes = new byte[768];
		lut.getReds(bytes);
		byte[] g = new byte[256];
		byte[] b = new byte[256];
		lut.getGreens(g);
		lut.getBlues(b);
		System.arraycopy(g, 0, bytes, 256, 256);
		System.arraycopy(b, 0, bytes, 512, 256);
		return bytes;
	}

	private static void assertGray(int expected, int packed) {
		assertEquals(rgb(expected, expected, expected), packed,
			() -> String.format("expected grey %d, got #%06x", expected, packed));
	}

	private static int rgb(int r, int g, int b) {
		return (r << 16) | (g << 8) | b;
	}

	private static int pixelChecksum(Object pixels) {
		if (pixels instanceof byte[]) return Arrays.hashCode((byte[]) pixels);
		if (pixels instanceof short[]) return Arrays.hashCode((short[]) pixels);
		if (pixels instanceof float[]) return Arrays.hashCode((float[]) pixels);
		return Arrays.hashCode((int[]) pixels);
	}
}
