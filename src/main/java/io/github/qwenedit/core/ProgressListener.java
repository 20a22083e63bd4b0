package io.github.qwenedit.core;

/**
 * Where the pipeline reports what it is doing. The ImageJ layer forwards this to Fiji's status bar;
 * a script or a test can print or record it.
 */
@FunctionalInterface
public interface ProgressListener {

	ProgressListener NONE = (message, fraction) -> {};

	/**
	 * @param message one short line, such as "Uploading image 2 of 3"
	 * @param fraction overall progress from 0 to 1, or a negative value when unknown
	 */
	void progress(String message, double fraction);
}
