package io.github.qwenedit.provider;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.WeakHashMap;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.http.Http;
import okhttp3.HttpUrl;

/**
 * What is known about a provider before it is used: its models for the dialog, the settings that
 * create it (base URL and key, by environment variable name) and the fields the Settings dialog
 * shows for them. Everything outside the provider's own package learns of it from here, through
 * {@code provider.registry.ProviderRegistry}.
 */
public final class ProviderDescriptor {

	/** Creates the provider once its base URL and key are known. */
	@FunctionalInterface
	public interface Factory {
		EditProvider create(String baseUrl, String key) throws EditException;
	}

	/**
	 * Creates a provider whose uploads and published schemas are on hosts of their own (fal's REST
	 * host and fal.ai beside its queue).
	 */
	@FunctionalInterface
	public interface UploadingFactory {
		EditProvider create(String baseUrl, String uploadBaseUrl, String schemaBaseUrl, String key) throws EditException;
	}

	/**
	 * Creates a provider that reads settings of its own beyond its base URL and key (a ComfyUI
	 * server's workflow file); {@code settings} holds those that are set, by variable name.
	 */
	@FunctionalInterface
	public interface SettingsFactory {
		EditProvider create(String baseUrl, String key, Map<String, String> settings) throws EditException;
	}

	private final String id;
	private final String displayName;
	private final List<ModelSpec> models;
	private final String baseUrlVariable;
	private final String defaultBaseUrl;
	private final String keyVariable;
	private final String keyDescription;
	private final Factory factory;
	private final String uploadBaseUrlVariable;
	private final String defaultUploadBaseUrl;
	private final String schemaBaseUrlVariable;
	private final String defaultSchemaBaseUrl;
	private final UploadingFactory uploadingFactory;
	/** False for a self-hosted server, which runs without a key unless a proxy in front of it asks for one. */
	private final boolean keyRequired;
	private final ProviderLimits limits;
	private final List<SettingsField> settingsFields;
	/** The settings beyond base URL and key that {@link #settingsFactory} is given; empty for most providers. */
	private final List<String> otherSettings;
	/** Those of {@link #otherSettings} that hold server addresses (comma-separated), for the plain-http rule. */
	private final List<String> addressSettings;
	private final SettingsFactory settingsFactory;
	/**
	 * The models of each provider made from a configuration with user-added models. Providers are
	 * built by their own constructors from a base URL and key; keeping their models here leaves those
	 * constructors alone, and a provider no longer used is forgotten with it.
	 */
	private static final Map<EditProvider, List<ModelSpec>> MODELS_BY_PROVIDER = new WeakHashMap<>();

	public ProviderDescriptor(String id, String displayName, List<ModelSpec> models, String baseUrlVariable,
		String defaultBaseUrl, String keyVariable, String keyDescription, Factory factory)
	{
		this(id, displayName, models, baseUrlVariable, defaultBaseUrl, keyVariable, keyDescription, factory, null,
			null, null, null, null, true, ProviderLimits.UNDOCUMENTED, null, List.of(), List.of(), null);
	}

	/**
	 * A provider that uploads inputs to its own host, configured by {@code uploadBaseUrlVariable}, and
	 * publishes its schemas on another, configured by {@code schemaBaseUrlVariable}.
	 */
	public ProviderDescriptor(String id, String displayName, List<ModelSpec> models, String baseUrlVariable,
		String defaultBaseUrl, String uploadBaseUrlVariable, String defaultUploadBaseUrl, String schemaBaseUrlVariable,
		String defaultSchemaBaseUrl, String keyVariable, String keyDescription, UploadingFactory factory)
	{
		this(id, displayName, models, baseUrlVariable, defaultBaseUrl, keyVariable, keyDescription, null,
			uploadBaseUrlVariable, defaultUploadBaseUrl, schemaBaseUrlVariable, defaultSchemaBaseUrl, factory, true,
			ProviderLimits.UNDOCUMENTED, null, List.of(), List.of(), null);
	}

	/** Learned from this provider's jobs while the program runs: one edit after another gets faster. */
	private final JobTimings jobTimings = new JobTimings();

	private ProviderDescriptor(String id, String displayName, List<ModelSpec> models, String baseUrlVariable,
		String defaultBaseUrl, String keyVariable, String keyDescription, Factory factory, String uploadBaseUrlVariable,
		String defaultUploadBaseUrl, String schemaBaseUrlVariable, String defaultSchemaBaseUrl,
		UploadingFactory uploadingFactory, boolean keyRequired, ProviderLimits limits, List<SettingsField> settingsFields,
		List<String> otherSettings, List<String> addressSettings, SettingsFactory settingsFactory)
	{
		this.id = id;
		this.displayName = displayName;
		this.models = List.copyOf(models);
		this.baseUrlVariable = baseUrlVariable;
		this.defaultBaseUrl = defaultBaseUrl;
		this.keyVariable = keyVariable;
		this.keyDescription = keyDescription;
		this.factory = factory;
		this.uploadBaseUrlVariable = uploadBaseUrlVariable;
		this.defaultUploadBaseUrl = defaultUploadBaseUrl;
		this.schemaBaseUrlVariable = schemaBaseUrlVariable;
		this.defaultSchemaBaseUrl = defaultSchemaBaseUrl;
		this.uploadingFactory = uploadingFactory;
		this.keyRequired = keyRequired;
		this.limits = limits;
		this.settingsFields = settingsFields != null ? List.copyOf(settingsFields) : List.of(
			new SettingsField(keyVariable, id + "Key", keyDescription),
			new SettingsField(baseUrlVariable, id + "BaseUrl", displayName + " base URL"));
		this.otherSettings = List.copyOf(otherSettings);
		this.addressSettings = List.copyOf(addressSettings);
		this.settingsFactory = settingsFactory;
	}

	/**
	 * A provider that works without a key (a server of the user's own); {@code keyVariable} is an optional
	 * secret, handed to {@code factory} as null when not set.
	 */
	public static ProviderDescriptor withOptionalKey(String id, String displayName, List<ModelSpec> models,
		String baseUrlVariable, String defaultBaseUrl, String keyVariable, String keyDescription, Factory factory)
	{
		return new ProviderDescriptor(id, displayName, models, baseUrlVariable, defaultBaseUrl, keyVariable,
			keyDescription, factory, null, null, null, null, null, false, ProviderLimits.UNDOCUMENTED, null, List.of(),
			List.of(), null);
	}

	/**
	 * This descriptor with the pace one key may drive the provider at; each provider states its own,
	 * beside the documentation it comes from, and one that states none gets
	 * {@link ProviderLimits#UNDOCUMENTED}.
	 */
	public ProviderDescriptor withLimits(ProviderLimits limits) {
		return new ProviderDescriptor(id, displayName, models, baseUrlVariable, defaultBaseUrl, keyVariable,
			keyDescription, factory, uploadBaseUrlVariable, defaultUploadBaseUrl, schemaBaseUrlVariable,
			defaultSchemaBaseUrl, uploadingFactory, keyRequired, limits, settingsFields, otherSettings, addressSettings,
			settingsFactory);
	}

	/**
	 * This descriptor with the fields the Settings dialog shows for it, in their order; one that names
	 * none shows its key as {@code <id>Key}, labelled with the key's description, then its base URL as
	 * {@code <id>BaseUrl}, labelled "{@code <display name>} base URL".
	 */
	public ProviderDescriptor withSettingsFields(SettingsField... fields) {
		return new ProviderDescriptor(id, displayName, models, baseUrlVariable, defaultBaseUrl, keyVariable,
			keyDescription, factory, uploadBaseUrlVariable, defaultUploadBaseUrl, schemaBaseUrlVariable,
			defaultSchemaBaseUrl, uploadingFactory, keyRequired, limits, List.of(fields), otherSettings, addressSettings,
			settingsFactory);
	}

	/** The fields of the Settings dialog for this provider, in the order it shows them. */
	public List<SettingsField> settingsFields() {
		return settingsFields;
	}

	/**
	 * The settings of this provider that are secrets: its key. Stored in the owner-only file and masked
	 * wherever text is shown ({@code core.Configuration}).
	 */
	public Set<String> secretSettings() {
		return Set.of(keyVariable);
	}

	/**
	 * This descriptor with settings of the provider's own beyond base URL and key, by environment
	 * variable name, which {@code factory} is given (those set) in place of the plain factory.
	 */
	public ProviderDescriptor withSettings(List<String> variables, SettingsFactory factory) {
		return withSettings(variables, List.of(), factory);
	}

	/**
	 * As {@link #withSettings(List, SettingsFactory)}, where {@code addressVariables}, some of
	 * {@code variables}, hold server addresses (comma-separated): plain http is allowed to those the
	 * user configured there, as to the base URL.
	 */
	public ProviderDescriptor withSettings(List<String> variables, List<String> addressVariables,
		SettingsFactory factory)
	{
		return new ProviderDescriptor(id, displayName, models, baseUrlVariable, defaultBaseUrl, keyVariable,
			keyDescription, this.factory, uploadBaseUrlVariable, defaultUploadBaseUrl, schemaBaseUrlVariable,
			defaultSchemaBaseUrl, uploadingFactory, keyRequired, limits, settingsFields, variables, addressVariables, factory);
	}

	/** The provider's settings beyond base URL and key (the Settings dialog shows them on its page). */
	public List<String> otherSettings() {
		return otherSettings;
	}

	/** When this provider's jobs of each kind have ended so far, for {@link JobPoller} to plan its looks. */
	public JobTimings jobTimings() {
		return jobTimings;
	}

	/** How hard one key may drive this provider. */
	public ProviderLimits limits() {
		return limits;
	}

	public String id() {
		return id;
	}

	public String displayName() {
		return displayName;
	}

	/** The built-in models, the default first. */
	public List<ModelSpec> models() {
		return models;
	}

	/**
	 * The built-in models, then those the user added in the settings folder {@code config} was read
	 * from ({@value ModelCatalogue#USER_FILE}, see {@link ModelCatalogue#user}).
	 */
	public List<ModelSpec> models(Configuration config) {
		Optional<Path> folder = config.settingsFolderRead();
		if (!folder.isPresent()) return models;
		List<ModelSpec> all = new ArrayList<>(models);
		all.addAll(ModelCatalogue.userModels(folder.get(), id));
		return List.copyOf(all);
	}

	/** The models of a provider made by {@link #create}: those of the configuration it was made with. */
	List<ModelSpec> models(EditProvider provider) {
		synchronized (MODELS_BY_PROVIDER) {
			return MODELS_BY_PROVIDER.getOrDefault(provider, models);
		}
	}

	/**
	 * Sentences about the user's {@value ModelCatalogue#USER_FILE} not said before in this process: a
	 * bad entry is left out and said once, never an obstacle to the built-in models.
	 */
	public List<String> unreportedCatalogueProblems(Configuration config) {
		return config.settingsFolderRead().map(ModelCatalogue::unreportedProblems).orElse(List.of());
	}

	public String defaultModel() {
		return models.get(0).id();
	}

	public String baseUrlVariable() {
		return baseUrlVariable;
	}

	public String defaultBaseUrl() {
		return defaultBaseUrl;
	}

	public String keyVariable() {
		return keyVariable;
	}

	/** Whether the provider can be created from {@code config}: its key is set, or it needs none. */
	public boolean isConfigured(Configuration config) {
		return !keyRequired || config.get(keyVariable).isPresent();
	}

	public String baseUrl(Configuration config) {
		return config.get(baseUrlVariable, defaultBaseUrl);
	}

	/** Creates the provider, or says exactly which setting is missing. */
	public EditProvider create(Configuration config) throws EditException {
		String key = keyRequired ? config.require(keyVariable, keyDescription) : config.get(keyVariable).orElse(null);
		if (key != null) Configuration.checkSendableInHeader(keyVariable, key);
		EditProvider provider;
		if (uploadingFactory != null) {
			provider = uploadingFactory.create(baseUrl(config), uploadBaseUrl(config), schemaBaseUrl(config), key);
		}
		else if (settingsFactory != null) {
			Map<String, String> settings = new java.util.LinkedHashMap<>();
			for (String variable : otherSettings) {
				config.get(variable).ifPresent(value -> settings.put(variable, value));
			}
			provider = settingsFactory.create(baseUrl(config), key, settings);
		}
		else {
			provider = factory.create(baseUrl(config), key);
		}
		List<ModelSpec> offered = models(config);
		if (offered.size() > models.size()) {
			synchronized (MODELS_BY_PROVIDER) {
				MODELS_BY_PROVIDER.put(provider, offered);
			}
		}
		return provider;
	}

	private String uploadBaseUrl(Configuration config) {
		return config.get(uploadBaseUrlVariable, defaultUploadBaseUrl);
	}

	private String schemaBaseUrl(Configuration config) {
		return config.get(schemaBaseUrlVariable, defaultSchemaBaseUrl);
	}

	/**
	 * Hosts the user configured with plain {@code http://}: only to those does the plugin speak
	 * unencrypted (local gateways, test servers).
	 */
	public Set<String> plainHttpHosts(Configuration config) throws EditException {
		Set<String> hosts = new java.util.HashSet<>();
		HttpUrl base = resolve(baseUrl(config), baseUrlVariable, "");
		if (!base.isHttps()) hosts.add(Http.hostKey(base));
		for (String variable : addressSettings) {
			for (String address : config.get(variable, "").split(",")) {
				if (address.isBlank()) continue;
				HttpUrl url = resolve(address.strip(), variable, "");
				if (!url.isHttps()) hosts.add(Http.hostKey(url));
			}
		}
		if (uploadingFactory != null) {
			HttpUrl upload = resolve(uploadBaseUrl(config), uploadBaseUrlVariable, "");
			if (!upload.isHttps()) hosts.add(Http.hostKey(upload));
			HttpUrl schemas = resolve(schemaBaseUrl(config), schemaBaseUrlVariable, "");
			if (!schemas.isHttps()) hosts.add(Http.hostKey(schemas));
		}
		return Set.copyOf(hosts);
	}

	/** The configured base URL joined with an API path; a clear message when it is no address. */
	public static HttpUrl resolve(String baseUrl, String variable, String path) throws EditException {
		HttpUrl base = HttpUrl.parse(baseUrl.endsWith("/") ? baseUrl : baseUrl + "/");
		if (base == null) {
			throw new EditException(ErrorKind.INVALID_INPUT, variable + " must be an http:// or https:// address, not \"" +
				baseUrl + "\".");
		}
		HttpUrl joined = base.resolve(path);
		if (joined == null) {
			throw new EditException(ErrorKind.INVALID_INPUT, variable + " \"" + baseUrl + "\" cannot be used as a base address.");
		}
		return joined;
	}
}
