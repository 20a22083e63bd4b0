package io.github.qwenedit.imagej;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.scijava.ItemVisibility;
import org.scijava.command.Command;
import org.scijava.command.DynamicCommandInfo;
import org.scijava.log.LogService;
import org.scijava.module.DefaultMutableModuleItem;
import org.scijava.module.ModuleItem;
import org.scijava.module.MutableModuleItem;
import org.scijava.plugin.Attr;
import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;
import org.scijava.ui.DialogPrompt;
import org.scijava.ui.UIService;
import org.scijava.widget.TextWidget;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.SettingsStore;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.SettingsField;
import io.github.qwenedit.provider.registry.ProviderRegistry;
import io.github.qwenedit.staging.BucketConfig;
import io.github.qwenedit.staging.S3Bucket;

/**
 * Where a user enters keys and machine settings once. Secrets go to the owner-only secrets file,
 * never to ImageJ's preferences, and the command is never recorded in macros. Fields show no stored
 * secret: a blank key field keeps what is stored, a single "-" removes it.
 */
@Plugin(type = Command.class, menuPath = "Plugins>Qwen Image Edit>Settings...", initializer = "describeSources",
	attrs = { @Attr(name = "no-record") })
public class SettingsCommand extends AttributedDynamicCommand {

	static final String KEEP_HINT = "Keys: leave empty to keep the stored one, type - to remove it.";
	static final String SAVE = "save";
	static final String TEST_PROVIDER = "save, then test the default provider's key";
	static final String TEST_BUCKET = "save, then test the bucket";

	@Parameter
	private QwenEditService editService;

	@Parameter
	private LogService log;

	@Parameter(required = false)
	private UIService ui;

	@Parameter(visibility = ItemVisibility.MESSAGE, persist = false, required = false)
	private String sources = "";

	@Parameter(label = "Default provider", persist = false, required = false)
	private String defaultProvider;

	// Each provider's fields follow here, added from its descriptor (getInfo), so that a provider added to
	// the registry needs no field of its own in this command.

	@Parameter(label = "Bucket (s3://bucket/prefix)", persist = false, required = false)
	private String bucket;

	@Parameter(label = "Bucket endpoint (empty for AWS)", persist = false, required = false)
	private String bucketEndpoint;

	@Parameter(label = "Bucket region", persist = false, required = false)
	private String bucketRegion;

	@Parameter(label = "Bucket addressing (path, virtual or empty)", persist = false, required = false)
	private String bucketAddressing;

	@Parameter(label = "Bucket access key id", style = TextWidget.PASSWORD_STYLE, persist = false, required = false)
	private String bucketAccessKeyId;

	@Parameter(label = "Bucket secret access key", style = TextWidget.PASSWORD_STYLE, persist = false, required = false)
	private String bucketSecret;

	@Parameter(label = "Link lifetime (seconds)", persist = false, required = false)
	private String linkLifetime;

	@Parameter(label = "Deadline of one edit (seconds)", persist = false, required = false)
	private String deadline;

	@Parameter(label = "Largest result downloaded (MiB)", persist = false, required = false)
	private String downloadCap;

	@Parameter(label = "Then", choices = { SAVE, TEST_PROVIDER, TEST_BUCKET }, persist = false)
	private String action = SAVE;

	private String report = "";
	private boolean providerFieldsAdded;

	/** The page of settings for the bucket that stages inputs, next to one page per provider. */
	static final String BUCKET_PAGE = "the bucket (staging)";

	/**
	 * The settings one page of the dialog shows: a provider's, or the bucket's; the deadline on each,
	 * and on a provider's the download cap of its results.
	 */
	static List<String> settingsOf(String page) throws EditException {
		if (BUCKET_PAGE.equals(page)) {
			return List.of("QWEN_EDIT_BUCKET", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "QWEN_EDIT_S3_ADDRESSING",
				"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "QWEN_EDIT_URL_TTL_SECONDS", Configuration.DEADLINE_SECONDS);
		}
		List<String> settings = new ArrayList<>();
		settings.add(Configuration.DEFAULT_PROVIDER);
		settings.addAll(settingsOf(ProviderRegistry.get(page)));
		settings.add(Configuration.DEADLINE_SECONDS);
		settings.add(Configuration.DOWNLOAD_CAP_MB);
		return List.copyOf(settings);
	}

	/** The settings of a provider's fields: its key, its base URL, then any other its descriptor shows. */
	private static List<String> settingsOf(ProviderDescriptor provider) {
		List<String> settings = new ArrayList<>(List.of(provider.keyVariable(), provider.baseUrlVariable()));
		for (SettingsField field : provider.settingsFields()) {
			if (!settings.contains(field.setting())) settings.add(field.setting());
		}
		return settings;
	}

	/**
	 * Adds each provider's fields after the default provider, when SciJava first asks for the
	 * command's inputs: before it assigns the values a script gives by name, and before the dialog.
	 */
	@Override
	public DynamicCommandInfo getInfo() {
		DynamicCommandInfo info = super.getInfo();
		if (!providerFieldsAdded) {
			providerFieldsAdded = true;
			List<ModuleItem<?>> after = new ArrayList<>();
			boolean past = false;
			for (ModuleItem<?> item : info.inputs()) {
				if (past) after.add(item);
				past = past || item.getName().equals(FIELD_NAMES.get(Configuration.DEFAULT_PROVIDER));
			}
			after.forEach(info::removeInput);
			for (ProviderDescriptor provider : ProviderRegistry.all()) {
				for (SettingsField field : provider.settingsFields()) {
					DefaultMutableModuleItem<String> item = new DefaultMutableModuleItem<>(info, field.inputName(), String.class);
					item.setLabel(field.label());
					item.setPersisted(false);
					item.setRequired(false);
					if (SettingsStore.isSecret(field.setting())) item.setWidgetStyle(TextWidget.PASSWORD_STYLE);
					info.addInput(item);
				}
			}
			after.forEach(info::addInput);
		}
		return info;
	}

	/**
	 * Shows only the fields of {@code page}: the others are marked resolved, which SciJava's dialog
	 * skips, and keep what is stored (a secret left empty is kept; a plain field holds its current value).
	 */
	void showOnly(String page) throws EditException {
		List<String> shown = settingsOf(page);
		for (String setting : SETTINGS) {
			String name = fieldName(setting);
			if (!shown.contains(setting) && name != null && !isInputResolved(name)) resolveInput(name);
		}
	}

	/** Asks which provider (or the bucket) to set up, when a screen is there and nothing was given. */
	private Optional<String> askPage(String defaultPage) {
		if (ui == null || ui.isHeadless() || java.awt.GraphicsEnvironment.isHeadless()) return Optional.empty();
		for (String setting : SETTINGS) {
			String name = fieldName(setting);
			if (name != null && isInputResolved(name)) return Optional.empty(); // a script gave the fields
		}
		List<String> pages = new ArrayList<>(ProviderRegistry.ids());
		pages.add(BUCKET_PAGE);
		Object chosen = javax.swing.JOptionPane.showInputDialog(null, "Set up which provider, or the bucket?",
			"Qwen Image Edit Settings", javax.swing.JOptionPane.QUESTION_MESSAGE, null, pages.toArray(), defaultPage);
		return Optional.ofNullable((String) chosen);
	}

	/**
	 * The value of each setting's field, by the setting's environment variable name; read through
	 * {@code getInput}, which reads the declared fields and those added from the descriptors alike.
	 */
	private Map<String, String> fieldsBySetting() {
		Map<String, String> m = new LinkedHashMap<>();
		for (String setting : SETTINGS) {
			m.put(setting, (String) getInput(FIELD_NAMES.get(setting)));
		}
		return m;
	}

	/** Fills the plain fields with their current values and tells where every value comes from. */
	protected void describeSources() {
		MutableModuleItem<String> providerItem = getInfo().getMutableInput("defaultProvider", String.class);
		if (providerItem != null) providerItem.setChoices(ProviderRegistry.ids());
		try {
			Configuration config = editService.configuration();
			if (defaultProvider == null) defaultProvider = config.get(Configuration.DEFAULT_PROVIDER, ProviderRegistry.ids().get(0));
			Optional<String> page = askPage(defaultProvider);
			if (page.isPresent()) showOnly(page.get());
			sources = describe(config, page.isPresent() ? settingsOf(page.get()) : SETTINGS);
			for (ProviderDescriptor p : ProviderRegistry.all()) {
				setIfEmpty(p.baseUrlVariable(), config.get(p.baseUrlVariable(), ""));
				for (String other : p.otherSettings()) {
					setIfEmpty(other, config.get(other, ""));
				}
			}
			for (String plain : new String[] { "QWEN_EDIT_BUCKET", "AWS_ENDPOINT_URL_S3", "AWS_REGION",
				"QWEN_EDIT_S3_ADDRESSING", "QWEN_EDIT_URL_TTL_SECONDS", Configuration.DEADLINE_SECONDS,
				Configuration.DOWNLOAD_CAP_MB })
			{
				setIfEmpty(plain, config.get(plain, ""));
			}
		}
		catch (EditException e) {
			sources = e.getMessage();
		}
	}

	private void setIfEmpty(String setting, String value) {
		String name = fieldName(setting);
		if (name == null) return;
		MutableModuleItem<String> item = getInfo().getMutableInput(name, String.class);
		if (item != null && (item.getValue(this) == null || item.getValue(this).isEmpty())) item.setValue(this, value);
	}

	private String fieldName(String setting) {
		return FIELD_NAMES.get(setting);
	}

	/** One line per setting: where its value comes from, never the value of a secret. */
	static String describe(Configuration config) {
		return describe(config, SETTINGS);
	}

	/** One line for each of {@code settings}: where its value comes from, never the value of a secret. */
	static String describe(Configuration config, List<String> settings) {
		StringBuilder sb = new StringBuilder("<html>Settings are read from the environment first, then from " +
			config.settingsDirectory() + ". " + KEEP_HINT + "<br>");
		for (String setting : settings) {
			Configuration.Source source = config.sourceOf(setting);
			String where = source == Configuration.Source.ENVIRONMENT ? "set in the environment (overrides this dialog)"
				: source == Configuration.Source.SETTINGS_FILE ? "stored in the settings file" : "not set (default)";
			sb.append(setting).append(": ").append(where).append("<br>");
		}
		return sb.append("</html>").toString();
	}

	/**
	 * Each setting of the dialog and the name of its field, in the dialog's order: the default provider,
	 * each provider's (as its descriptor names them), the bucket's, then the limits of an edit.
	 */
	private static final Map<String, String> FIELD_NAMES = fieldNames();

	static final List<String> SETTINGS = List.copyOf(FIELD_NAMES.keySet());

	private static Map<String, String> fieldNames() {
		Map<String, String> names = new LinkedHashMap<>();
		names.put(Configuration.DEFAULT_PROVIDER, "defaultProvider");
		for (ProviderDescriptor provider : ProviderRegistry.all()) {
			for (String setting : settingsOf(provider)) {
				for (SettingsField field : provider.settingsFields()) {
					if (field.setting().equals(setting)) names.put(setting, field.inputName());
				}
			}
		}
		names.put("QWEN_EDIT_BUCKET", "bucket");
		names.put("AWS_ENDPOINT_URL_S3", "bucketEndpoint");
		names.put("AWS_REGION", "bucketRegion");
		names.put("QWEN_EDIT_S3_ADDRESSING", "bucketAddressing");
		names.put("AWS_ACCESS_KEY_ID", "bucketAccessKeyId");
		names.put("AWS_SECRET_ACCESS_KEY", "bucketSecret");
		names.put("QWEN_EDIT_URL_TTL_SECONDS", "linkLifetime");
		names.put(Configuration.DEADLINE_SECONDS, "deadline");
		names.put(Configuration.DOWNLOAD_CAP_MB, "downloadCap");
		return Collections.unmodifiableMap(names);
	}

	@Override
	public void run() {
		Configuration config = null;
		try {
			config = editService.configuration();
			Map<String, String> changes = new LinkedHashMap<>();
			for (Map.Entry<String, String> e : fieldsBySetting().entrySet()) {
				String value = e.getValue() == null ? "" : e.getValue().trim();
				if (SettingsStore.isSecret(e.getKey())) {
					if (value.equals("-")) changes.put(e.getKey(), "");
					else if (!value.isEmpty()) changes.put(e.getKey(), value);
				}
				else {
					changes.put(e.getKey(), value);
				}
			}
			new SettingsStore(config.settingsDirectory()).update(changes);
			config = editService.configuration();
			report = "Settings saved in " + config.settingsDirectory() + ".";
			if (TEST_PROVIDER.equals(action)) report += " " + testProvider(config);
			if (TEST_BUCKET.equals(action)) report += " " + testBucket(config);
			tell(config, report, DialogPrompt.MessageType.INFORMATION_MESSAGE);
		}
		catch (EditException e) {
			report = e.describe();
			tell(config, report, DialogPrompt.MessageType.ERROR_MESSAGE);
		}
	}

	private static Http http(Set<String> plainHttpHosts) {
		return new Http(RetryPolicy.DEFAULT, new Cancellation(), Deadline.after(Duration.ofSeconds(60)), plainHttpHosts);
	}

	static String testProvider(Configuration config) {
		try {
			ProviderDescriptor d = ProviderRegistry.get(config.get(Configuration.DEFAULT_PROVIDER, ProviderRegistry.ids().get(0)));
			return d.create(config).checkKey(http(d.plainHttpHosts(config)));
		}
		catch (EditException e) {
			return e.describe();
		}
	}

	static String testBucket(Configuration config) {
		try {
			Optional<BucketConfig> bucket = BucketConfig.from(config);
			if (!bucket.isPresent()) return "No bucket is configured: enter one above, as s3://bucket/prefix.";
			return new S3Bucket(bucket.get()).selfCheck();
		}
		catch (EditException e) {
			return e.describe();
		}
	}

	private void tell(Configuration config, String message, DialogPrompt.MessageType type) {
		String shown = config == null ? message : config.redact(message);
		report = shown;
		log.info("Qwen Image Edit: " + shown);
		if (ui != null && !ui.isHeadless()) ui.showDialog(shown, "Qwen Image Edit Settings", type);
	}

	/** The sentence shown after the last run, for scripts and tests. */
	public String report() {
		return report;
	}
}
