package io.github.qwenedit.imagej;

import java.awt.GraphicsEnvironment;
import java.util.List;

import org.scijava.thread.ThreadService;

import ij.IJ;
import ij.ImagePlus;
import ij.WindowManager;
import ij.macro.Interpreter;

/**
 * Puts a command's result images where the one who ran it finds them, and makes the last one the
 * current image of whoever called the command, as after any ImageJ command that makes an image.
 * <p>
 * SciJava runs a command on a pooled thread while the macro that called it waits on its own. In
 * batch mode (and headless) {@link ImagePlus#show()} makes an image current only for the thread
 * that shows it, in ImageJ's per-thread table
 * (https://github.com/imagej/ImageJ/blob/master/ij/WindowManager.java, setTempCurrentImage). Left
 * there, the result would stay the "active image" of that pooled thread, which the next command
 * run on it then edits instead of the image the macro opened; and the macro itself would not see
 * the result as its current image. So the entry moves from the pooled thread to the caller's.
 */
final class ResultDisplay {

	private ResultDisplay() {}

	/**
	 * Shows {@code images} as windows where there is a screen, or as the macro's images in batch mode
	 * or headless.
	 *
	 * @return false when nobody can see them (a headless script), which gets them as the command's output
	 */
	static boolean show(List<ImagePlus> images, ThreadService threads) {
		boolean macro = IJ.isMacro() || Interpreter.isBatchMode();
		if (GraphicsEnvironment.isHeadless() && !macro) return false;
		for (ImagePlus image : images) {
			image.show();
		}
		if (images.isEmpty()) return true;
		Thread worker = Thread.currentThread();
		Thread caller = threads == null ? null : threads.getParent(worker);
		WindowManager.setTempCurrentImage(worker, null);
		if (caller != null && caller != worker && (Interpreter.isBatchMode() || GraphicsEnvironment.isHeadless())) {
			WindowManager.setTempCurrentImage(caller, images.get(images.size() - 1));
		}
		return true;
	}
}
