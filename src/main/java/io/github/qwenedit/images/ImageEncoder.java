package io.github.qwenedit.images;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Image;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;

import ij.CompositeImage;
import ij.ImagePlus;
import ij.ImageStack;
import ij.process.ColorProcessor;
import ij.process.ImageProcessor;
import ij.process.LUT;
import io.github.qwenedit.codec.InputFitting;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.InputImage;

/**
 * Turns an open image into the bytes sent to the provider. The image sent is what the user sees:
 * the current plane, through its display range and LUT, as 8-bit RGB; for a composite image the
 * blend of its active channels. Overlays, selections and threshold colours are not part of it.
 * <p>
 * The original is only read: its pixels, processor, display range, position, selection and
 * "changes" flag stay as they were. That is why the composite blend is done here, on fresh
 * processors, instead of through {@link CompositeImage#updateImage()}: that method belongs to the
 * display, keeps caches in the image and, when the channel has changed, writes that channel's LUT
 * and range into the image's own processor.
 */
public final class ImageEncoder {

	/** Components of a packed RGB value, from the most significant. */
	private static final int[] SHIFTS = { 16, 8, 0 };

	private ImageEncoder() {}

	/**
	 * The current view of {@code imp} as a PNG, titled after the image for the provenance, already
	 * shrunk to the longest side the models accept so that a large image is encoded once, at the size
	 * sent. A small one is raised to the model's shortest side later, by the edit that knows the model.
	 */
	public static InputImage encode(ImagePlus imp) throws EditException {
		return InputFitting.fitSides(render(imp), imp.getTitle(), 1, InputFitting.MAX_SIDE);
	}

	/** The current view of {@code imp}, as a new {@link BufferedImage#TYPE_INT_RGB} image. */
	public static BufferedImage render(ImagePlus imp) throws EditException {
		if (imp == null || !imp.isProcessor()) {
			throw new EditException(ErrorKind.INVALID_INPUT, "No image to edit: open an image and make it the active window.");
		}
		ImageSize size = new ImageSize(imp.getWidth(), imp.getHeight());
		if (size.pixels() > InputFitting.MAX_PIXELS) {
			throw new EditException(ErrorKind.INVALID_INPUT, "The image \"" + imp.getTitle() + "\" is " +
				InputFitting.describe(size) + "; at most " + InputFitting.MAX_PIXELS / 1_000_000 +
				" megapixels can be sent. Reduce it first, for example with Image > Scale.");
		}
		BufferedImage view = new BufferedImage(size.width(), size.height(), BufferedImage.TYPE_INT_RGB);
		int[] target = ((DataBufferInt) view.getRaster().getDataBuffer()).getData();
		ImageProcessor ip = imp.getProcessor();
		if (imp.isComposite()) {
			System.arraycopy(compositeView((CompositeImage) imp), 0, target, 0, target.length);
		}
		else if (ip instanceof ColorProcessor) {
			// Read in place, not from a duplicate: a 4096×4096 RGB image would otherwise be copied twice more.
			copyRgb((int[]) ip.getPixels(), target);
		}
		else {
			drawInto(ip.duplicate(), view);
		}
		return view;
	}

	private static void copyRgb(int[] pixels, int[] target) {
		for (int i = 0; i < pixels.length; i++) {
			target[i] = pixels[i] & 0xffffff;
		}
	}

	/**
	 * What the composite image shows at its current slice and frame. The display ranges come from
	 * the channel LUTs, which is where {@link CompositeImage#getDisplayRangeMin()} reads them too;
	 * the processor of the current channel can lag behind them until the image is next drawn.
	 */
	private static int[] compositeView(CompositeImage ci) {
		int current = ci.getChannel();
		LUT[] luts = ci.getLuts();
		ImageStack stack = ci.getImageStack();
		int mode = ci.getMode();
		if (mode != CompositeImage.COMPOSITE || ci.getNChannels() == 1) {
			LUT lut = luts[current - 1];
			if (mode == CompositeImage.GRAYSCALE) lut = grayscale(lut.min, lut.max);
			return channelView(stack, ci.getStackIndex(current, ci.getSlice(), ci.getFrame()), lut);
		}
		Blend blend = Blend.of(ci.getProp("CompositeProjection"));
		boolean[] active = ci.getActiveChannels();
		int[] blended = null;
		for (int c = 1; c <= ci.getNChannels() && c <= active.length; c++) {
			if (!active[c - 1]) continue;
			int[] channel = channelView(stack, ci.getStackIndex(c, ci.getSlice(), ci.getFrame()), luts[c - 1]);
			if (blended == null) blended = channel;
			else blend.into(blended, channel);
		}
		if (blended == null) {
			blended = new int[ci.getWidth() * ci.getHeight()];
			if (blend == Blend.MIN) java.util.Arrays.fill(blended, 0xffffff);
		}
		return blended;
	}

	/** A fresh processor for one stack plane, so the LUT is set on it and not on the image's own. */
	private static int[] channelView(ImageStack stack, int index, LUT lut) {
		ImageProcessor plane = stack.getProcessor(index);
		plane.setLut(lut);
		return planeView(plane);
	}

	/** {@code plane} rendered through its own LUT and display range; {@code plane} must be a copy. */
	private static int[] planeView(ImageProcessor plane) {
		BufferedImage rgb = new BufferedImage(plane.getWidth(), plane.getHeight(), BufferedImage.TYPE_INT_RGB);
		if (plane instanceof ColorProcessor) {
			copyRgb((int[]) plane.getPixels(), ((DataBufferInt) rgb.getRaster().getDataBuffer()).getData());
		}
		else {
			drawInto(plane, rgb);
		}
		return ((DataBufferInt) rgb.getRaster().getDataBuffer()).getData();
	}

	/** Draws {@code plane} through its LUT and display range onto {@code target}; {@code plane} must be a copy. */
	private static void drawInto(ImageProcessor plane, BufferedImage target) {
		Image indexed = plane.createImage();
		Graphics2D g = target.createGraphics();
		try {
			g.drawImage(indexed, 0, 0, Color.BLACK, null);
		}
		finally {
			g.dispose();
		}
	}

	private static LUT grayscale(double min, double max) {
		LUT gray = LUT.createLutFromColor(Color.WHITE);
		gray.min = min;
		gray.max = max;
		return gray;
	}

	/**
	 * How ImageJ merges the channels of a composite image, chosen by its "CompositeProjection"
	 * property (Image > Color > Channels Tool): summed by default, or max, min, or inverted.
	 */
	private enum Blend {
		SUM, MAX, MIN,
		/** For inverted LUTs: each channel darkens the white background, 255 - Σ(255 - c). */
		INVERT;

		static Blend of(String projection) {
			if (projection == null) return SUM;
			String p = projection.toLowerCase(java.util.Locale.ROOT);
			if (p.contains("max")) return MAX;
			if (p.contains("min")) return MIN;
			if (p.contains("invert")) return INVERT;
			return SUM;
		}

		void into(int[] blended, int[] channel) {
			for (int i = 0; i < blended.length; i++) {
				int result = 0;
				for (int shift : SHIFTS) {
					int a = (blended[i] >> shift) & 0xff;
					int b = (channel[i] >> shift) & 0xff;
					result |= component(a, b) << shift;
				}
				blended[i] = result;
			}
		}

		private int component(int a, int b) {
			switch (this) {
				case MAX:
					return Math.max(a, b);
				case MIN:
					return Math.min(a, b);
				case INVERT:
					return Math.max(0, a + b - 255);
				case SUM:
				default:
					return Math.min(255, a + b);
			}
		}
	}
}
