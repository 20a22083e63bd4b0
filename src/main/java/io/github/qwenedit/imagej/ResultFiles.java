package io.github.qwenedit.imagej;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.batch.BatchJournal;

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

	/**
	 * Saves a result that {@link io.github.qwenedit.core.batch.JournalRecovery} fetched as a batch
	 * saves its own: titled after the source, calibrated like it when the source file is still there.
	 *
	 * @param opened told of each saved image, for a command that also shows them
	 * @return the names of the files written
	 */
	public static List<String> saveRecovered(BatchJournal.Entry entry, EditResult result, Path folder,
		Consumer<ImagePlus> opened) throws EditException
	{
		// The source file, for its calibration: for one plane of a stack, its first image, which
		// carries the stack's calibration without reading every plane.
		ImagePlus source = entry.source.file().map(f -> entry.source.plane > 0 ? IJ.openImage(f.toString(), 1)
			: IJ.openImage(f.toString())).orElse(null);
		List<ImagePlus> images = ResultImages.toImagePlus(result, entry.sourceTitle(), source);
		List<String> names = new ArrayList<>();
		for (File file : saveAsTiff(images, folder.toFile())) {
			names.add(file.getName());
		}
		images.forEach(opened);
		return names;
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
