package io.github.qwenedit.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

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
	 * Refuses {@code file}, which the plugin appends to, when it is a link, a named pipe or a device:
	 * opening a pipe waits for a reader for ever. (A folder in its place fails at once, and is
	 * reported when the write fails.)
	 */
	public static void refuseUnlessPlainFile(Path file) throws EditException {
		refuse(file);
		BasicFileAttributes a;
		try {
			a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
		}
		catch (IOException absent) {
			return;
		}
		if (!a.isOther()) return;
		throw new EditException(ErrorKind.OUTPUT_FOLDER, file.getFileName() + " in " + file.getParent() +
			" is not a plain file (a named pipe or a device), and the plugin writes its log there: remove it, " +
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
