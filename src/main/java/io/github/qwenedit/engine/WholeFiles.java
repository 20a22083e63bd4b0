package io.github.qwenedit.engine;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Result files are written whole or not at all: an empty file first holds the name (so nothing is
 * written through a link planted there), the bytes go to a hidden temporary sibling, and the
 * temporary file is renamed over the empty one once complete. A process killed in between leaves
 * both behind; {@link #removeWhatAKilledWriteLeft} takes them away.
 */
public final class WholeFiles {

	/** The ending of the temporary files, which are hidden: {@code .<name>.<random>.part}. */
	static final String PART = ".part";
	private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

	/** Writes the bytes of a file; the stream is closed by the caller. */
	@FunctionalInterface
	public interface Content {
		void writeTo(OutputStream out) throws IOException;
	}

	private WholeFiles() {}

	/**
	 * Why a file could not be written, in a few words for a sentence: the operating system's reason
	 * ("No space left on device", "File too large", "Read-only file system") where it gives one.
	 */
	public static String reasonOf(IOException e) {
		if (e instanceof java.nio.file.AccessDeniedException) return "permission denied";
		if (e instanceof java.nio.file.FileSystemException) {
			String reason = ((java.nio.file.FileSystemException) e).getReason();
			return reason != null ? reason : "it cannot be written to";
		}
		return e.getMessage() != null ? e.getMessage() : "it cannot be written to";
	}

	/**
	 * A name held for a write: the hidden temporary file the bytes go to, and the empty file under the
	 * name itself. The temporary file is made first, so that a process killed between the two leaves
	 * only it, which {@link #removeWhatAKilledWriteLeft} takes away with the name it held, if any.
	 */
	public static final class Reservation {
		private final Path target;
		private final Path temp;

		private Reservation(Path target, Path temp) {
			this.target = target;
			this.temp = temp;
		}

		public Path target() {
			return target;
		}
	}

	/**
	 * Holds {@code target} for {@link #write}, or returns empty when the name is taken (a file or a
	 * link is there already: creating a new file never follows a link).
	 */
	public static Optional<Reservation> reserve(Path target) throws IOException {
		// Created as any new file is, with the user's usual mode (a temporary file would be owner-only,
		// and the rename would keep that): results are images to share, unlike the journal.
		Path temp = target.resolveSibling("." + target.getFileName() + "." +
			Long.toUnsignedString(RANDOM.nextLong()) + PART);
		Files.createFile(temp);
		try {
			Files.createFile(target);
		}
		catch (java.nio.file.FileAlreadyExistsException taken) {
			removeQuietly(temp);
			return Optional.empty();
		}
		catch (IOException | RuntimeException e) {
			removeQuietly(temp);
			throw e;
		}
		return Optional.of(new Reservation(target, temp));
	}

	/**
	 * Writes {@code content} to the reservation's temporary file and renames it over the empty file
	 * under the name when complete; on failure both are removed, so nothing is left under the name.
	 */
	public static void write(Reservation reserved, Content content) throws IOException {
		try {
			writeToDisk(reserved.temp, content);
			Files.move(reserved.temp, reserved.target, StandardCopyOption.ATOMIC_MOVE);
			forceFolder(reserved.target.getParent());
		}
		catch (IOException | RuntimeException e) {
			for (Path left : List.of(reserved.temp, reserved.target)) {
				try {
					Files.deleteIfExists(left);
				}
				catch (IOException alsoFailed) {
					e.addSuppressed(alsoFailed);
				}
			}
			throw e;
		}
	}

	/**
	 * Writes {@code content} into the existing {@code file} and has the operating system put it on
	 * disk (fsync(2)) before returning, so that a rename that follows never names bytes a power cut
	 * could still take away.
	 */
	static void writeToDisk(Path file, Content content) throws IOException {
		try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE);
			OutputStream out = Channels.newOutputStream(channel))
		{
			content.writeTo(out);
			out.flush();
			channel.force(true);
		}
	}

	/**
	 * Asks the operating system to put {@code folder}'s list of names on disk, so that a rename into it
	 * outlasts a power cut as the file's bytes do (fsync(2) on the directory, as POSIX asks for a
	 * rename to be durable: https://pubs.opengroup.org/onlinepubs/9699919799/functions/fsync.html). Where a folder
	 * cannot be opened so (Windows), its file system keeps renames in its own journal, and nothing
	 * more is done.
	 */
	static void forceFolder(Path folder) {
		if (folder == null) return;
		try (FileChannel channel = FileChannel.open(folder, StandardOpenOption.READ)) {
			channel.force(true);
		}
		catch (IOException notOpenable) {
			// Nothing more can be asked of this file system.
		}
	}

	/**
	 * Removes the temporary files of writes that never finished in {@code folder}, and the empty file
	 * each one's name was held by. Only for a run that has the folder alone
	 * ({@link OutputFolderLock#claim}): another writer's files would look the same. An empty file with
	 * no temporary file beside it is left alone: it may be the user's.
	 *
	 * @return the names removed
	 */
	public static List<String> removeWhatAKilledWriteLeft(Path folder) {
		List<String> removed = new ArrayList<>();
		try (DirectoryStream<Path> parts = Files.newDirectoryStream(folder, "." + "*" + PART)) {
			for (Path part : parts) {
				if (!Files.isRegularFile(part, LinkOption.NOFOLLOW_LINKS)) continue;
				String name = part.getFileName().toString();
				String middle = name.substring(1, name.length() - PART.length());
				int random = middle.lastIndexOf('.');
				if (random <= 0) continue;
				Path held = folder.resolve(middle.substring(0, random));
				if (!removeQuietly(part)) continue;
				removed.add(name);
				if (isEmptyFile(held) && removeQuietly(held)) removed.add(held.getFileName().toString());
			}
		}
		catch (IOException | java.nio.file.DirectoryIteratorException unreadable) {
			// The run goes on; what is left is only hidden temporary files and empty ones.
		}
		return removed;
	}

	private static boolean isEmptyFile(Path file) {
		try {
			BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
			return a.isRegularFile() && a.size() == 0;
		}
		catch (IOException absent) {
			return false;
		}
	}

	private static boolean removeQuietly(Path file) {
		try {
			return Files.deleteIfExists(file);
		}
		catch (IOException e) {
			return false;
		}
	}
}
