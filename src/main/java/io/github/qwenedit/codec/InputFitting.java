package io.github.qwenedit.codec;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.awt.image.DirectColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.zip.Deflater;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.InputImage;

/**
 * Makes input images acceptable to a provider before anything is sent: each side within the
 * model's range, each file within the provider's size limit, and all data URIs together within the
 * request body limit. Every change is
 * described in a sentence for the provenance, so a journal can see what the model really received.
 * Also the one place that decodes untrusted image bytes, always after checking their pixel count
 * from the header alone.
 */
public final class InputFitting {

	/**
	 * Per-side limits of the cloud models' inputs (DashScope documents 384–3072 px); a model states
	 * its own shortest side ({@link io.github.qwenedit.core.ModelSpec#inputMinSide}), so images are
	 * shrunk to the longest side when they are encoded and raised to the shortest once the model is known.
	 */
	public static final int MIN_SIDE = io.github.qwenedit.core.ModelSpec.DEFAULT_INPUT_MIN_SIDE;
	public static final int MAX_SIDE = 3072;
	/**
	 * Above this, decoding alone could exhaust Fiji's memory (4 bytes per pixel), so such bytes are
	 * refused before decoding: a small file can declare a huge image.
	 */
	public static final long MAX_PIXELS = 100_000_000L;
	public static final float JPEG_QUALITY = 0.9f;

	/**
	 * The deflate level that makes a PNG smaller under a file-size limit. On a noisy 3072×3072 image
	 * like a micrograph, the default level saved 14 % over the fastest in about 2 s; the strongest
	 * saved 22 % but took three times as long, per image, which a scaled image would pay again.
	 */
	private static final int LOSSLESS_LEVEL = Deflater.DEFAULT_COMPRESSION;
	/** Never shrink by more than this in one step of the byte budget: enough to end in a few steps. */
	private static final double SMALLEST_STEP = 0.5;
	/** Aim a little below the estimate: encoded size does not shrink exactly with the pixel count. */
	private static final double STEP_MARGIN = 0.95;

	private InputFitting() {}

	/** One image after fitting, with the sentence that says what changed (none when unchanged). */
	public static final class Fitted {
		private final InputImage image;
		private final String note;

		Fitted(InputImage image, String note) {
			this.image = image;
			this.note = note;
		}

		public InputImage image() {
			return image;
		}

		public Optional<String> note() {
			return Optional.ofNullable(note);
		}
	}

	/** Several images after fitting, with one sentence per changed image (naming which). */
	public static final class FittedSet {
		private final List<InputImage> images;
		private final List<String> notes;

		FittedSet(List<InputImage> images, List<String> notes) {
			this.images = Collections.unmodifiableList(new ArrayList<>(images));
			this.notes = Collections.unmodifiableList(new ArrayList<>(notes));
		}

		public List<InputImage> images() {
			return images;
		}

		public List<String> notes() {
			return notes;
		}
	}

	/**
	 * Scales {@code image} so that each side lies in [{@code minSide}, {@code maxSide}], keeping the
	 * aspect ratio; an image too elongated for both limits is clamped and the note says so. An image
	 * that already fits is returned as it is, with the same bytes; its note tells of a scaling done
	 * before it was encoded ({@link #fitSides(BufferedImage, String, int, int)}).
	 */
	public static Fitted fitSides(InputImage image, int minSide, int maxSide) throws EditException {
		checkRange(minSide, maxSide);
		Optional<ImageSize> header = readSize(image.bytes());
		ImageSize size = header.orElse(new ImageSize(image.width(), image.height()));
		ImageSize target = size.withinSides(minSide, maxSide);
		if (target.equals(size)) {
			ImageSize source = image.sourceSize();
			return new Fitted(image, source.equals(size) ? null : scalingNote(source, size, minSide, maxSide));
		}
		if (!header.isPresent()) throw unreadable(image);
		BufferedImage scaled = scale(decode(image), target.width(), target.height());
		return new Fitted(image.withEncoding(toPng(scaled), "image/png", target.width(), target.height()),
			scalingNote(image.sourceSize(), target, minSide, maxSide));
	}

	/**
	 * The PNG of {@code view} with each side in [{@code minSide}, {@code maxSide}], as
	 * {@link #fitSides(InputImage, int, int)} would make it, but scaled before encoding: a large
	 * image is then never held as a full-size PNG and decoded again (for a 4096×4096 image, 64 MiB of
	 * pixels and its PNG less at the peak).
	 */
	public static InputImage fitSides(BufferedImage view, String sourceTitle, int minSide, int maxSide) {
		checkRange(minSide, maxSide);
		ImageSize size = new ImageSize(view.getWidth(), view.getHeight());
		ImageSize target = size.withinSides(minSide, maxSide);
		if (target.equals(size)) return InputImage.png(toPng(view), size.width(), size.height(), sourceTitle);
		BufferedImage scaled = scale(view, target.width(), target.height());
		return InputImage.scaledPng(toPng(scaled), target, sourceTitle, size);
	}

	private static void checkRange(int minSide, int maxSide) {
		if (minSide < 1 || maxSide < minSide) {
			throw new IllegalArgumentException("Side limits " + minSide + "–" + maxSide + " are not a range");
		}
	}

	/** In plain ASCII: ImageJ's TIFF writer garbles some other characters of saved properties. */
	private static String scalingNote(ImageSize from, ImageSize to, int minSide, int maxSide) {
		String note = "scaled from " + from + " to " + to + " to fit " + minSide + "-" + maxSide + " px per side";
		if (!keepsAspect(from, minSide, maxSide)) {
			note += " (its aspect ratio is beyond " + maxSide + ":" + minSide + ", so it was stretched)";
		}
		return note;
	}

	public static FittedSet fitTotalBytes(List<InputImage> images, long maxDataUriBytes) throws EditException {
		return fitTotalBytes(images, maxDataUriBytes, MIN_SIDE);
	}

	/**
	 * Shrinks the images until their data URIs together take at most {@code maxDataUriBytes}: the
	 * largest first, re-encoded as JPEG (quality 0.9) and then scaled down in steps, never below
	 * {@code minSide} px per side. Images are always scaled from their original pixels, so several
	 * steps do not compound blur.
	 */
	public static FittedSet fitTotalBytes(List<InputImage> images, long maxDataUriBytes, int minSide)
		throws EditException
	{
		List<Shrinking> all = new ArrayList<>();
		for (int i = 0; i < images.size(); i++) {
			all.add(new Shrinking(i + 1, images.get(i), Limit.INLINE_REQUEST));
		}
		long total = totalDataUriLength(all);
		while (total > maxDataUriBytes) {
			Shrinking largest = null;
			for (Shrinking s : all) {
				if (s.canShrink && (largest == null || s.measure() > largest.measure())) largest = s;
			}
			if (largest == null) throw tooLargeForInline(total, maxDataUriBytes, minSide);
			largest.shrink(total - maxDataUriBytes, minSide);
			total = totalDataUriLength(all);
		}
		return fittedSet(all, "to keep the inline request within " + mebibytes(maxDataUriBytes));
	}

	/**
	 * Shrinks each image whose file is larger than {@code maxFileBytes}, the provider's limit per
	 * image: first losslessly (PNG at a stronger compression), then scaled down in steps at its
	 * aspect ratio, never below {@code minSide} px per side, by the same steps as
	 * {@link #fitTotalBytes}. Images within the limit keep their bytes.
	 *
	 * @param whoseLimit names the limit in notes and errors, such as "DashScope qwen-image-2.0"
	 */
	public static FittedSet fitEachFile(List<InputImage> images, long maxFileBytes, int minSide, String whoseLimit)
		throws EditException
	{
		List<Shrinking> all = new ArrayList<>();
		for (int i = 0; i < images.size(); i++) {
			Shrinking image = new Shrinking(i + 1, images.get(i), Limit.FILE_SIZE);
			all.add(image);
			while (image.measure() > maxFileBytes) {
				if (!image.canShrink) throw tooLargeFile(image, maxFileBytes, minSide, whoseLimit);
				image.shrink(image.measure() - maxFileBytes, minSide);
			}
			// Decoded, a 3072×3072 image takes 36 MiB: only one is held at a time.
			image.pixels = null;
		}
		return fittedSet(all, "to fit the limit of " + megabytes(maxFileBytes) + " per image file of " + whoseLimit);
	}

	private static FittedSet fittedSet(List<Shrinking> all, String why) {
		List<InputImage> fitted = new ArrayList<>();
		List<String> notes = new ArrayList<>();
		for (Shrinking s : all) {
			fitted.add(s.current);
			s.note(why).ifPresent(notes::add);
		}
		return new FittedSet(fitted, notes);
	}

	/** Length of {@code data:<mime>;base64,<bytes>}, as it counts in a request body. */
	public static long dataUriLength(InputImage image) {
		return "data:;base64,".length() + image.mimeType().length() + 4 * ((image.bytes().length + 2L) / 3);
	}

	/**
	 * The pixel size declared in the header, read without decoding the pixels; empty when Java has
	 * no reader for the bytes (not an image, or a format such as WebP without a plug-in).
	 */
	public static Optional<ImageSize> readSize(byte[] bytes) {
		try {
			return Optional.ofNullable(read(bytes, 0)).map(r -> r.size);
		}
		catch (IOException e) {
			return Optional.empty();
		}
	}

	/**
	 * Decodes bytes whose size was checked with {@link #readSize}; the check is repeated here so a
	 * caller cannot forget it. Transparent areas become white, as most viewers show them.
	 *
	 * @throws IOException when the bytes cannot be decoded or exceed {@code maxPixels}
	 */
	public static BufferedImage decodeRgb(byte[] bytes, long maxPixels) throws IOException {
		BufferedImage common = PngDecoder.decodeRgb8(bytes, maxPixels);
		if (common != null) return common;
		Decoded decoded = read(bytes, maxPixels);
		if (decoded == null) throw new IOException("no image reader recognises these bytes");
		if (decoded.image == null) throw new IOException("the image is " + describe(decoded.size));
		return toRgb(decoded.image);
	}

	/** "5000*4000 pixels (20.0 megapixels)", for messages about size limits. */
	public static String describe(ImageSize size) {
		return size + " pixels (" + String.format(Locale.ROOT, "%.1f", size.pixels() / 1e6) + " megapixels)";
	}

	public static byte[] toPng(BufferedImage image) {
		return PngEncoder.encode(image);
	}

	static byte[] toJpeg(BufferedImage rgb, float quality) {
		ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
			ImageWriteParam param = writer.getDefaultWriteParam();
			param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
			param.setCompressionQuality(quality);
			writer.setOutput(stream);
			writer.write(null, new IIOImage(rgb, null, null), param);
		}
		catch (IOException e) {
			throw new IllegalStateException("Writing to memory cannot fail", e);
		}
		finally {
			writer.dispose();
		}
		return out.toByteArray();
	}

	/**
	 * Resamples each axis on its own: shrinking averages every source pixel by the area it covers
	 * (so fine detail turns grey instead of into moiré, which bilinear sampling gives between 1× and
	 * 2×), enlarging interpolates linearly.
	 */
	static BufferedImage scale(BufferedImage source, int width, int height) {
		BufferedImage rgb = toRgb(source);
		int inWidth = rgb.getWidth();
		int inHeight = rgb.getHeight();
		// The pixels are read and the result wrapped in place: for a 4096×4096 input, each copy avoided is 64 MiB.
		int[] packed = PngEncoder.packedRgb(rgb);
		int[] in = packed != null ? packed : rgb.getRGB(0, 0, inWidth, inHeight, null, 0, inWidth);
		int[] across = resample(in, inWidth, inHeight, Taps.of(inWidth, width), true);
		int[] out = resample(across, width, inHeight, Taps.of(inHeight, height), false);
		DirectColorModel rgbModel = new DirectColorModel(24, 0xff0000, 0xff00, 0xff);
		WritableRaster raster = Raster.createPackedRaster(new DataBufferInt(out, out.length), width, height, width,
			rgbModel.getMasks(), null);
		return new BufferedImage(rgbModel, raster, false, null);
	}

	/** Resamples rows ({@code horizontal}) or columns of a packed RGB image with {@code taps}. */
	private static int[] resample(int[] in, int width, int height, Taps taps, boolean horizontal) {
		int outWidth = horizontal ? taps.size() : width;
		int outHeight = horizontal ? height : taps.size();
		int lines = horizontal ? height : width;
		int step = horizontal ? 1 : width;
		int[] out = new int[outWidth * outHeight];
		for (int line = 0; line < lines; line++) {
			int lineStart = horizontal ? line * width : line;
			for (int o = 0; o < taps.size(); o++) {
				float r = 0, g = 0, b = 0;
				for (int t = 0; t < taps.index[o].length; t++) {
					int p = in[lineStart + taps.index[o][t] * step];
					float w = taps.weight[o][t];
					r += w * ((p >> 16) & 0xff);
					g += w * ((p >> 8) & 0xff);
					b += w * (p & 0xff);
				}
				int target = horizontal ? line * outWidth + o : o * outWidth + line;
				out[target] = (channel(r) << 16) | (channel(g) << 8) | channel(b);
			}
		}
		return out;
	}

	private static int channel(float value) {
		return Math.max(0, Math.min(255, Math.round(value)));
	}

	/** For each output position along one axis, the source positions that make it and their weights. */
	private static final class Taps {
		final int[][] index;
		final float[][] weight;

		private Taps(int size) {
			index = new int[size][];
			weight = new float[size][];
		}

		int size() {
			return index.length;
		}

		static Taps of(int in, int out) {
			Taps taps = new Taps(out);
			double ratio = (double) in / out;
			for (int o = 0; o < out; o++) {
				if (out < in) {
					double start = o * ratio;
					double end = Math.min(in, (o + 1) * ratio);
					int first = (int) Math.floor(start);
					int last = Math.min(in - 1, (int) Math.ceil(end) - 1);
					taps.index[o] = new int[last - first + 1];
					taps.weight[o] = new float[last - first + 1];
					for (int s = first; s <= last; s++) {
						taps.index[o][s - first] = s;
						taps.weight[o][s - first] = (float) ((Math.min(end, s + 1) - Math.max(start, s)) / ratio);
					}
				}
				else {
					double centre = Math.max(0, Math.min(in - 1, (o + 0.5) * ratio - 0.5));
					int left = (int) Math.floor(centre);
					int right = Math.min(in - 1, left + 1);
					float fraction = (float) (centre - left);
					taps.index[o] = new int[] { left, right };
					taps.weight[o] = new float[] { 1 - fraction, fraction };
				}
			}
			return taps;
		}
	}

	private static BufferedImage toRgb(BufferedImage image) {
		if (image.getType() == BufferedImage.TYPE_INT_RGB) return image;
		BufferedImage rgb = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
		Graphics2D g = rgb.createGraphics();
		try {
			g.drawImage(image, 0, 0, Color.WHITE, null);
		}
		finally {
			g.dispose();
		}
		return rgb;
	}

	private static final class Decoded {
		final ImageSize size;
		final BufferedImage image;

		Decoded(ImageSize size, BufferedImage image) {
			this.size = size;
			this.image = image;
		}
	}

	/**
	 * Reads the header, and the pixels too when the header declares at most {@code maxPixels}
	 * (never for 0); null when no reader recognises the bytes.
	 */
	private static Decoded read(byte[] bytes, long maxPixels) throws IOException {
		try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
			Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
			if (!readers.hasNext()) return null;
			ImageReader reader = readers.next();
			try {
				reader.setInput(in, true, true);
				ImageSize size = new ImageSize(reader.getWidth(0), reader.getHeight(0));
				if (size.pixels() > maxPixels) return new Decoded(size, null);
				return new Decoded(size, reader.read(0));
			}
			catch (RuntimeException e) {
				// Readers throw unchecked exceptions on corrupt data; to the caller it is unreadable.
				throw new IOException(e.getMessage(), e);
			}
			finally {
				reader.dispose();
			}
		}
	}

	private static BufferedImage decode(InputImage image) throws EditException {
		Optional<ImageSize> size = readSize(image.bytes());
		if (size.isPresent() && size.get().pixels() > MAX_PIXELS) {
			throw new EditException(ErrorKind.INVALID_INPUT, "The image \"" + image.sourceTitle() + "\" is " +
				describe(size.get()) + "; at most " + MAX_PIXELS / 1_000_000 +
				" megapixels can be prepared. Reduce it first, for example with Image > Scale.");
		}
		try {
			return decodeRgb(image.bytes(), MAX_PIXELS);
		}
		catch (IOException e) {
			throw unreadable(image);
		}
	}

	private static EditException unreadable(InputImage image) {
		return new EditException(ErrorKind.INVALID_INPUT, "The image \"" + image.sourceTitle() + "\" (" +
			image.mimeType() + ") cannot be read by Java, so it cannot be resized to suit the provider. " +
			"Send it as PNG or JPEG.");
	}

	private static boolean keepsAspect(ImageSize size, int min, int max) {
		return (long) Math.max(size.width(), size.height()) * min <= (long) Math.min(size.width(), size.height()) * max;
	}

	private static long totalDataUriLength(List<Shrinking> all) {
		long total = 0;
		for (Shrinking s : all) {
			total += s.measure();
		}
		return total;
	}

	private static EditException tooLargeForInline(long total, long budget, int minSide) {
		return new EditException(ErrorKind.STAGING, "The images are too large to travel inside the request (" +
			mebibytes(total) + " where " + mebibytes(budget) + " fit), even as JPEG at " + minSide +
			" px per side. Configure a bucket (QWEN_EDIT_BUCKET) so they can be sent as links, or send fewer images.");
	}

	private static EditException tooLargeFile(Shrinking image, long limit, int minSide, String whoseLimit) {
		return new EditException(ErrorKind.INVALID_INPUT, "The image \"" + image.original.sourceTitle() + "\" is still " +
			megabytes(image.measure()) + " at " + image.current.width() + "*" + image.current.height() + " px, over the limit of " +
			megabytes(limit) + " per image file of " + whoseLimit + ", and cannot be scaled below " + minSide +
			" px per side: send a smaller or smoother image.");
	}

	private static String mebibytes(long bytes) {
		return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
	}

	/** Decimal megabytes, the unit providers state file-size limits in ("10 MB"). */
	private static String megabytes(long bytes) {
		return bytes % 1_000_000 == 0 ? (bytes / 1_000_000) + " MB"
			: String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
	}

	/** What an image's bytes must fit, which decides how they are measured and made smaller. */
	private enum Limit {
		/** All data URIs together within a request body: JPEG is acceptable to get there. */
		INLINE_REQUEST,
		/** Each file within the provider's limit: lossless first, since the pixels need not change. */
		FILE_SIZE
	}

	/** One image on its way down to a byte budget, remembering what was done to it. */
	private static final class Shrinking {
		final int index;
		final InputImage original;
		final Limit limit;
		InputImage current;
		BufferedImage pixels;
		boolean triedReencoding;
		boolean reencoded;
		boolean canShrink = true;

		Shrinking(int index, InputImage original, Limit limit) {
			this.index = index;
			this.original = original;
			this.limit = limit;
			this.current = original;
		}

		long measure() {
			return limit == Limit.INLINE_REQUEST ? InputFitting.dataUriLength(current) : current.bytes().length;
		}

		/**
		 * One step, aiming to remove {@code excess}: first a smaller encoding of the same pixels
		 * (JPEG for a request, a stronger PNG compression for a file), then a smaller image.
		 */
		void shrink(long excess, int minSide) throws EditException {
			if (pixels == null) pixels = toRgb(decode(original));
			if (!triedReencoding) {
				triedReencoding = true;
				byte[] smaller = reencode(pixels);
				if (smaller != null && smaller.length < current.bytes().length) {
					current = current.withEncoding(smaller, limit == Limit.INLINE_REQUEST ? "image/jpeg" : "image/png",
						current.width(), current.height());
					reencoded = true;
				}
				return;
			}
			long length = measure();
			double wanted = excess < length ? (double) (length - excess) / length : SMALLEST_STEP * SMALLEST_STEP;
			double factor = Math.max(SMALLEST_STEP, Math.sqrt(wanted) * STEP_MARGIN);
			int shortSide = Math.min(current.width(), current.height());
			factor = Math.max(factor, (double) minSide / shortSide);
			int w = (int) Math.round(current.width() * factor);
			int h = (int) Math.round(current.height() * factor);
			if (factor >= 1 || (w == current.width() && h == current.height())) {
				canShrink = false;
				return;
			}
			BufferedImage scaled = scale(pixels, w, h);
			current = current.withEncoding(encodeLike(scaled), current.mimeType(), w, h);
		}

		/** The same pixels in a smaller encoding, or null when this limit allows none. */
		private byte[] reencode(BufferedImage rgb) {
			if (limit == Limit.INLINE_REQUEST) return toJpeg(rgb, JPEG_QUALITY);
			// A JPEG or other file is kept as it is: as PNG it would only grow.
			return current.mimeType().equals("image/png") ? PngEncoder.encode(rgb, LOSSLESS_LEVEL) : null;
		}

		private byte[] encodeLike(BufferedImage scaled) {
			if (current.mimeType().equals("image/jpeg")) return toJpeg(scaled, JPEG_QUALITY);
			return PngEncoder.encode(scaled, limit == Limit.FILE_SIZE ? LOSSLESS_LEVEL : Deflater.BEST_SPEED);
		}

		Optional<String> note(String why) {
			if (current == original) return Optional.empty();
			List<String> changes = new ArrayList<>();
			if (reencoded) {
				changes.add(limit == Limit.INLINE_REQUEST ? "re-encoded as JPEG (quality " + JPEG_QUALITY + ")"
					: "re-compressed losslessly (PNG, stronger compression)");
			}
			if (current.width() != original.width() || current.height() != original.height()) {
				changes.add("scaled from " + original.width() + "*" + original.height() + " to " + current.width() + "*" +
					current.height());
			}
			return Optional.of("image " + index + ": " + String.join(" and ", changes) + " " + why);
		}
	}
}
