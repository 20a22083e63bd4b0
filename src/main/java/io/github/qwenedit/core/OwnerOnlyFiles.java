package io.github.qwenedit.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/** Files that hold secrets: created readable by the owner only, refused when others can read them. */
public final class OwnerOnlyFiles {

	private static final Set<PosixFilePermission> SHARED = EnumSet.of(PosixFilePermission.GROUP_READ,
		PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);

	private OwnerOnlyFiles() {}

	public static void checkNotShared(Path file) throws EditException {
		Set<PosixFilePermission> permissions;
		try {
			permissions = Files.getPosixFilePermissions(file);
		}
		catch (UnsupportedOperationException e) {
			return; // Not a POSIX file system (Windows): the user profile folder is private already.
		}
		catch (IOException e) {
			throw new EditException(ErrorKind.INVALID_INPUT, "Cannot check the permissions of " + file + ": " + e.getMessage(), e);
		}
		for (PosixFilePermission p : permissions) {
			if (SHARED.contains(p)) {
				throw new EditException(ErrorKind.INVALID_INPUT, "The secrets file " + file +
					" can be read by other users, so it is not used. Fix it with: chmod 600 \"" + file + "\"");
			}
		}
	}
}
