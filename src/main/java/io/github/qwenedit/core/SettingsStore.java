package io.github.qwenedit.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Writes the plugin's settings files: plain settings to {@code settings.properties}, secrets to
 * {@code secrets.properties}, created readable by the owner only. ImageJ's own preferences are
 * never used, because they are a plain-text file anyone on the machine may read.
 */
public final class SettingsStore {

	private final Path directory;

	public SettingsStore(Path directory) {
		this.directory = directory;
	}

	public Path directory() {
		return directory;
	}

	public static boolean isSecret(String name) {
		return Configuration.SettingsFiles.SECRET_NAMES.contains(name);
	}

	/**
	 * Stores {@code values}: a blank value removes the setting, other settings are kept as they are.
	 */
	public void update(Map<String, String> values) throws EditException {
		Map<String, String> plain = new TreeMap<>();
		Map<String, String> secret = new TreeMap<>();
		values.forEach((k, v) -> (isSecret(k) ? secret : plain).put(k, v));
		try {
			Files.createDirectories(directory);
			if (!plain.isEmpty()) merge(directory.resolve(Configuration.SETTINGS_FILE), plain, false);
			if (!secret.isEmpty()) {
				merge(directory.resolve(Configuration.SECRETS_FILE), secret, true);
				removeFromSharedFile(secret.keySet());
			}
		}
		catch (IOException e) {
			throw new EditException(ErrorKind.INVALID_INPUT, "Cannot write the settings in " + directory + ": " +
				e.getMessage(), e);
		}
	}

	/** A secret entered again goes to the owner-only file; a copy left in the shared file, where it is not used, goes. */
	private void removeFromSharedFile(java.util.Set<String> secrets) throws IOException, EditException {
		Path shared = directory.resolve(Configuration.SETTINGS_FILE);
		if (!Files.isRegularFile(shared)) return;
		Properties p = new Properties();
		try (InputStream in = Files.newInputStream(shared)) {
			p.load(in);
		}
		Map<String, String> removals = new TreeMap<>();
		secrets.stream().filter(p::containsKey).forEach(name -> removals.put(name, ""));
		if (!removals.isEmpty()) merge(shared, removals, false);
	}

	private static void merge(Path file, Map<String, String> changes, boolean ownerOnly) throws IOException, EditException {
		Properties p = new Properties();
		if (Files.isRegularFile(file)) {
			if (ownerOnly) OwnerOnlyFiles.checkNotShared(file);
			try (InputStream in = Files.newInputStream(file)) {
				p.load(in);
			}
		}
		changes.forEach((k, v) -> {
			if (v == null || v.isBlank()) p.remove(k);
			else p.setProperty(k, v.trim());
		});
		Path temp = Files.createTempFile(file.getParent(), ".settings", ".tmp");
		try {
			if (ownerOnly) restrictToOwner(temp);
			try (OutputStream out = Files.newOutputStream(temp)) {
				p.store(out, ownerOnly ? "Qwen Image Edit secrets: keep this file readable by you only" : "Qwen Image Edit settings");
			}
			Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
		}
		finally {
			Files.deleteIfExists(temp);
		}
	}

	private static void restrictToOwner(Path file) throws IOException {
		try {
			Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
		}
		catch (UnsupportedOperationException e) {
			// Windows: files under the user's profile are private to the user already.
		}
	}
}
