package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.scijava.Context;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.module.Module;
import org.scijava.module.ModuleService;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.staging.S3TestServer;

/** The Settings command stores what the user enters where it is safe, and the edit then uses it. */
class SettingsCommandTest {

	private static final String KEY = "sk-settings-test-55aa";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();
	private final S3TestServer s3 = bed.s3();

	@TempDir
	Path configDir;

	private static SettingsCommand runSettings(Context context, Map<String, Object> inputs) throws Exception {
		CommandInfo info = context.service(CommandService.class).getCommand(SettingsCommand.class);
		Module module = context.service(ModuleService.class).run(info, true, inputs).get(60, TimeUnit.SECONDS);
		return (SettingsCommand) module.getDelegateObject();
	}

	@Test
	void secretsGoToAnOwnerOnlyFileAndTheEditUsesThem() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Map<String, String> env = Map.of(Configuration.CONFIG_DIR, configDir.toString());
			try (EditCommandRunner runner = new EditCommandRunner(env)) {
				Context context = contextOf(runner);
				Map<String, Object> in = new HashMap<>();
				in.put("defaultProvider", "dashscope");
				in.put("dashscopeKey", KEY);
				in.put("dashscopeBaseUrl", dashscope.baseUrl());
				in.put("action", SettingsCommand.TEST_PROVIDER);
				SettingsCommand settings = runSettings(context, in);
				assertTrue(settings.report().contains("DashScope accepted the key"), settings.report());

				Path secrets = configDir.resolve(Configuration.SECRETS_FILE);
				assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(secrets));
				assertTrue(Files.readString(secrets).contains(KEY));
				String plain = Files.readString(configDir.resolve(Configuration.SETTINGS_FILE));
				assertFalse(plain.contains(KEY), "a secret in the plain settings file");
				assertTrue(plain.contains(dashscope.baseUrl().replace(":", "\\:")), plain);

				EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(TestImages.pattern("a.tif", 400, 400),
					"dashscope", "qwen-image-2.0", "sharpen"));
				assertFalse(run.failed(), run.failure());

				// The dialog never shows a secret, and a blank key field keeps the stored one.
				assertFalse(SettingsCommand.describe(runner.editService().configuration()).contains(KEY));
				assertTrue(SettingsCommand.describe(runner.editService().configuration())
					.contains("DASHSCOPE_API_KEY: stored in the settings file"));
				runSettings(context, Map.of("dashscopeKey", "", "action", SettingsCommand.SAVE));
				assertTrue(Files.readString(secrets).contains(KEY));
				runSettings(context, Map.of("dashscopeKey", "-", "action", SettingsCommand.SAVE));
				assertFalse(Files.readString(secrets).contains(KEY));
				for (String line : runner.log()) {
					assertFalse(line.contains(KEY), line);
				}
			}
		}
	}

	/** The download cap is a setting of the dialog, stored in the settings file, and the edit follows it. */
	@Test
	void theDownloadCapIsSetInTheDialogAndTheEditFollowsIt() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			dashscope.oversizedOutputs(2_000_000);
			Map<String, String> env = Map.of(Configuration.CONFIG_DIR, configDir.toString());
			try (EditCommandRunner runner = new EditCommandRunner(env)) {
				Context context = contextOf(runner);
				Map<String, Object> in = new HashMap<>();
				in.put("defaultProvider", "dashscope");
				in.put("dashscopeKey", KEY);
				in.put("dashscopeBaseUrl", dashscope.baseUrl());
				in.put("downloadCap", "1");
				in.put("action", SettingsCommand.SAVE);
				runSettings(context, in);
				assertTrue(Files.readString(configDir.resolve(Configuration.SETTINGS_FILE))
					.contains(Configuration.DOWNLOAD_CAP_MB + "=1"));
				assertTrue(SettingsCommand.settingsOf("dashscope").contains(Configuration.DOWNLOAD_CAP_MB));

				EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(TestImages.pattern("a.tif", 400, 400),
					"dashscope", "qwen-image-2.0", "sharpen"));
				assertTrue(run.failed());
				assertTrue(run.failure().contains("larger than 1 MiB") && run.failure().contains(Configuration.DOWNLOAD_CAP_MB),
					run.failure());
			}
		}
	}

	@Test
	void aWrongKeyAndTheBucketAreTestedInPlainSentences() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Map<String, String> env = Map.of(Configuration.CONFIG_DIR, configDir.toString());
			try (EditCommandRunner runner = new EditCommandRunner(env)) {
				Context context = contextOf(runner);
				Map<String, Object> in = new HashMap<>();
				in.put("dashscopeKey", "sk-wrong-0000");
				in.put("dashscopeBaseUrl", dashscope.baseUrl());
				in.put("action", SettingsCommand.TEST_PROVIDER);
				String wrong = runSettings(context, in).report();
				assertTrue(wrong.contains("refused the API key") && !wrong.contains("sk-wrong-0000"), wrong);

				in = new HashMap<>();
				in.put("bucket", "s3://" + s3.bucket() + "/" + s3.prefix());
				in.put("bucketEndpoint", s3.endpoint());
				in.put("bucketRegion", s3.region());
				in.put("bucketAccessKeyId", s3.accessKeyId());
				in.put("bucketSecret", s3.secretAccessKey());
				in.put("action", SettingsCommand.TEST_BUCKET);
				String bucket = runSettings(context, in).report();
				assertTrue(bucket.startsWith("Settings saved"), bucket);
				assertFalse(bucket.contains(s3.secretAccessKey()), bucket);
				assertFalse(bucket.contains("Bucket problem"), bucket);
				assertEquals(0, s3.countObjects(s3.prefix()));
			}
		}
	}

	@Test
	void aSecretsFileOthersCanReadIsRefusedWithTheFix() throws Exception {
		Path secrets = configDir.resolve(Configuration.SECRETS_FILE);
		Files.writeString(secrets, "DASHSCOPE_API_KEY=" + KEY + "\n");
		Files.setPosixFilePermissions(secrets, Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
			PosixFilePermission.OTHERS_READ));
		try (EditCommandRunner runner = new EditCommandRunner(Map.of(Configuration.CONFIG_DIR, configDir.toString()))) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(TestImages.pattern("a.tif", 400, 400),
				"dashscope", "qwen-image-2.0", "sharpen"));
			assertTrue(run.failure().contains("chmod 600"), run.failure());
			assertFalse(run.failure().contains(KEY));
		}
	}

	@Test
	void theSettingsCommandIsNeverRecorded() {
		try (Context context = new Context()) {
			CommandInfo info = context.service(CommandService.class).getCommand(SettingsCommand.class);
			assertTrue(info.is("no-record"), "Settings must carry the no-record attribute");
			// imagej-legacy's recorder asks the module's own info, which for a dynamic command is another object.
			Module module = context.service(ModuleService.class).createModule(info);
			assertTrue(module.getInfo().is("no-record"), "the module run must carry it too");
		}
	}

	@Test
	void theComfyUiServerIsSetUpAndTestedWithItsAuthHeaderKeptSecret() throws Exception {
		String header = "Authorization: Bearer comfy-settings-token-31c7";
		try (io.github.qwenedit.emulator.ComfyUiEmulator comfy = new io.github.qwenedit.emulator.ComfyUiEmulator(header)) {
			Map<String, String> env = Map.of(Configuration.CONFIG_DIR, configDir.toString());
			try (EditCommandRunner runner = new EditCommandRunner(env)) {
				Map<String, Object> in = new HashMap<>();
				in.put("defaultProvider", "comfyui");
				in.put("comfyuiBaseUrl", comfy.baseUrl());
				in.put("comfyuiAuthHeader", header);
				in.put("comfyuiWorkflowFile", "/lab/workflows/qwen-edit_api.json");
				in.put("action", SettingsCommand.TEST_PROVIDER);
				String report = runSettings(contextOf(runner), in).report();
				assertTrue(report.contains("The ComfyUI server at " + comfy.baseUrl() + "/ answers (version 0.3.75)"), report);
				assertTrue(Files.readString(configDir.resolve(Configuration.SECRETS_FILE)).contains("comfy-settings-token-31c7"));
				assertFalse(Files.readString(configDir.resolve(Configuration.SETTINGS_FILE)).contains("comfy-settings-token"));
				assertEquals("/lab/workflows/qwen-edit_api.json", runner.editService().configuration()
					.get("COMFYUI_WORKFLOW_FILE").orElse(null));
				assertFalse(SettingsCommand.describe(runner.editService().configuration()).contains("comfy-settings-token"));
				assertEquals(List.of(Configuration.DEFAULT_PROVIDER, "COMFYUI_AUTH_HEADER", "COMFYUI_BASE_URL",
					"COMFYUI_WORKFLOW_FILE", "COMFYUI_BASE_URLS", Configuration.DEADLINE_SECONDS, Configuration.DOWNLOAD_CAP_MB), SettingsCommand.settingsOf("comfyui"));
				for (String line : runner.log()) {
					assertFalse(line.contains("comfy-settings-token"), line);
				}
			}
		}
	}

	@Test
	void eachPageShowsOnlyTheFieldsOfTheProviderOrBucketBeingSetUp() throws Exception {
		try (Context context = new Context()) {
			CommandInfo info = context.service(CommandService.class).getCommand(SettingsCommand.class);
			Module module = context.service(ModuleService.class).createModule(info);
			SettingsCommand settings = (SettingsCommand) module.getDelegateObject();
			settings.showOnly("fal");
			for (String shown : List.of("defaultProvider", "falKey", "falBaseUrl", "deadline", "action")) {
				assertFalse(module.isInputResolved(shown), shown + " is asked on fal's page");
			}
			for (String hidden : List.of("dashscopeKey", "dashscopeBaseUrl", "replicateToken", "bucket", "bucketSecret")) {
				assertTrue(module.isInputResolved(hidden), hidden + " is not asked on fal's page");
			}
			Module bucketPage = context.service(ModuleService.class).createModule(info);
			((SettingsCommand) bucketPage.getDelegateObject()).showOnly(SettingsCommand.BUCKET_PAGE);
			assertFalse(bucketPage.isInputResolved("bucketSecret"));
			assertTrue(bucketPage.isInputResolved("falKey") && bucketPage.isInputResolved("defaultProvider"));
			// The 19 fields of five providers and the bucket: no page asks for more than 8 of them.
			for (String page : List.of("dashscope", "eachlabs", "pixeldojo", "fal", "replicate", "comfyui",
				SettingsCommand.BUCKET_PAGE))
			{
				assertTrue(SettingsCommand.settingsOf(page).size() <= 8, page);
			}
		}
	}

	private static Context contextOf(EditCommandRunner runner) {
		return runner.editService().context();
	}
}
