package io.github.qwenedit.emulator;

import java.awt.image.BufferedImage;

/**
 * An input image as a provider got it: from a URL it downloaded or a data URI it decoded.
 *
 * @param reference the URL or data URI the request carried
 * @param contentType the Content-Type the URL answered with, or the data URI's MIME type
 */
public record FetchedImage(String reference, String contentType, byte[] bytes, BufferedImage image) {

	public int width() {
		return image.getWidth();
	}

	public int height() {
		return image.getHeight();
	}

	public boolean fromDataUri() {
		return reference.startsWith("data:");
	}
}
