package io.github.qwenedit.engine;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;

/**
 * An output folder may come from someone else (a colleague's results, a shared drive), and a
 * symbolic link planted there under a name the plugin writes would put the plugin's files wherever
 * it points. Such names are refused, never written through.
 */
public final class PlantedLinks {

	private PlantedLinks() {}

	/**
	 * Refuses {@code file}, which the plugin appends to, when it is anything but a plain file or
	 * absent: a link, or a named pipe or device, whose opening would wait for a reader for ever.
	 */
	public static void refuseUnlessPlainFile(Path file) throws EditException {
		refuse(file);
		if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS) || Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) return;
		throw new EditException(ErrorKind.OUTPUT_FOLDER, file.getFileName() + " in " + file.getParent() +
			" is not a plain file (a folder, a named pipe or a device), and the plugin writes its log there: remove it, " +
			"or choose another output folder. Nothing was sent.");
	}

	/** Refuses {@code file} when it is a symbolic link (even one pointing nowhere). */
	public static void refuse(Path file) throws EditException {
		if (!Files.isSymbolicLink(file)) return;
		throw new EditException(ErrorKind.INVALID_INPUT, file.getFileName() + " in " + file.getParent() +
			" is a symbolic link, and results and logs are never written through one: remove it, or choose another " +
			"output folder. Nothing was sent.");
	}
}
