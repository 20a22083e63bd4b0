package io.github.qwenedit.core.batch;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;

/**
 * One run at a time writes into an output folder: two runs there would each send the same sources
 * (paying twice) and settle each other's journal entries. The lock is the operating system's lock
 * on a file inside the folder ({@link FileChannel#tryLock()}), so it holds between programs (the
 * shell command and Fiji) and ends with the process that held it, even after a kill. A second run
 * does not wait: it is refused with a sentence, before anything is sent.
 */
public final class OutputFolderLock implements AutoCloseable {

	public static final String FILE = ".qwen-edit.lock";

	private final FileChannel channel;
	private final FileLock lock;

	private OutputFolderLock(FileChannel channel, FileLock lock) {
		this.channel = channel;
		this.lock = lock;
	}

	/** Creates {@code folder} if needed and takes its lock, or says why it cannot. */
	public static OutputFolderLock claim(Path folder) throws EditException {
		Path file = folder.resolve(FILE);
		FileChannel channel;
		try {
			Files.createDirectories(folder);
			PlantedLinks.refuse(file);
			// Never through a link planted in the folder (one made since the check above fails here).
			channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
		}
		catch (IOException e) {
			PlantedLinks.refuse(file);
			throw cannotWrite(folder, e);
		}
		FileLock lock;
		try {
			lock = channel.tryLock();
		}
		catch (OverlappingFileLockException heldInThisProgram) {
			lock = null;
		}
		catch (IOException e) {
			closeQuietly(channel);
			throw cannotWrite(folder, e);
		}
		if (lock == null) {
			closeQuietly(channel);
			throw new EditException(ErrorKind.INVALID_INPUT, "Another run is writing into " + folder + " (it holds " +
				FILE + " there): nothing was sent. Wait for it to end, or choose another output folder.");
		}
		return new OutputFolderLock(channel, lock);
	}

	private static EditException cannotWrite(Path folder, IOException e) {
		return new EditException(ErrorKind.INVALID_INPUT, "Cannot write into the output folder " + folder + " (" +
			e.getClass().getSimpleName() + "): choose a folder you can write to.", e);
	}

	private static void closeQuietly(FileChannel channel) {
		try {
			channel.close();
		}
		catch (IOException ignored) {
			// Nothing was locked through it.
		}
	}

	@Override
	public void close() {
		try {
			lock.release();
		}
		catch (IOException ignored) {
			// Closing the channel below releases it as well.
		}
		closeQuietly(channel);
	}
}
