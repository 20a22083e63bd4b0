package io.github.qwenedit.core;

import java.util.Locale;

/** The few image types the plugin sends or receives. */
public final class MimeTypes {

	private MimeTypes() {}

	public static String extension(String mimeType) {
		switch (mimeType.toLowerCase(Locale.ROOT)) {
			case "image/jpeg":
				return "jpg";
			case "image/webp":
				return "webp";
			case "image/png":
			default:
				return "png";
		}
	}

	/** Recognises PNG, JPEG, WebP, GIF, BMP and TIFF by their first bytes; null when none match. */
	public static String sniff(byte[] b) {
		if (b.length >= 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return "image/png";
		if (b.length >= 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8 && (b[2] & 0xff) == 0xff) return "image/jpeg";
		if (b.length >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P') return "image/webp";
		if (b.length >= 4 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F' && b[3] == '8') return "image/gif";
		if (b.length >= 2 && b[0] == 'B' && b[1] == 'M') return "image/bmp";
		if (b.length >= 4 && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0) || (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42))) return "image/tiff";
		return null;
	}
}
