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
			File file = reserveFreeName(folder, fileNameOf(image.getTitle()));
			if (!new FileSaver(image).saveAsTiff(file.getPath())) {
				file.delete();
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
		ImagePlus source = sourceFile(entry).map(f -> IJ.openImage(f.toString())).orElse(null);
		List<ImagePlus> images = new ArrayList<>();
		if (source != null) {
			images.addAll(ResultImages.toImagePlus(result, source));
		}
		else {
			int total = result.images().size();
			for (int i = 1; i <= total; i++) {
				images.add(ResultImages.toImagePlus(result.images().get(i - 1), i, total, entry.sourceTitle(),
					result.provenance()));
			}
		}
		List<String> names = new ArrayList<>();
		for (File file : saveAsTiff(images, folder.toFile())) {
			names.add(file.getName());
		}
		images.forEach(opened);
		return names;
	}

	private static java.util.Optional<Path> sourceFile(BatchJournal.Entry entry) {
		try {
			Path path = Paths.get(entry.source);
			return Files.isRegularFile(path) ? java.util.Optional.of(path) : java.util.Optional.empty();
		}
		catch (java.nio.file.InvalidPathException aTitleNotAFile) {
			return java.util.Optional.empty();
		}
	}

	/** "AI-edit 1 of cells.tif" becomes "AI-edit 1 of cells.tif" without the source's extension and unsafe characters. */
	static String fileNameOf(String title) {
		String base = title.replaceAll("\\.(tiff?|png|jpe?g|gif|bmp)$", "");
		return base.replaceAll("[\\\\/:*?\"<>|\\s]+", "_");
	}

	/**
	 * Creates an empty file under the first free name, so that nothing is written through a
	 * symbolic link planted under a result's name (even one pointing nowhere): creating a new file
	 * fails on any name that is taken, a link included, and the next name is tried.
	 */
	private static File reserveFreeName(File folder, String base) throws EditException {
		for (int i = 1; i <= MAX_NAME_TRIES; i++) {
			File file = new File(folder, base + (i == 1 ? "" : "-" + i) + ".tif");
			try {
				Files.createFile(file.toPath());
				return file;
			}
			catch (java.nio.file.FileAlreadyExistsException taken) {
				// The next number.
			}
			catch (java.io.IOException e) {
				throw new EditException(ErrorKind.INVALID_INPUT, "Could not create " + file + ": check the folder's " +
					"permissions and free space.", e);
			}
		}
		throw new EditException(ErrorKind.INVALID_INPUT, "More than " + MAX_NAME_TRIES + " files named " + base +
			" are in " + folder + " already: choose another output folder.");
	}

	private static final int MAX_NAME_TRIES = 10_000;
}
