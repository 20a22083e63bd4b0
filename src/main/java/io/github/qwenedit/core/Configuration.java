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
	/** The largest result image downloaded, in MiB. */
	public static final String DOWNLOAD_CAP_MB = "QWEN_EDIT_DOWNLOAD_CAP_MB";
	public static final String DEFAULT_PROVIDER = "QWEN_EDIT_DEFAULT_PROVIDER";
	public static final String SETTINGS_FILE = "settings.properties";
	public static final String SECRETS_FILE = "secrets.properties";

	private final Map<String, String> environment;
	private final Map<String, String> stored;
	/** Secrets found in the shared settings file: never used, only masked wherever they might show. */
	private final Map<String, String> ignoredSecrets;
	private final Path settingsFile;

	private Configuration(Map<String, String> environment, Map<String, String> stored) {
		this(environment, stored, Map.of(), null);
	}

	private Configuration(Map<String, String> environment, Map<String, String> stored,
		Map<String, String> ignoredSecrets, Path settingsFile)
	{
		this.environment = Collections.unmodifiableMap(new HashMap<>(environment));
		this.stored = Collections.unmodifiableMap(new HashMap<>(stored));
		this.ignoredSecrets = Collections.unmodifiableMap(new HashMap<>(ignoredSecrets));
		this.settingsFile = settingsFile;
	}

	/** The running process's environment and the settings files in {@link #configDirectory}. */
	public static Configuration fromSystem() throws EditException {
		return fromEnvironment(System.getenv());
	}

	/** {@code environment} and the settings files in the folder it names (or the default folder). */
	public static Configuration fromEnvironment(Map<String, String> environment) throws EditException {
		Path dir = configDirectory(environment);
		Map<String, String> ignored = new HashMap<>();
		Map<String, String> stored = SettingsFiles.read(dir, ignored);
		return new Configuration(environment, stored, ignored, dir.resolve(SETTINGS_FILE));
	}

	/** Where the Settings command stores what the user enters. */
	public Path settingsDirectory() {
		return configDirectory(environment);
	}

	/**
	 * The settings folder whose files this configuration was read from; empty for one given
	 * explicitly ({@link #of}), which reads no file.
	 */
	public Optional<Path> settingsFolderRead() {
		return settingsFile == null ? Optional.empty() : Optional.of(settingsFile.getParent());
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
		if (get(name).isEmpty() && ignoredSecrets.containsKey(name)) {
			throw new EditException(ErrorKind.UNAUTHORIZED, "No " + what + " is configured: " + name + " in " +
				settingsFile + " is not used, because other users can read that file. Remove that line and set the " +
				"environment variable " + name + " or enter it again in Plugins > Qwen Image Edit > Settings, which keeps " +
				"it in " + SECRETS_FILE + ", readable by you only.");
		}
		String value = get(name).orElseThrow(() -> new EditException(ErrorKind.UNAUTHORIZED, "No " + what +
			" is configured: set the environment variable " + name +
			" or enter it in Plugins > Qwen Image Edit > Settings."));
		checkSendableInHeader(name, value);
		return value;
	}

	/**
	 * Keys travel in HTTP headers, which carry only tab and printable ASCII (RFC 9110, section 5.5); a
	 * character copied in with a key, such as a zero-width space, would otherwise fail inside the
	 * HTTP client only once inputs are staged and the job journalled. A bucket's secret, which only
	 * signs, is held to the same characters: with one such character its every signature is refused.
	 * The message gives the setting and the position, never the value.
	 */
	public static void checkSendableInHeader(String name, String value) throws EditException {
		for (int i = 0; i < value.length(); i++) {
			char c = value.charAt(i);
			if (c == '\t' || c >= 0x20 && c <= 0x7e) continue;
			// An invisible character is a paste's leftover and may be named; a visible one (a password's Ö)
			// is part of the secret, and only its position is said.
			boolean invisible = Character.isWhitespace(c) || Character.isISOControl(c) ||
				Character.getType(c) == Character.FORMAT;
			throw new EditException(ErrorKind.UNAUTHORIZED, name + " contains a character that no key has and no " +
				"HTTP header can carry (" + (invisible ? String.format(Locale.ROOT, "U+%04X, an invisible one,", (int) c)
					: "one that is not plain ASCII") + " at position " + (i + 1) + " of " + value.length() + "): copy the " +
				"key again from the provider's page, or type it in Plugins > Qwen Image Edit > Settings.");
		}
	}

	/** Secrets found in the shared {@code settings.properties}, by name: not used (the values are not given). */
	public Set<String> ignoredSecretNames() {
		return ignoredSecrets.keySet();
	}

	/**
	 * A sentence naming the secrets found in the shared settings file, which are not used and which
	 * others may read there, or empty when there are none: worth saying even when the environment
	 * gives the key, since the copy in that file stays exposed.
	 */
	public Optional<String> ignoredSecretsWarning() {
		if (ignoredSecrets.isEmpty()) return Optional.empty();
		return Optional.of(String.join(", ", new java.util.TreeSet<>(ignoredSecrets.keySet())) + " in " + settingsFile +
			" not used, because other users can read that file: remove " + (ignoredSecrets.size() == 1 ? "that line"
				: "those lines") + " and keep keys in the environment or in " + SECRETS_FILE + " (Plugins > Qwen Image " +
			"Edit > Settings puts them there).");
	}

	public int getInt(String name, int defaultValue) throws EditException {
		Optional<String> value = get(name);
		if (!value.isPresent()) return defaultValue;
		String text = value.get().trim();
		try {
			return Integer.parseInt(text);
		}
		catch (NumberFormatException e) {
			if (text.matches("[+-]?[0-9]+")) {
				throw new EditException(ErrorKind.INVALID_INPUT, name + " is too large: \"" + value.get() + "\" is over " +
					"the largest value it can take, " + Integer.MAX_VALUE + ".");
			}
			throw new EditException(ErrorKind.INVALID_INPUT, name + " must be a whole number, not \"" + value.get() + "\".");
		}
	}

	/** Every configured secret value, so that anything shown or written can be checked against them. */
	public Set<String> secretValues() {
		Set<String> secrets = new LinkedHashSet<>();
		for (String name : SettingsFiles.SECRET_NAMES) {
			get(name).ifPresent(secrets::add);
		}
		ignoredSecrets.values().stream().filter(v -> !v.isBlank()).map(String::trim).forEach(secrets::add);
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

	/**
	 * Reads the settings files; a secrets file that others can read is refused, and a secret in the
	 * plain settings file (which need not be private) is set aside unused.
	 */
	static final class SettingsFiles {

		/**
		 * Settings that are secrets, kept in the owner-only file and never shown: the bucket's credentials,
		 * and those the layers above name ({@link SecretSettings}: each provider's key).
		 */
		static final Set<String> SECRET_NAMES = secretNames();

		private SettingsFiles() {}

		private static Set<String> secretNames() {
			Set<String> names = new java.util.HashSet<>(Set.of("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
				"AWS_ACCESS_KEY_ID"));
			int named = 0;
			// The loader of this class, not the thread's: in Fiji the thread's may not see the plugin's jar.
			for (SecretSettings declared : java.util.ServiceLoader.load(SecretSettings.class,
				SecretSettings.class.getClassLoader()))
			{
				names.addAll(declared.names());
				named++;
			}
			// Without them, provider keys would be stored in the shared file and shown unmasked.
			if (named == 0) throw new IllegalStateException("The plugin lacks META-INF/services/" +
				SecretSettings.class.getName() + ", which names the providers' keys as secrets.");
			return Set.copyOf(names);
		}

		static Map<String, String> read(Path dir, Map<String, String> ignoredSecrets) throws EditException {
			Map<String, String> values = new HashMap<>();
			load(dir.resolve(SETTINGS_FILE), values);
			for (String name : SECRET_NAMES) {
				String misplaced = values.remove(name);
				if (misplaced != null) ignoredSecrets.put(name, misplaced);
			}
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
