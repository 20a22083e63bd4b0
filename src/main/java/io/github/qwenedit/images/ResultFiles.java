package io.github.qwenedit.images;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileInfo;
import ij.io.FileSaver;
import ij.io.TiffEncoder;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.engine.WholeFiles;

/** Saves results as TIFF, whose ImageJ header keeps the provenance properties and Info block. */
public final class ResultFiles {

	private ResultFiles() {}

	/**
	 * Saves each image in {@code folder}, never overwriting an existing file. Each is written under a
	 * temporary name in the same folder and renamed once whole, so that a failed write (a full disk)
	 * leaves no partial file under a result's name.
	 */
	public static List<File> saveAsTiff(List<ImagePlus> images, File folder) throws EditException {
		if (!folder.isDirectory() && !folder.mkdirs()) {
			throw new EditException(ErrorKind.LOCAL_FILES, "Cannot create the output folder " + folder +
				": choose a folder you can write to.");
		}
		List<File> saved = new ArrayList<>();
		for (ImagePlus image : images) {
			WholeFiles.Reservation reserved = reserveFreeName(folder, fileNameOf(image.getTitle()));
			writeWhole(image, reserved);
			saved.add(reserved.target().toFile());
		}
		return saved;
	}

	/**
	 * Writes {@code image} as ImageJ's own TIFF writer does, with its properties (the provenance),
	 * Info and calibration, to a temporary file renamed to {@code file} when complete (replacing the
	 * empty file that reserved the name; a rename replaces a link planted there, never follows it). Unlike
	 * {@link FileSaver#saveAsTiff(String)} it lets the reason of a failure through.
	 */
	static void writeWhole(ImagePlus image, WholeFiles.Reservation reserved) throws EditException {
		Path file = reserved.target();
		try {
			FileInfo info = image.getFileInfo();
			info.info = image.getInfoProperty();
			info.description = new FileSaver(image).getDescriptionString();
			info.properties = image.getPropertiesAsArray();
			if (image.getStackSize() > 1) info.sliceLabels = image.getStack().getSliceLabels();
			WholeFiles.write(reserved, out -> {
				DataOutputStream data = new DataOutputStream(new BufferedOutputStream(out));
				new TiffEncoder(info).write(data);
				data.flush();
			});
		}
		catch (IOException e) {
			throw new EditException(ErrorKind.LOCAL_FILES, "Could not write the result " + file.getFileName() + " in " +
				file.getParent() + " (" + WholeFiles.reasonOf(e) + "), so it was not saved and no part of it was left there. Free some " +
				"space, lift a limit on file sizes if one is set (ulimit -f), or choose a folder you can write to.", e);
		}
	}

	/**
	 * Saves a result that {@link io.github.qwenedit.engine.JournalRecovery} fetched as a batch
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

	/**
	 * Holds the first free name ({@link WholeFiles#reserve}), so that nothing is written through a
	 * symbolic link planted under a result's name (even one pointing nowhere): creating a new file
	 * fails on any name that is taken, a link included, and the next name is tried.
	 */
	private static WholeFiles.Reservation reserveFreeName(File folder, String base) throws EditException {
		for (int i = 1; i <= MAX_NAME_TRIES; i++) {
			File file = new File(folder, base + (i == 1 ? "" : "-" + i) + ".tif");
			try {
				Optional<WholeFiles.Reservation> reserved = WholeFiles.reserve(file.toPath());
				if (reserved.isPresent()) return reserved.get();
				// Taken: the next number.
			}
			catch (java.io.IOException e) {
				throw new EditException(ErrorKind.LOCAL_FILES, "Could not create " + file + " (" + WholeFiles.reasonOf(e) +
					"): check the folder's permissions and free space.", e);
			}
		}
		throw new EditException(ErrorKind.INVALID_INPUT, "More than " + MAX_NAME_TRIES + " files named " + base +
			" are in " + folder + " already: choose another output folder.");
	}

	private static final int MAX_NAME_TRIES = 10_000;
}
