package io.github.qwenedit.imagej;

import ij.ImagePlus;
import ij.process.ColorProcessor;

/** Images the tests edit. */
public final class TestImages {

	private TestImages() {}

	/** A colourful RGB pattern in which neighbouring pixels differ, so a wrong pixel cannot hide. */
	public static ImagePlus pattern(String title, int width, int height) {
		ColorProcessor cp = new ColorProcessor(width, height);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				cp.set(x, y, ((x * 7) & 255) << 16 | ((y * 5) & 255) << 8 | ((x + y) & 255));
			}
		}
		return new ImagePlus(title, cp);
	}
}
