package io.github.qwenedit.images;

import java.awt.Color;
import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import ij.ImagePlus;
import ij.gui.ImageRoi;
import ij.gui.Overlay;
import ij.gui.Roi;
import ij.gui.TextRoi;
import ij.plugin.LutLoader;
import ij.plugin.filter.EDM;
import ij.process.ByteProcessor;
import ij.process.ColorProcessor;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import ij.process.LUT;
import io.github.qwenedit.codec.InputFitting;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.Provenance;

/**
 * An edit confined to the user's area selection. Only the selection's bounding box plus a margin of
 * context is sent; the result is pasted back inside the selection only, blended over a band of
 * {@code featherWidth} pixels just inside its edge. Every pixel outside the selection keeps the
 * original's value: the result has the original's type (8-, 16-, 32-bit or RGB) and pixels, and only
 * the pixels inside change. Inside, a grey image takes the edited colour's luminance, mapped back
 * through the display range; composite and colour-LUT images get an RGB result of what was shown.
 */
public final class SelectionEdit {

	public static final double DEFAULT_MARGIN = 0.25;
	public static final int DEFAULT_FEATHER = 4;

	private final ImagePlus source;
	private final Roi roi;
	private final Rectangle box;
	private final double margin;
	private final int feather;
	private final BufferedImage shown;

	private SelectionEdit(ImagePlus source, Roi roi, Rectangle box, double margin, int feather, BufferedImage shown) {
		this.source = source;
		this.roi = roi;
		this.box = box;
		this.margin = margin;
		this.feather = feather;
		this.shown = shown;
	}

	/** Whether {@code image} has an area selection, the only kind an edit of a selection uses. */
	public static boolean hasAreaSelection(ImagePlus image) {
		Roi roi = image == null ? null : image.getRoi();
		return roi != null && roi.isArea();
	}

	/** An edit of the selection of {@code image}, or empty when it has no area selection. */
	public static Optional<SelectionEdit> of(ImagePlus image, double margin, int feather) throws EditException {
		if (!hasAreaSelection(image)) return Optional.empty();
		Roi roi = image.getRoi();
		Rectangle bounds = roi.getBounds().intersection(new Rectangle(0, 0, image.getWidth(), image.getHeight()));
		// Either would otherwise be paid for: the whole image edited in its place, or a one-pixel region.
		if (roi.getBounds().isEmpty() || !bounds.isEmpty() && pixelsInside(roi, bounds) == 0) {
			throw new EditException(ErrorKind.INVALID_INPUT, "The selection holds no pixels: select an area, or remove " +
				"the selection (Edit > Selection > Select None) to edit the whole image.");
		}
		if (bounds.isEmpty()) {
			Rectangle b = roi.getBounds();
			throw new EditException(ErrorKind.INVALID_INPUT, "The selection (at " + b.x + "," + b.y + ", " + b.width + "*" +
				b.height + ") lies outside the image of " + image.getWidth() + "*" + image.getHeight() + " pixels: select " +
				"an area inside it, or remove the selection (Edit > Selection > Select None) to edit the whole image.");
		}
		int pad = (int) Math.round(Math.max(0, margin) * Math.max(bounds.width, bounds.height));
		Rectangle box = new Rectangle(bounds.x - pad, bounds.y - pad, bounds.width + 2 * pad, bounds.height + 2 * pad)
			.intersection(new Rectangle(0, 0, image.getWidth(), image.getHeight()));
		return Optional.of(new SelectionEdit(image, (Roi) roi.clone(), box, margin, Math.max(0, feather),
			ImageEncoder.render(image)));
	}

	/** How many pixels of {@code within} (the selection's bounds inside the image) the selection covers. */
	private static int pixelsInside(Roi roi, Rectangle within) {
		Rectangle b = roi.getBounds();
		ImageProcessor mask = roi.getMask();
		if (mask == null) return within.width * within.height;
		int count = 0;
		for (int y = within.y; y < within.y + within.height; y++) {
			for (int x = within.x; x < within.x + within.width; x++) {
				if (mask.getPixel(x - b.x, y - b.y) != 0) count++;
			}
		}
		return count;
	}

	/** Why a selection was not used, for the status line, or empty when there is none to mention. */
	public static Optional<String> ignoredSelection(ImagePlus image) {
		Roi roi = image.getRoi();
		if (roi == null || roi.isArea()) return Optional.empty();
		return Optional.of("The " + roi.getTypeAsString().toLowerCase(Locale.ROOT) +
			" selection is not an area, so the whole image is edited.");
	}

	/**
	 * The region sent to the provider: the bounding box plus margin, as the user sees it, shrunk to
	 * the longest side the models accept, as {@link ImageEncoder#encode} does (the result is pasted
	 * back at the box's size).
	 */
	public InputImage region() {
		BufferedImage crop = new BufferedImage(box.width, box.height, BufferedImage.TYPE_INT_RGB);
		crop.getGraphics().drawImage(shown.getSubimage(box.x, box.y, box.width, box.height), 0, 0, null);
		return InputFitting.fitSides(crop, source.getTitle(), 1, InputFitting.MAX_SIDE);
	}

	public Rectangle box() {
		return box;
	}

	/** What the provenance records about the selection. */
	public Provenance describe(Provenance base) {
		Rectangle b = roi.getBounds();
		return base.copy()
			.put(Provenance.PREFIX + "Selection", roi.getTypeAsString() + " at " + b.x + "," + b.y + " size " + b.width +
				"*" + b.height)
			.put(Provenance.PREFIX + "SelectionRegionSent", box.x + "," + box.y + " size " + box.width + "*" + box.height)
			.put(Provenance.PREFIX + "SelectionContextMargin", String.valueOf(margin))
			.put(Provenance.PREFIX + "SelectionFeatherPx", String.valueOf(feather));
	}

	/**
	 * The original with {@code edited} (the provider's image of the region, any size) pasted inside
	 * the selection; the selection is restored on it.
	 */
	public ImagePlus paste(ImagePlus edited, String title) {
		ImageProcessor region = edited.getProcessor().resize(box.width, box.height, true);
		float[] weight = weights();
		boolean keepType = source.getType() != ImagePlus.COLOR_256 && !source.isComposite() &&
			(source.getType() == ImagePlus.COLOR_RGB || !source.getProcessor().isColorLut());
		ImageProcessor result = keepType ? source.getProcessor().duplicate()
			: new ColorProcessor(shown).duplicate();
		double min = result.getMin();
		double max = result.getMax();
		for (int y = 0; y < box.height; y++) {
			for (int x = 0; x < box.width; x++) {
				float w = weight[y * box.width + x];
				if (w <= 0) continue;
				int ix = box.x + x;
				int iy = box.y + y;
				int rgb = region.get(x, y);
				if (result instanceof ColorProcessor) {
					int old = result.get(ix, iy);
					result.set(ix, iy, blend(old, rgb, w));
				}
				else {
					double lum = 0.299 * ((rgb >> 16) & 255) + 0.587 * ((rgb >> 8) & 255) + 0.114 * (rgb & 255);
					double value = min + lum / 255.0 * (max - min);
					double old = result.getf(ix, iy);
					double blended = old + w * (value - old);
					result.putPixelValue(ix, iy, blended);
				}
			}
		}
		ImagePlus out = new ImagePlus(title, result);
		out.setCalibration(source.getCalibration().copy());
		out.setRoi((Roi) roi.clone());
		return out;
	}

	/** Every output of {@code result} pasted into the original, each labelled with its provenance. */
	public List<ImagePlus> pasteAll(EditResult result) throws EditException {
		List<ImagePlus> pasted = new ArrayList<>();
		int total = result.images().size();
		for (int i = 1; i <= total; i++) {
			Provenance provenance = describe(result.provenanceOf(i));
			ImagePlus edited = ResultImages.toImagePlus(result.images().get(i - 1), i, total, source.getTitle(), provenance);
			ImagePlus merged = paste(edited, edited.getTitle());
			ResultImages.label(merged, provenance);
			pasted.add(merged);
		}
		return pasted;
	}

	private static int blend(int a, int b, float w) {
		int r = Math.round(((a >> 16) & 255) * (1 - w) + ((b >> 16) & 255) * w);
		int g = Math.round(((a >> 8) & 255) * (1 - w) + ((b >> 8) & 255) * w);
		int bl = Math.round((a & 255) * (1 - w) + (b & 255) * w);
		return (r << 16) | (g << 8) | bl;
	}

	/**
	 * Per pixel of the box: 0 outside the selection, rising to 1 over {@code feather} pixels inside its
	 * edge (distance to the nearest outside pixel, from ImageJ's Euclidean distance map).
	 */
	float[] weights() {
		ByteProcessor mask = new ByteProcessor(box.width, box.height);
		Roi local = (Roi) roi.clone();
		local.setLocation(roi.getXBase() - box.x, roi.getYBase() - box.y);
		mask.setColor(255);
		mask.fill(local);
		float[] weight = new float[box.width * box.height];
		if (feather == 0) {
			for (int i = 0; i < weight.length; i++) {
				weight[i] = (mask.get(i) & 255) != 0 ? 1 : 0;
			}
			return weight;
		}
		// The box edge is not the selection's edge unless the image ends there: pad so it counts as outside.
		ByteProcessor padded = new ByteProcessor(box.width + 2, box.height + 2);
		padded.insert(mask, 1, 1);
		FloatProcessor distance = new EDM().makeFloatEDM(padded, 0, false);
		for (int y = 0; y < box.height; y++) {
			for (int x = 0; x < box.width; x++) {
				if ((mask.get(x, y) & 255) == 0) continue;
				weight[y * box.width + x] = Math.min(1f, distance.getf(x + 1, y + 1) / feather);
			}
		}
		return weight;
	}

	/**
	 * The per-pixel change between what the original showed and the result, as a calibrated
	 * magnitude (Euclidean distance of the RGB values), coloured with the "fire" map and a bar.
	 */
	public static ImagePlus changes(ImagePlus original, ImagePlus result) throws EditException {
		BufferedImage a = ImageEncoder.render(original);
		BufferedImage b = ImageEncoder.render(result);
		int w = Math.min(a.getWidth(), b.getWidth());
		int h = Math.min(a.getHeight(), b.getHeight());
		FloatProcessor diff = new FloatProcessor(w, h);
		float top = 0;
		for (int y = 0; y < h; y++) {
			for (int x = 0; x < w; x++) {
				int p = a.getRGB(x, y);
				int q = b.getRGB(x, y);
				int dr = ((p >> 16) & 255) - ((q >> 16) & 255);
				int dg = ((p >> 8) & 255) - ((q >> 8) & 255);
				int db = (p & 255) - (q & 255);
				float d = (float) Math.sqrt(dr * dr + dg * dg + db * db);
				diff.setf(x, y, d);
				top = Math.max(top, d);
			}
		}
		diff.setMinAndMax(0, Math.max(1, top));
		java.awt.image.IndexColorModel fireMap = LutLoader.getLut("fire");
		LUT fire = fireMap == null ? null : new LUT(fireMap, 0, Math.max(1, top));
		if (fire != null) diff.setLut(fire);
		ImagePlus imp = new ImagePlus(ResultImages.TITLE_PREFIX + " changes of " + original.getTitle(), diff);
		imp.setOverlay(calibrationBar(diff, fire));
		return imp;
	}

	/** A colour strip with its lowest and highest values, drawn as an overlay so the data stay untouched. */
	private static Overlay calibrationBar(FloatProcessor diff, LUT lut) {
		int height = Math.max(40, diff.getHeight() / 3);
		ColorProcessor strip = new ColorProcessor(12, height);
		for (int y = 0; y < height; y++) {
			int level = 255 - y * 255 / Math.max(1, height - 1);
			int rgb = lut == null ? (level << 16 | level << 8 | level) : lut.getRGB(level) & 0xffffff;
			for (int x = 0; x < 12; x++) {
				strip.set(x, y, rgb);
			}
		}
		Overlay overlay = new Overlay();
		int x = Math.max(0, diff.getWidth() - 60);
		overlay.add(new ImageRoi(x, 8, strip));
		TextRoi max = new TextRoi(x + 15, 4, String.format(Locale.ROOT, "%.0f", diff.getMax()));
		TextRoi min = new TextRoi(x + 15, 8 + height - 12, "0");
		max.setStrokeColor(Color.WHITE);
		min.setStrokeColor(Color.WHITE);
		overlay.add(max);
		overlay.add(min);
		return overlay;
	}
}
