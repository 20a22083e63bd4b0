package io.github.qwenedit.imagej;

import java.io.File;
import java.util.ArrayList;
import java.util.List;

import ij.ImagePlus;
import ij.io.FileSaver;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;

/** Saves results as TIFF, whose ImageJ header keeps the provenance properties and Info block. */
public final class ResultFiles {

	private ResultFiles() {}

	/** Saves each image in {@code folder}, never overwriting an existing file. */
	public static List<File> saveAsTiff(List<ImagePlus> images, File folder) throws EditException {
		if (!folder.isDirectory() && !folder.mkdirs()) {
			throw new EditException(ErrorKind.INVALID_INPUT, "Cannot create the output folder " + folder +
				": choose a folder you can write to.");
		}
		List<File> saved = new ArrayList<>();
		for (ImagePlus image : images) {
			File file = freeName(folder, fileNameOf(image.getTitle()));
			if (!new FileSaver(image).saveAsTiff(file.getPath())) {
				throw new EditException(ErrorKind.INVALID_INPUT, "Could not save " + file + ": check the folder's " +
					"permissions and free space. The result is still open in Fiji.");
			}
			saved.add(file);
		}
		return saved;
	}

	/** "AI-edit 1 of cells.tif" becomes "AI-edit 1 of cells.tif" without the source's extension and unsafe characters. */
	static String fileNameOf(String title) {
		String base = title.replaceAll("\\.(tiff?|png|jpe?g|gif|bmp)$", "");
		return base.replaceAll("[\\\\/:*?\"<>|\\s]+", "_");
	}

	private static File freeName(File folder, String base) {
		File file = new File(folder, base + ".tif");
		for (int i = 2; file.exists(); i++) {
			file = new File(folder, base + "-" + i + ".tif");
		}
		return file;
	}
}
