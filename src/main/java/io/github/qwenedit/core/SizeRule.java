package io.github.qwenedit.core;

/** Which output sizes a model accepts. */
public interface SizeRule {

	/** Throws with a sentence that names the allowed sizes when {@code size} is not one of them. */
	void check(String model, ImageSize size) throws EditException;

	/** For dialogs and error messages, such as "each side 512–2048 px". */
	String describe();

	/**
	 * The size nearest {@code size} at its aspect ratio that this rule accepts: what "as input" is sent
	 * as where a size must be sent. A rule that takes no pixel size returns {@code size} itself.
	 */
	default ImageSize nearestAccepted(ImageSize size) {
		return size;
	}

	/** Each side within [min, max] (qwen-image-edit-plus, -max). */
	static SizeRule perSide(int min, int max) {
		return new SizeRule() {
			@Override
			public void check(String model, ImageSize size) throws EditException {
				if (size.width() < min || size.width() > max || size.height() < min || size.height() > max) {
					throw new EditException(ErrorKind.INVALID_INPUT, "The size " + size + " does not suit " + model +
						": width and height must each be between " + min + " and " + max + " pixels.");
				}
			}

			@Override
			public String describe() {
				return "each side " + min + "–" + max + " px";
			}

			@Override
			public ImageSize nearestAccepted(ImageSize size) {
				return size.withinSides(min, max);
			}
		};
	}

	/** Total pixels within [side², side²] bounds (qwen-image-2.0 series). */
	static SizeRule totalPixels(int minSide, int maxSide) {
		long min = (long) minSide * minSide;
		long max = (long) maxSide * maxSide;
		return new SizeRule() {
			@Override
			public void check(String model, ImageSize size) throws EditException {
				if (size.width() < 1 || size.height() < 1 || size.pixels() < min || size.pixels() > max) {
					throw new EditException(ErrorKind.INVALID_INPUT, "The size " + size + " does not suit " + model +
						": width × height must be between " + minSide + "*" + minSide + " and " + maxSide + "*" +
						maxSide + " pixels in total.");
				}
			}

			@Override
			public String describe() {
				return "total pixels " + minSide + "*" + minSide + "–" + maxSide + "*" + maxSide;
			}

			@Override
			public ImageSize nearestAccepted(ImageSize size) {
				return size.withinPixels(min, max);
			}
		};
	}

	/** The model picks the size itself (qwen-image-edit). */
	static SizeRule notCustomisable() {
		return new SizeRule() {
			@Override
			public void check(String model, ImageSize size) throws EditException {
				throw new EditException(ErrorKind.INVALID_INPUT, model +
					" does not take a custom size: choose 'as input' or another model.");
			}

			@Override
			public String describe() {
				return "as input only";
			}
		};
	}
}
