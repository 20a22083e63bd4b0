package io.github.qwenedit.imagej;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.scijava.ItemVisibility;
import org.scijava.command.Command;
import org.scijava.command.DynamicCommand;
import org.scijava.log.LogService;
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

	@Parameter(label = "DashScope API key", style = TextWidget.PASSWORD_STYLE, persist = false, required = false)
	private String dashscopeKey;

	@Parameter(label = "DashScope base URL", persist = false, required = false)
	private String dashscopeBaseUrl;

	@Parameter(label = "eachlabs API key", style = TextWidget.PASSWORD_STYLE, persist = false, required = false)
	private String eachlabsKey;

	@Parameter(label = "eachlabs base URL", persist = false, required = false)
	private String eachlabsBaseUrl;

	@Parameter(label = "PixelDojo API key", style = TextWidget.PASSWORD_STYLE, persist = false, required = false)
	private String pixeldojoKey;

	@Parameter(label = "PixelDojo base URL", persist = false, required = false)
	private String pixeldojoBaseUrl;

	@Parameter(label = "fal key", style = TextWidget.PASSWORD_STYLE, persist = false, required = false)
	private String falKey;

	@Parameter(label = "fal queue base URL", persist = false, required = false)
	private String falBaseUrl;

	@Parameter(label = "Replicate API token", style = TextWidget.PASSWORD_STYLE, persist = false, required = false)
	private String replicateToken;

	@Parameter(label = "Replicate base URL", persist = false, required = false)
	private String replicateBaseUrl;

	@Parameter(label = "ComfyUI server address", persist = false, required = false)
	private String comfyuiBaseUrl;

	@Parameter(label = "ComfyUI auth header (only behind a proxy)", style = TextWidget.PASSWORD_STYLE, persist = false,
		required = false)
	private String comfyuiAuthHeader;

	@Parameter(label = "ComfyUI workflow file (API format, optional)", persist = false, required = false)
	private String comfyuiWorkflowFile;

	@Parameter(label = "ComfyUI servers for batches (comma-separated, optional)", persist = false, required = false)
	private String comfyuiBaseUrls;

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
		ProviderDescriptor provider = ProviderRegistry.get(page);
		List<String> settings = new ArrayList<>(List.of(Configuration.DEFAULT_PROVIDER, provider.keyVariable(),
			provider.baseUrlVariable()));
		settings.addAll(provider.otherSettings());
		settings.addAll(List.of(Configuration.DEADLINE_SECONDS, Configuration.DOWNLOAD_CAP_MB));
		return List.copyOf(settings);
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

	/** The field of each setting, by its environment variable name. */
	private Map<String, String> fieldsBySetting() {
		Map<String, String> m = new LinkedHashMap<>();
		m.put(Configuration.DEFAULT_PROVIDER, defaultProvider);
		m.put("DASHSCOPE_API_KEY", dashscopeKey);
		m.put("DASHSCOPE_BASE_URL", dashscopeBaseUrl);
		m.put("EACHLABS_API_KEY", eachlabsKey);
		m.put("EACHLABS_BASE_URL", eachlabsBaseUrl);
		m.put("PIXELDOJO_API_KEY", pixeldojoKey);
		m.put("PIXELDOJO_BASE_URL", pixeldojoBaseUrl);
		m.put("FAL_KEY", falKey);
		m.put("FAL_QUEUE_BASE_URL", falBaseUrl);
		m.put("REPLICATE_API_TOKEN", replicateToken);
		m.put("REPLICATE_BASE_URL", replicateBaseUrl);
		m.put("COMFYUI_AUTH_HEADER", comfyuiAuthHeader);
		m.put("COMFYUI_BASE_URL", comfyuiBaseUrl);
		m.put("COMFYUI_WORKFLOW_FILE", comfyuiWorkflowFile);
		m.put("COMFYUI_BASE_URLS", comfyuiBaseUrls);
		m.put("QWEN_EDIT_BUCKET", bucket);
		m.put("AWS_ENDPOINT_URL_S3", bucketEndpoint);
		m.put("AWS_REGION", bucketRegion);
		m.put("QWEN_EDIT_S3_ADDRESSING", bucketAddressing);
		m.put("AWS_ACCESS_KEY_ID", bucketAccessKeyId);
		m.put("AWS_SECRET_ACCESS_KEY", bucketSecret);
		m.put("QWEN_EDIT_URL_TTL_SECONDS", linkLifetime);
		m.put(Configuration.DEADLINE_SECONDS, deadline);
		m.put(Configuration.DOWNLOAD_CAP_MB, downloadCap);
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
		String[] names = { "defaultProvider", "dashscopeKey", "dashscopeBaseUrl", "eachlabsKey", "eachlabsBaseUrl",
			"pixeldojoKey", "pixeldojoBaseUrl", "falKey", "falBaseUrl", "replicateToken", "replicateBaseUrl", "comfyuiAuthHeader",
			"comfyuiBaseUrl", "comfyuiWorkflowFile", "comfyuiBaseUrls", "bucket",
			"bucketEndpoint", "bucketRegion", "bucketAddressing", "bucketAccessKeyId", "bucketSecret", "linkLifetime",
			"deadline", "downloadCap" };
		List<String> settings = new ArrayList<>(fieldsBySetting().keySet());
		int i = settings.indexOf(setting);
		return i < 0 ? null : names[i];
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

	static final List<String> SETTINGS = List.of(Configuration.DEFAULT_PROVIDER, "DASHSCOPE_API_KEY",
		"DASHSCOPE_BASE_URL", "EACHLABS_API_KEY", "EACHLABS_BASE_URL", "PIXELDOJO_API_KEY", "PIXELDOJO_BASE_URL",
		"FAL_KEY", "FAL_QUEUE_BASE_URL", "REPLICATE_API_TOKEN", "REPLICATE_BASE_URL", "COMFYUI_AUTH_HEADER",
		"COMFYUI_BASE_URL", "COMFYUI_WORKFLOW_FILE", "COMFYUI_BASE_URLS", "QWEN_EDIT_BUCKET",
		"AWS_ENDPOINT_URL_S3", "AWS_REGION", "QWEN_EDIT_S3_ADDRESSING", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"QWEN_EDIT_URL_TTL_SECONDS", Configuration.DEADLINE_SECONDS, Configuration.DOWNLOAD_CAP_MB);

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
