package io.github.qwenedit.emulator;

import java.awt.image.BufferedImage;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferInt;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

import javax.imageio.ImageIO;

/**
 * The deterministic "visibly edited" image every emulator returns in place of a model's output, so an
 * end-to-end test can tell a result from its input and from the other results of the same request.
 *
 * <p>The rule, for output {@code index} (0-based) of size {@code W × H}, made from the first input image
 * {@code src} ({@code w × h}, read through {@link BufferedImage#getRGB}, alpha ignored):
 * <ul>
 * <li>Marker: where {@code x < max(4, W/16)} and {@code y < max(4, H/16)} (integer division), the pixel is
 * {@link #markerRgb(int) markerRgb(index)}: red, green, blue, yellow, magenta, cyan for indices 0–5,
 * repeating after that.</li>
 * <li>Everywhere else: nearest-neighbour scaling then inversion. The source pixel is
 * {@code src(x * w / W, y * h / H)} (integer division, so no rounding question), and each of its R, G, B
 * channels {@code v} becomes {@code 255 - v}.</li>
 * </ul>
 * When no size is asked for, the output takes the size of the LAST input image, as DashScope does
 * ("Same as the input image (or the last image in a multi-image request)", docs/providers.md §1.2).
 * The result is {@code TYPE_INT_RGB}, encoded as 8-bit RGB PNG, so it decodes back to the same values.
 *
 * <p>Note for tests that compare with ImageJ pixel values: {@code getRGB} maps a decoded greyscale PNG
 * through Java's grey colour space, so compare with {@link #expectedRgb} on the decoded image you sent.
 */
public final class FakeEdit {

	private static final int[] MARKER_COLOURS = { 0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0xFF00FF, 0x00FFFF };

	private FakeEdit() {}

	/**
	 * @param inputs the decoded input images, in request order (at least one)
	 * @param width output width, or 0 for the last input's size
	 * @param height output height, or 0 for the last input's size
	 */
	public static BufferedImage render(List<BufferedImage> inputs, int width, int height, int index) {
		BufferedImage last = inputs.get(inputs.size() - 1);
		int w = width > 0 ? width : last.getWidth();
		int h = height > 0 ? height : last.getHeight();
		BufferedImage source = inputs.get(0);
		int sourceWidth = source.getWidth();
		int sourceHeight = source.getHeight();
		// No colour conversion per pixel: the emulator shares the machine with the client it serves,
		// and must not take from it the time a real provider spends on its own machines.
		int[] pixels = packedRgb(source);
		BufferedImage result = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
		int[] out = ((DataBufferInt) result.getRaster().getDataBuffer()).getData();
		for (int y = 0; y < h; y++) {
			int sy = (int) ((long) y * sourceHeight / h);
			for (int x = 0; x < w; x++) {
				int sx = (int) ((long) x * sourceWidth / w);
				out[y * w + x] = inMarker(w, h, x, y) ? markerRgb(index) : inverted(pixels[sy * sourceWidth + sx]);
			}
		}
		return result;
	}

	/**
	 * What {@code getRGB} gives for every pixel of {@code image}, read straight from the bytes for the
	 * layout ImageIO decodes RGB PNGs into.
	 */
	private static int[] packedRgb(BufferedImage image) {
		int width = image.getWidth();
		int height = image.getHeight();
		boolean plainLayout = image.getType() == BufferedImage.TYPE_3BYTE_BGR && image.getRaster().getParent() == null &&
			((ComponentSampleModel) image.getSampleModel()).getScanlineStride() == 3 * width &&
			image.getRaster().getDataBuffer().getOffset() == 0;
		if (!plainLayout) {
			return image.getRGB(0, 0, width, height, null, 0, width);
		}
		byte[] bgr = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
		int[] rgb = new int[width * height];
		for (int i = 0, b = 0; i < rgb.length; i++, b += 3) {
			rgb[i] = 0xff000000 | (bgr[b + 2] & 0xff) << 16 | (bgr[b + 1] & 0xff) << 8 | bgr[b] & 0xff;
		}
		return rgb;
	}

	/** {@link #render} encoded as PNG. */
	public static byte[] renderPng(List<BufferedImage> inputs, int width, int height, int index) {
		ByteArrayOutputStream png = new ByteArrayOutputStream();
		try {
			ImageIO.write(render(inputs, width, height, index), "png", png);
		}
		catch (IOException e) {
			throw new UncheckedIOException("PNG encoding into memory cannot fail", e);
		}
		return png.toByteArray();
	}

	/** The 0xRRGGBB value the rule puts at (x, y) of output {@code index} sized {@code width × height}. */
	public static int expectedRgb(BufferedImage firstInput, int width, int height, int index, int x, int y) {
		if (inMarker(width, height, x, y)) return markerRgb(index);
		int sx = (int) ((long) x * firstInput.getWidth() / width);
		int sy = (int) ((long) y * firstInput.getHeight() / height);
		return inverted(firstInput.getRGB(sx, sy));
	}

	/** Whether (x, y) lies in the index marker of a {@code width × height} output. */
	public static boolean inMarker(int width, int height, int x, int y) {
		return x < Math.max(4, width / 16) && y < Math.max(4, height / 16);
	}

	/** The marker colour of output {@code index}, 0xRRGGBB. */
	public static int markerRgb(int index) {
		return MARKER_COLOURS[Math.floorMod(index, MARKER_COLOURS.length)];
	}

	/** 255 - v for each of R, G, B; alpha dropped. */
	public static int inverted(int argb) {
		return ~argb & 0xFFFFFF;
	}
}
