package io.github.qwenedit.images;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import ij.ImagePlus;
import ij.measure.Calibration;
import ij.process.ColorProcessor;
import io.github.qwenedit.codec.InputFitting;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.OutputImage;
import io.github.qwenedit.core.Provenance;

/**
 * Turns the provider's images into new ImageJ images that cannot be mistaken for data: titled
 * {@code AI-edit <i> of <source>}, labelled AI-generated in their properties and Info, and carrying
 * the full provenance so a macro can read it back with {@code Property.get}. They are not shown;
 * the caller decides where they go.
 */
public final class ResultImages {

	public static final String TITLE_PREFIX = "AI-edit";

	private ResultImages() {}

	/**
	 * One new image per output of {@code result}, in order. The source's spatial calibration is
	 * kept on outputs of exactly its pixel size.
	 */
	public static List<ImagePlus> toImagePlus(EditResult result, ImagePlus source) throws EditException {
		List<ImagePlus> images = new ArrayList<>();
		int total = result.images().size();
		for (int i = 1; i <= total; i++) {
			images.add(toImagePlus(result.images().get(i - 1), i, total, source, result.provenanceOf(i)));
		}
		return images;
	}

	/**
	 * As {@link #toImagePlus(EditResult, ImagePlus)}, titled after {@code sourceTitle} (a stack's
	 * plane, say) and calibrated like {@code calibratedLike} where the sizes match; uncalibrated when
	 * it is null.
	 */
	public static List<ImagePlus> toImagePlus(EditResult result, String sourceTitle, ImagePlus calibratedLike)
		throws EditException
	{
		List<ImagePlus> images = new ArrayList<>();
		int total = result.images().size();
		for (int i = 1; i <= total; i++) {
			images.add(create(result.images().get(i - 1), i, total, sourceTitle, calibratedLike, result.provenanceOf(i)));
		}
		return images;
	}

	/** Output {@code index} of {@code total} as a new RGB image, uncalibrated. */
	public static ImagePlus toImagePlus(OutputImage out, int index, int total, String sourceTitle, Provenance provenance)
		throws EditException
	{
		return create(out, index, total, sourceTitle, null, provenance);
	}

	/**
	 * Output {@code index} of {@code total} as a new RGB image; it keeps the spatial calibration of
	 * {@code source} only if it has the same width and height, since otherwise a pixel no longer
	 * covers the same area.
	 */
	public static ImagePlus toImagePlus(OutputImage out, int index, int total, ImagePlus source, Provenance provenance)
		throws EditException
	{
		return create(out, index, total, source.getTitle(), source, provenance);
	}

	/** "AI-edit 1 of blobs.gif". */
	public static String title(int index, String sourceTitle) {
		String source = sourceTitle == null || sourceTitle.isBlank() ? "untitled" : sourceTitle;
		return TITLE_PREFIX + " " + index + " of " + source;
	}

	/** The provenance stored on an image by this class; empty for any other image. */
	public static Provenance provenanceOf(ImagePlus imp) {
		Map<String, String> sorted = new TreeMap<>();
		String[] properties = imp.getPropertiesAsArray();
		if (properties != null) {
			for (int i = 0; i + 1 < properties.length; i += 2) {
				String key = properties[i];
				if (key.startsWith(Provenance.PREFIX) || key.equals(Provenance.DIGITAL_SOURCE_TYPE)) {
					sorted.put(key, properties[i + 1]);
				}
			}
		}
		Provenance provenance = new Provenance();
		sorted.forEach(provenance::put);
		return provenance;
	}

	private static ImagePlus create(OutputImage out, int index, int total, String sourceTitle, ImagePlus source,
		Provenance provenance) throws EditException
	{
		BufferedImage rgb = decode(out);
		int width = rgb.getWidth();
		int height = rgb.getHeight();
		int[] pixels = ((DataBufferInt) rgb.getRaster().getDataBuffer()).getData();
		ImagePlus imp = new ImagePlus(title(index, sourceTitle), new ColorProcessor(width, height, pixels));
		if (source != null && source.getWidth() == width && source.getHeight() == height) {
			imp.setCalibration(spatialPart(source.getCalibration()));
		}
		label(imp, provenance.copy()
			.put(Provenance.OUTPUT_INDEX, index + " of " + total)
			.put(Provenance.OUTPUT_SHA256, out.sha256()));
		return imp;
	}

	/** Marks {@code imp} as AI-generated and writes {@code provenance} into its properties and Info. */
	public static void label(ImagePlus imp, Provenance provenance) {
		Provenance labelled = provenance.copy()
			.put(Provenance.AI_GENERATED, "true")
			.put(Provenance.DIGITAL_SOURCE_TYPE, Provenance.IPTC_COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA);
		for (Map.Entry<String, String> e : labelled.entries().entrySet()) {
			imp.setProp(e.getKey(), e.getValue());
		}
		imp.setProperty("Info", labelled.toInfoText());
	}

	private static BufferedImage decode(OutputImage out) throws EditException {
		Optional<ImageSize> size = InputFitting.readSize(out.bytes());
		if (!size.isPresent()) {
			if ("image/webp".equals(out.mimeType())) {
				throw new EditException(ErrorKind.PROVIDER_FAILURE, "The provider returned a WebP image, which this Java " +
					"cannot decode. Choose PNG or JPEG output if the provider offers it, or install a WebP ImageIO plug-in.");
			}
			throw notAnImage(null);
		}
		if (size.get().pixels() > InputFitting.MAX_PIXELS) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, "The provider returned an image of " +
				InputFitting.describe(size.get()) + ", more than the " + InputFitting.MAX_PIXELS / 1_000_000 +
				" megapixels that can be opened safely, so it was not opened. Ask for a smaller output size.")
					.leaving(EditException.Charge.LOST_RESULT, null, java.util.List.of());
		}
		try {
			return InputFitting.decodeRgb(out.bytes(), InputFitting.MAX_PIXELS);
		}
		catch (IOException e) {
			throw notAnImage(e);
		}
		catch (OutOfMemoryError e) {
			throw outOfMemory(size.get().width() + "\u00d7" + size.get().height() + " ");
		}
	}

	/**
	 * The result was paid for and its links are journalled where an output folder was given: it is
	 * kept for a recovery with more memory, never sent again.
	 *
	 * @param size such as "4000×3000 ", or empty when not known
	 */
	public static EditException outOfMemory(String size) {
		return new EditException(ErrorKind.MEMORY, "There is not enough memory for a " + size + "result; give Fiji " +
			"more memory (Edit > Options > Memory) and use Recover Unfinished Edits (or run the batch again) to fetch " +
			"it without paying again.").leaving(EditException.Charge.UNSAVED_RESULT, null, java.util.List.of());
	}

	private static EditException notAnImage(IOException cause) {
		return new EditException(ErrorKind.PROVIDER_FAILURE, "The provider returned something that is not an image " +
			"(or a damaged one), so it was not opened. Try again; if it persists, report it to the provider.", cause)
				.leaving(EditException.Charge.LOST_RESULT, null, java.util.List.of());
	}

	/** Only where a pixel lies in space: no density calibration, which meant the source's grey values. */
	private static Calibration spatialPart(Calibration source) {
		Calibration spatial = new Calibration();
		spatial.pixelWidth = source.pixelWidth;
		spatial.pixelHeight = source.pixelHeight;
		spatial.pixelDepth = source.pixelDepth;
		spatial.xOrigin = source.xOrigin;
		spatial.yOrigin = source.yOrigin;
		spatial.setXUnit(source.getXUnit());
		spatial.setYUnit(source.getYUnit());
		spatial.setZUnit(source.getZUnit());
		return spatial;
	}
}
