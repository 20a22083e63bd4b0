package io.github.qwenedit.core;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** An output size in pixels, written {@code W*H} as DashScope spells it. */
public final class ImageSize {

	private static final Pattern STAR = Pattern.compile("\\s*(\\d{1,6})\\s*\\*\\s*(\\d{1,6})\\s*");
	private static final Pattern OTHER_SEPARATOR = Pattern.compile("\\s*(\\d{1,6})\\s*[xX×,]\\s*(\\d{1,6})\\s*");

	private final int width;
	private final int height;

	public ImageSize(int width, int height) {
		this.width = width;
		this.height = height;
	}

	/**
	 * Parses {@code W*H}. Other separators ({@code 1024x1024}) are refused with a message that shows
	 * the right spelling, because the providers silently misread them.
	 */
	public static ImageSize parse(String text) throws EditException {
		Matcher m = STAR.matcher(text);
		if (m.matches()) {
			return new ImageSize(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
		}
		Matcher other = OTHER_SEPARATOR.matcher(text);
		if (other.matches()) {
			throw new EditException(ErrorKind.INVALID_INPUT, "Write the size as width*height with a star, for example " +
				other.group(1) + "*" + other.group(2) + " instead of \"" + text.trim() + "\".");
		}
		throw new EditException(ErrorKind.INVALID_INPUT, "The size \"" + text.trim() +
			"\" is not understood: write width*height in pixels, for example 1024*1024, or leave it at 'as input'.");
	}

	public int width() {
		return width;
	}

	public int height() {
		return height;
	}

	public long pixels() {
		return (long) width * height;
	}

	/**
	 * This size with each side in [min, max] at the same aspect ratio where that is possible; otherwise
	 * the upper limit wins and the short side is raised to the minimum.
	 */
	public ImageSize withinSides(int min, int max) {
		int longSide = Math.max(width, height);
		int shortSide = Math.min(width, height);
		double factor = 1;
		if (longSide > max) factor = (double) max / longSide;
		else if (shortSide < min) factor = (double) min / shortSide;
		return new ImageSize(clamp(Math.round(width * factor), min, max), clamp(Math.round(height * factor), min, max));
	}

	/** This size scaled at its aspect ratio so that its pixels lie within [min, max], each side at least 1. */
	public ImageSize withinPixels(long min, long max) {
		double factor = 1;
		if (pixels() > max) factor = Math.sqrt((double) max / pixels());
		else if (pixels() < min) factor = Math.sqrt((double) min / pixels());
		// Rounding down on the way down and up on the way up keeps the product inside the bound.
		long w = factor < 1 ? (long) Math.floor(width * factor) : (long) Math.ceil(width * factor);
		long h = factor < 1 ? (long) Math.floor(height * factor) : (long) Math.ceil(height * factor);
		return new ImageSize(clamp(w, 1, Integer.MAX_VALUE), clamp(h, 1, Integer.MAX_VALUE));
	}

	private static int clamp(long value, int min, int max) {
		return (int) Math.max(min, Math.min(max, value));
	}

	@Override
	public String toString() {
		return width + "*" + height;
	}

	@Override
	public boolean equals(Object o) {
		return o instanceof ImageSize && ((ImageSize) o).width == width && ((ImageSize) o).height == height;
	}

	@Override
	public int hashCode() {
		return Objects.hash(width, height);
	}
}
