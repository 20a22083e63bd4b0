package io.github.qwenedit.engine;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;

/**
 * Who writes into an output folder: a batch (or a recovery) alone, since two of them would each send
 * the same sources (paying twice) and settle each other's journal entries; single edits side by
 * side, each journalling only its own job. Between programs (the shell command, Fiji) this is the
 * operating system's lock on a file inside the folder ({@link FileChannel#tryLock(long, long, boolean)},
 * exclusive or shared), which ends with the process that held it, even after a kill. Within one
 * program one channel per folder holds it for every user, since closing any channel of a file may
 * release all of the program's locks on it (see {@link FileLock}). Nothing waits: a run that cannot
 * have the folder is refused with a sentence, before anything is sent.
 */
public final class OutputFolderLock implements AutoCloseable {

	public static final String FILE = ".qwen-edit.lock";

	/** The folders this program holds, by real path; guarded by itself. */
	private static final Map<Path, Held> HELD = new HashMap<>();

	private static final class Held {
		final FileChannel channel;
		final FileLock lock;
		final boolean alone;
		int users = 1;

		Held(FileChannel channel, FileLock lock, boolean alone) {
			this.channel = channel;
			this.lock = lock;
			this.alone = alone;
		}
	}

	private final Path key;
	private final Held held;
	private boolean closed;

	private OutputFolderLock(Path key, Held held) {
		this.key = key;
		this.held = held;
	}

	/** For a batch or a recovery: creates {@code folder} if needed and has it alone, or says why it cannot. */
	public static OutputFolderLock claim(Path folder) throws EditException {
		return take(folder, true);
	}

	/** For a single edit: shares {@code folder} with other single edits, never with a batch or a recovery. */
	public static OutputFolderLock share(Path folder) throws EditException {
		return take(folder, false);
	}

	private static OutputFolderLock take(Path folder, boolean alone) throws EditException {
		Path key;
		try {
			Files.createDirectories(folder);
			key = folder.toRealPath();
		}
		catch (IOException e) {
			throw cannotWrite(folder, e);
		}
		synchronized (HELD) {
			Held held = HELD.get(key);
			if (held != null) {
				if (alone || held.alone) throw busy(folder);
				held.users++;
				return new OutputFolderLock(key, held);
			}
			Path file = key.resolve(FILE);
			FileChannel channel;
			try {
				PlantedLinks.refuse(file);
				// Never through a link planted in the folder (one made since the check above fails here).
				channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
					StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
			}
			catch (IOException e) {
				PlantedLinks.refuse(file);
				throw cannotWrite(folder, e);
			}
			FileLock lock;
			try {
				lock = channel.tryLock(0, Long.MAX_VALUE, !alone);
			}
			catch (OverlappingFileLockException | IOException e) {
				closeQuietly(channel);
				if (e instanceof OverlappingFileLockException) throw busy(folder);
				throw cannotWrite(folder, (IOException) e);
			}
			if (lock == null) {
				closeQuietly(channel);
				throw busy(folder);
			}
			held = new Held(channel, lock, alone);
			HELD.put(key, held);
			return new OutputFolderLock(key, held);
		}
	}

	private static EditException busy(Path folder) {
		return new EditException(ErrorKind.OUTPUT_FOLDER, "Another run is writing into " + folder + " (it holds " + FILE +
			" there): nothing was sent. Wait for it to end, or choose another output folder.");
	}

	private static EditException cannotWrite(Path folder, IOException e) {
		return new EditException(ErrorKind.OUTPUT_FOLDER, "Cannot write into " + folder + " (" + WholeFiles.reasonOf(e) +
			"): nothing was sent. Choose a folder you can write to.", e);
	}

	private static void closeQuietly(FileChannel channel) {
		try {
			channel.close();
		}
		catch (IOException ignored) {
			// Nothing stays locked through a closed channel.
		}
	}

	@Override
	public void close() {
		synchronized (HELD) {
			if (closed) return;
			closed = true;
			if (--held.users > 0) return;
			HELD.remove(key);
			try {
				held.lock.release();
			}
			catch (IOException ignored) {
				// Closing the channel below releases it as well.
			}
			closeQuietly(held.channel);
		}
	}
}
