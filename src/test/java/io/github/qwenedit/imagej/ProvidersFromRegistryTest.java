package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.scijava.Context;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.module.Module;
import org.scijava.module.ModuleItem;
import org.scijava.module.ModuleService;
import org.scijava.widget.TextWidget;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.SettingsStore;
import io.github.qwenedit.provider.ModelCatalogue;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.SettingsField;
import io.github.qwenedit.provider.registry.ProviderRegistry;

/**
 * A provider is known to the rest of the plugin through its descriptor and the registry's one line:
 * the Settings dialog's fields, the secret names and the model catalogue's providers are built from
 * them, and come out as they were when each was a list of its own.
 */
class ProvidersFromRegistryTest {

	/** The dialog as it was when its fields were written out one by one: names, labels, order. */
	private static final Map<String, String> DIALOG = new LinkedHashMap<>();
	static {
		DIALOG.put("sources", null);
		DIALOG.put("defaultProvider", "Default provider");
		DIALOG.put("dashscopeKey", "DashScope API key");
		DIALOG.put("dashscopeBaseUrl", "DashScope base URL");
		DIALOG.put("eachlabsKey", "eachlabs API key");
		DIALOG.put("eachlabsBaseUrl", "eachlabs base URL");
		DIALOG.put("pixeldojoKey", "PixelDojo API key");
		DIALOG.put("pixeldojoBaseUrl", "PixelDojo base URL");
		DIALOG.put("falKey", "fal key");
		DIALOG.put("falBaseUrl", "fal queue base URL");
		DIALOG.put("replicateToken", "Replicate API token");
		DIALOG.put("replicateBaseUrl", "Replicate base URL");
		DIALOG.put("comfyuiBaseUrl", "ComfyUI server address");
		DIALOG.put("comfyuiAuthHeader", "ComfyUI auth header (only behind a proxy)");
		DIALOG.put("comfyuiWorkflowFile", "ComfyUI workflow file (API format, optional)");
		DIALOG.put("comfyuiBaseUrls", "ComfyUI servers for batches (comma-separated, optional)");
		DIALOG.put("bucket", "Bucket (s3://bucket/prefix)");
		DIALOG.put("bucketEndpoint", "Bucket endpoint (empty for AWS)");
		DIALOG.put("bucketRegion", "Bucket region");
		DIALOG.put("bucketAddressing", "Bucket addressing (path, virtual or empty)");
		DIALOG.put("bucketAccessKeyId", "Bucket access key id");
		DIALOG.put("bucketSecret", "Bucket secret access key");
		DIALOG.put("linkLifetime", "Link lifetime (seconds)");
		DIALOG.put("deadline", "Deadline of one edit (seconds)");
		DIALOG.put("downloadCap", "Largest result downloaded (MiB)");
		DIALOG.put("action", "Then");
	}

	@Test
	void everyProviderOfTheRegistryHasItsDescriptorsFieldsInTheSettingsDialog() {
		try (Context context = new Context()) {
			CommandInfo info = context.service(CommandService.class).getCommand(SettingsCommand.class);
			Module module = context.service(ModuleService.class).createModule(info);
			List<String> names = new ArrayList<>();
			for (ModuleItem<?> item : module.getInfo().inputs()) {
				if (item.getType() == String.class) names.add(item.getName());
			}
			assertEquals(new ArrayList<>(DIALOG.keySet()), names, "the dialog's fields in their order");
			for (ProviderDescriptor provider : ProviderRegistry.all()) {
				List<String> settings = new ArrayList<>();
				for (SettingsField field : provider.settingsFields()) {
					ModuleItem<?> item = module.getInfo().getInput(field.inputName());
					assertNotNull(item, field.inputName());
					assertEquals(field.label(), item.getLabel());
					assertEquals(DIALOG.get(field.inputName()), item.getLabel());
					boolean secret = provider.secretSettings().contains(field.setting());
					assertEquals(secret, SettingsStore.isSecret(field.setting()), field.setting());
					assertEquals(secret, TextWidget.PASSWORD_STYLE.equals(item.getWidgetStyle()), field.inputName());
					assertFalse(item.isPersisted(), field.inputName());
					settings.add(field.setting());
				}
				assertTrue(settings.contains(provider.keyVariable()) && settings.contains(provider.baseUrlVariable()),
					provider.id() + " shows its key and its base URL");
				assertTrue(SettingsCommand.SETTINGS.containsAll(settings), provider.id());
			}
		}
	}

	@Test
	void everyProvidersKeyIsASecretThatIsStoredApartAndMasked(@TempDir Path folder) throws Exception {
		Map<String, String> values = new LinkedHashMap<>();
		for (ProviderDescriptor provider : ProviderRegistry.all()) {
			assertEquals(java.util.Set.of(provider.keyVariable()), provider.secretSettings(), provider.id());
			assertTrue(SettingsStore.isSecret(provider.keyVariable()), provider.keyVariable());
			assertFalse(SettingsStore.isSecret(provider.baseUrlVariable()), provider.baseUrlVariable());
			values.put(provider.keyVariable(), "secret-of-" + provider.id() + "-7f3a");
		}
		new SettingsStore(folder).update(values);
		String shared = Files.exists(folder.resolve(Configuration.SETTINGS_FILE))
			? Files.readString(folder.resolve(Configuration.SETTINGS_FILE)) : "";
		String secrets = Files.readString(folder.resolve(Configuration.SECRETS_FILE), StandardCharsets.ISO_8859_1);
		Configuration config = Configuration.fromEnvironment(Map.of(Configuration.CONFIG_DIR, folder.toString()));
		for (Map.Entry<String, String> e : values.entrySet()) {
			assertTrue(secrets.contains(e.getKey() + "=" + e.getValue()), e.getKey());
			assertFalse(shared.contains(e.getValue()), e.getKey());
			assertEquals("key ****", config.redact("key " + e.getValue()), e.getKey());
		}
	}

	@Test
	void theCataloguesProvidersAreTheRegistrys(@TempDir Path folder) throws Exception {
		assertEquals(ProviderRegistry.ids(), ModelCatalogue.providers());
		StringBuilder json = new StringBuilder("{");
		for (String id : ProviderRegistry.ids()) {
			if (json.length() > 1) json.append(", ");
			json.append("\"").append(id).append("\": [ { \"id\": \"added-").append(id)
				.append("\", \"source\": \"https://example.org/\", \"size_rule\": \"as_input\" } ]");
		}
		Files.writeString(folder.resolve(ModelCatalogue.USER_FILE), json.append(" }"));
		Configuration config = Configuration.fromEnvironment(Map.of(Configuration.CONFIG_DIR, folder.toString()));
		for (ProviderDescriptor provider : ProviderRegistry.all()) {
			List<String> ids = new ArrayList<>();
			provider.models(config).forEach(m -> ids.add(m.id()));
			assertTrue(ids.contains("added-" + provider.id()), provider.id() + ": " + ids);
		}
		assertTrue(ModelCatalogue.user(folder).problems().isEmpty(), ModelCatalogue.user(folder).problems().toString());
	}

	/** What a provider added next brings with it: fields and secrets from its descriptor alone. */
	@Test
	void aNewProvidersDescriptorNamesItsFieldsAndItsSecret() {
		ProviderDescriptor acme = new ProviderDescriptor("acme", "Acme", List.of(), "ACME_BASE_URL", "https://acme.example",
			"ACME_API_KEY", "Acme API key", (baseUrl, key) -> {
				throw new AssertionError("not created");
			});
		List<String> fields = new ArrayList<>();
		for (SettingsField f : acme.settingsFields()) {
			fields.add(f.setting() + " " + f.inputName() + " " + f.label());
		}
		assertEquals(List.of("ACME_API_KEY acmeKey Acme API key", "ACME_BASE_URL acmeBaseUrl Acme base URL"), fields);
		assertEquals(java.util.Set.of("ACME_API_KEY"), acme.secretSettings());
	}
}
