package io.github.qwenedit.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * Every machine setting and secret, resolved in one order: environment variable, then the plugin's
 * settings files, then the default. Settings are named by their environment variable everywhere
 * (README, settings files, code), so there is one vocabulary.
 */
public final class Configuration {

	/** Where a value came from, for the Settings dialog (which never shows secrets themselves). */
	public enum Source {
		ENVIRONMENT, SETTINGS_FILE, DEFAULT
	}

	public static final String CONFIG_DIR = "QWEN_EDIT_CONFIG_DIR";
	public static final String DEADLINE_SECONDS = "QWEN_EDIT_DEADLINE_SECONDS";
	public static final String DEFAULT_PROVIDER = "QWEN_EDIT_DEFAULT_PROVIDER";
	public static final String SETTINGS_FILE = "settings.properties";
	public static final String SECRETS_FILE = "secrets.properties";

	private final Map<String, String> environment;
	private final Map<String, String> stored;

	private Configuration(Map<String, String> environment, Map<String, String> stored) {
		this.environment = Collections.unmodifiableMap(new HashMap<>(environment));
		this.stored = Collections.unmodifiableMap(new HashMap<>(stored));
	}

	/** The running process's environment and the settings files in {@link #configDirectory}. */
	public static Configuration fromSystem() throws EditException {
		return fromEnvironment(System.getenv());
	}

	/** {@code environment} and the settings files in the folder it names (or the default folder). */
	public static Configuration fromEnvironment(Map<String, String> environment) throws EditException {
		return new Configuration(environment, SettingsFiles.read(configDirectory(environment)));
	}

	/** Where the Settings command stores what the user enters. */
	public Path settingsDirectory() {
		return configDirectory(environment);
	}

	/** An explicit environment and settings, as scripts and tests give them. */
	public static Configuration of(Map<String, String> environment, Map<String, String> stored) {
		return new Configuration(environment, stored);
	}

	public static Configuration of(Map<String, String> environment) {
		return new Configuration(environment, Map.of());
	}

	/**
	 * The folder of the settings files: {@code QWEN_EDIT_CONFIG_DIR}, else the platform's user
	 * configuration folder.
	 */
	public static Path configDirectory(Map<String, String> env) {
		String explicit = env.get(CONFIG_DIR);
		if (explicit != null && !explicit.isBlank()) return Paths.get(explicit);
		String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
		String appData = env.get("APPDATA");
		if (os.contains("win") && appData != null) return Paths.get(appData, "Qwen Image Edit");
		String xdg = env.get("XDG_CONFIG_HOME");
		Path base = xdg != null && !xdg.isBlank() ? Paths.get(xdg) : Paths.get(System.getProperty("user.home"), ".config");
		return base.resolve("qwen-image-edit");
	}

	public Optional<String> get(String name) {
		String env = environment.get(name);
		if (env != null && !env.isBlank()) return Optional.of(env.trim());
		String value = stored.get(name);
		if (value != null && !value.isBlank()) return Optional.of(value.trim());
		return Optional.empty();
	}

	public String get(String name, String defaultValue) {
		return get(name).orElse(defaultValue);
	}

	public Source sourceOf(String name) {
		String env = environment.get(name);
		if (env != null && !env.isBlank()) return Source.ENVIRONMENT;
		String value = stored.get(name);
		if (value != null && !value.isBlank()) return Source.SETTINGS_FILE;
		return Source.DEFAULT;
	}

	/** A value that must be present, or a message that says exactly where to set it. */
	public String require(String name, String what) throws EditException {
		return get(name).orElseThrow(() -> new EditException(ErrorKind.UNAUTHORIZED, "No " + what +
			" is configured: set the environment variable " + name +
			" or enter it in Plugins > Qwen Image Edit > Settings."));
	}

	public int getInt(String name, int defaultValue) throws EditException {
		Optional<String> value = get(name);
		if (!value.isPresent()) return defaultValue;
		try {
			return Integer.parseInt(value.get());
		}
		catch (NumberFormatException e) {
			throw new EditException(ErrorKind.INVALID_INPUT, name + " must be a whole number, not \"" + value.get() + "\".");
		}
	}

	/** Every configured secret value, so that anything shown or written can be checked against them. */
	public Set<String> secretValues() {
		Set<String> secrets = new LinkedHashSet<>();
		for (String name : SettingsFiles.SECRET_NAMES) {
			get(name).ifPresent(secrets::add);
		}
		return secrets;
	}

	/** Replaces every configured secret in {@code text} by a mask. */
	public String redact(String text) {
		if (text == null) return null;
		String result = text;
		for (String secret : secretValues()) {
			if (secret.length() >= 4) result = result.replace(secret, "****");
		}
		return result;
	}

	/** Reads the settings files; a secrets file that others can read is refused. */
	static final class SettingsFiles {

		/** Settings that are secrets: kept in the owner-only file, never shown. */
		static final Set<String> SECRET_NAMES = Set.of("DASHSCOPE_API_KEY", "EACHLABS_API_KEY", "PIXELDOJO_API_KEY",
			"FAL_KEY", "REPLICATE_API_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID");

		private SettingsFiles() {}

		static Map<String, String> read(Path dir) throws EditException {
			Map<String, String> values = new HashMap<>();
			load(dir.resolve(SETTINGS_FILE), values);
			Path secrets = dir.resolve(SECRETS_FILE);
			if (Files.isRegularFile(secrets)) {
				OwnerOnlyFiles.checkNotShared(secrets);
				load(secrets, values);
			}
			return values;
		}

		private static void load(Path file, Map<String, String> into) throws EditException {
			if (!Files.isRegularFile(file)) return;
			Properties p = new Properties();
			try (InputStream in = Files.newInputStream(file)) {
				p.load(in);
			}
			catch (IOException e) {
				throw new EditException(ErrorKind.INVALID_INPUT, "The settings file " + file + " cannot be read: " +
					e.getMessage(), e);
			}
			for (String name : p.stringPropertyNames()) {
				into.put(name, p.getProperty(name));
			}
		}
	}
}
