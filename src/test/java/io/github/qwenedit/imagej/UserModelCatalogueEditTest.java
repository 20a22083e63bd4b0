package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.scijava.Context;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.module.Module;
import org.scijava.module.ModuleService;
import org.scijava.module.MutableModuleItem;

import ij.ImagePlus;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.provider.ModelCatalogue;

/**
 * A model the provider released after this plugin, added by the user in the settings folder's
 * models.json, is run by the Edit Images command as a macro names it, with the limits the user
 * wrote; bad entries beside it are left out with one sentence each, and the built-in models stay.
 */
class UserModelCatalogueEditTest {

	private static final String KEY = "user-catalogue-key:77c1";
	/** Served by DashScope (and its emulator) but not in the built-in catalogue. */
	private static final String NEW_MODEL = "qwen-image-edit-max-2026-01-16";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	@TempDir
	Path settings;

	@Test
	void aModelAddedInTheSettingsFolderIsRunWithItsOwnLimits() throws Exception {
		Files.write(settings.resolve(ModelCatalogue.USER_FILE), String.join("\n",
			"{ \"dashscope\": [",
			"  { \"id\": \"" + NEW_MODEL + "\", \"source\": \"https://www.alibabacloud.com/help/en/model-studio/models\",",
			"    \"max_outputs\": 2, \"size_rule\": \"per_side\", \"min_side\": 512, \"max_side\": 2048,",
			"    \"price\": { \"amount\": 0.5, \"currency\": \"CNY\" } },",
			"  { \"id\": \"qwen-image-typo\", \"source\": \"https://example.org/\", \"size_rule\": \"per_sides\" },",
			"  { \"id\": \"qwen-image-2.0\", \"source\": \"https://example.org/\", \"size_rule\": \"as_input\" }",
			"] }").getBytes(StandardCharsets.UTF_8));
		DashScopeEmulator dashscope = bed.serve(new DashScopeEmulator(KEY));
		Map<String, String> env = bed.env("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope);
		env.put(Configuration.CONFIG_DIR, settings.toString());
		env.put("QWEN_EDIT_USD_PER_CNY", "0.15");
		ImagePlus cells = pattern("cells.tif", 640, 512);
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			Map<String, Object> in = EditCommandRunner.inputs(cells, "dashscope", NEW_MODEL, "remove the scale bar");
			in.put("outputs", 2);
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			assertEquals(2, run.results().size());
			assertEquals(NEW_MODEL, dashscope.lastEdit().model());
			ImagePlus result = run.results().get(0);
			assertEquals(NEW_MODEL, result.getProp(Provenance.MODEL));
			assertEquals("0.150", result.getProp(Provenance.ESTIMATED_COST_USD), "2 × 0.5 CNY at 0.15 USD per CNY");
			assertTrue(result.getProp(Provenance.ESTIMATED_COST_RATE).startsWith("0.15 USD per CNY (set in QWEN_EDIT_USD_PER_CNY"),
				result.getProp(Provenance.ESTIMATED_COST_RATE));

			// The user's limit, not the family's 6, refuses a third output before anything is sent.
			int editsBefore = dashscope.edits().size();
			in.put("outputs", 3);
			EditCommandRunner.Run refused = runner.run(in);
			assertTrue(refused.failed());
			assertTrue(refused.failure().contains(NEW_MODEL) && refused.failure().contains("2"), refused.failure());
			assertEquals(editsBefore, dashscope.edits().size(), "nothing sent");

			// The built-in model whose id the user reused keeps its own limits (6 outputs, a size).
			Map<String, Object> builtIn = EditCommandRunner.inputs(cells, "dashscope", "qwen-image-2.0", "remove the scale bar");
			builtIn.put("size", "1024*768");
			EditCommandRunner.Run kept = runner.run(builtIn);
			assertFalse(kept.failed(), kept.failure());

			List<String> said = runner.log().stream().filter(line -> line.contains(ModelCatalogue.USER_FILE))
				.collect(Collectors.toList());
			assertEquals(2, said.size(), "each bad entry said once over three runs: " + said);
			assertTrue(said.stream().anyMatch(s -> s.contains("\"qwen-image-typo\"") && s.contains("size rule \"per_sides\"")), said.toString());
			assertTrue(said.stream().anyMatch(s -> s.contains("\"qwen-image-2.0\"") && s.contains("built-in")), said.toString());
		}
		assertEquals(0, bed.s3().countObjects(bed.s3().prefix()));
	}

	@Test
	void theDialogOffersTheAddedModelAfterTheBuiltInOnes() throws Exception {
		Files.write(settings.resolve(ModelCatalogue.USER_FILE), ("{ \"dashscope\": [ { \"id\": \"" + NEW_MODEL + "\", " +
			"\"source\": \"https://www.alibabacloud.com/help/en/model-studio/models\", \"size_rule\": \"as_input\" } ] }")
			.getBytes(StandardCharsets.UTF_8));
		try (Context context = new Context(CommandService.class, QwenEditService.class)) {
			context.service(QwenEditService.class).useEnvironment(Map.of(Configuration.CONFIG_DIR, settings.toString(),
				Configuration.DEFAULT_PROVIDER, "dashscope"));
			CommandInfo info = context.service(CommandService.class).getCommand(EditImagesCommand.class);
			Module module = context.service(ModuleService.class).createModule(info);
			module.initialize();
			List<String> offered = ((MutableModuleItem<?>) module.getInfo().getInput("model")).getChoices().stream()
				.map(String::valueOf).collect(Collectors.toList());
			assertEquals(NEW_MODEL, offered.get(offered.size() - 1), offered.toString());
			assertEquals("qwen-image-2.0", offered.get(0), "the built-in default stays first");
		}
	}

	@Test
	void withoutTheUserFileTheModelIsRefusedBeforeAnyCall() throws Exception {
		DashScopeEmulator dashscope = bed.serve(new DashScopeEmulator(KEY));
		Map<String, String> env = bed.env("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope);
		env.put(Configuration.CONFIG_DIR, settings.toString());
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(pattern("cells.tif", 640, 512), "dashscope",
				NEW_MODEL, "remove the scale bar"));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("has no model \"" + NEW_MODEL + "\""), run.failure());
			assertEquals(0, dashscope.edits().size());
		}
	}
}
