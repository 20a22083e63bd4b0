package io.github.qwenedit.core;

import java.util.Objects;

/**
 * One image to send: encoded bytes (PNG unless re-encoded to fit a provider's limits) plus their
 * pixel size, and the size the image had where it came from, so that a scaling done on the way
 * (before the bytes existed) is still recorded. Pixels cross from ImageJ into the core only in this
 * form.
 */
public final class InputImage {

	private final byte[] bytes;
	private final String mimeType;
	private final int width;
	private final int height;
	private final String sourceTitle;
	private final ImageSize sourceSize;

	public InputImage(byte[] bytes, String mimeType, int width, int height, String sourceTitle) {
		this(bytes, mimeType, width, height, sourceTitle, new ImageSize(width, height));
	}

	private InputImage(byte[] bytes, String mimeType, int width, int height, String sourceTitle, ImageSize sourceSize) {
		this.bytes = Objects.requireNonNull(bytes, "bytes");
		this.mimeType = Objects.requireNonNull(mimeType, "mimeType");
		this.width = width;
		this.height = height;
		this.sourceTitle = sourceTitle == null ? "" : sourceTitle;
		this.sourceSize = Objects.requireNonNull(sourceSize, "sourceSize");
	}

	public static InputImage png(byte[] bytes, int width, int height, String sourceTitle) {
		return new InputImage(bytes, "image/png", width, height, sourceTitle);
	}

	/** A PNG of an image that was {@code sourceSize} where it came from and was scaled before encoding. */
	public static InputImage scaledPng(byte[] bytes, ImageSize size, String sourceTitle, ImageSize sourceSize) {
		return new InputImage(bytes, "image/png", size.width(), size.height(), sourceTitle, sourceSize);
	}

	/** The encoded bytes; callers must not modify the array. */
	public byte[] bytes() {
		return bytes;
	}

	public String mimeType() {
		return mimeType;
	}

	/** File extension that matches {@link #mimeType()}, without the dot. */
	public String extension() {
		return MimeTypes.extension(mimeType);
	}

	public int width() {
		return width;
	}

	public int height() {
		return height;
	}

	/** Title of the window the image came from: for provenance only, never sent anywhere. */
	public String sourceTitle() {
		return sourceTitle;
	}

	/** The pixel size of the image this was made from, before any scaling. */
	public ImageSize sourceSize() {
		return sourceSize;
	}

	public String sha256() {
		return Hashing.sha256Hex(bytes);
	}

	public InputImage withEncoding(byte[] newBytes, String newMimeType, int newWidth, int newHeight) {
		return new InputImage(newBytes, newMimeType, newWidth, newHeight, sourceTitle, sourceSize);
	}
}
