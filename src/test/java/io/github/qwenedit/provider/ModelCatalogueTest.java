package io.github.qwenedit.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.core.UsdPerCny;
import io.github.qwenedit.provider.registry.ProviderRegistry;

/** The catalogue file: every built-in entry passes, and each kind of bad entry is named and left out alone. */
class ModelCatalogueTest {

	private static final String GOOD = "{ \"id\": \"good\", \"source\": \"https://example.org/good\", \"max_outputs\": 2," +
		" \"size_rule\": \"per_side\", \"min_side\": 512, \"max_side\": 2048 }";

	@Test
	void theBuiltInCatalogueGivesEveryProviderItsModels() {
		assertEquals(ProviderRegistry.ids(), ModelCatalogue.providers(), "the catalogue knows the registry's providers");
		assertTrue(ModelCatalogue.builtIn().problems().isEmpty());
		for (ProviderDescriptor d : ProviderRegistry.all()) {
			List<String> ids = d.models().stream().map(ModelSpec::id).collect(Collectors.toList());
			assertEquals(ModelCatalogue.builtIn().of(d.id()).stream().map(ModelCatalogue.Entry::id).collect(Collectors.toList()), ids);
			for (ModelCatalogue.Entry e : ModelCatalogue.builtIn().of(d.id())) {
				assertTrue(e.source().startsWith("https://"), e.id());
			}
		}
		ModelSpec plus = model("dashscope", "qwen-image-edit-plus");
		assertTrue(plus.sizeOnlyWithOneOutput());
		assertEquals(10_000_000L, plus.maxImageBytes());
		assertEquals(0.220177, plus.priceAmount());
		assertEquals(ModelSpec.CNY, plus.priceCurrency());
		assertFalse(model("dashscope", "qwen-image-edit").supportsPromptExtend());
		assertEquals(1, model("replicate", "qwen-image-edit").maxImages());
		assertFalse(model("replicate", "qwen-image-edit-2511").supportsNegativePrompt());
		assertEquals("aspect ratio 1:1, 16:9, 9:16, 4:3, 3:4", model("replicate", "qwen-image-edit-plus").sizeRule().describe());
		assertFalse(model("fal", "fal-ai/qwen-image-edit-plus").defaultSizeFollowsInput());
		assertEquals(0.035, model("eachlabs", "alibaba-qwen-image-2-0-image-edit").pricePerImageUsd());
		assertEquals(ModelSpec.CREDIT, model("pixeldojo", "qwen-image-2.0").priceCurrency());
	}

	@Test
	void eachBadEntryIsLeftOutWithASentenceNamingTheFileAndTheEntry() {
		String json = "{ \"dashscope\": [ " + GOOD + ",\n" +
			"{ \"id\": \"rule\", \"source\": \"https://x.org/\", \"size_rule\": \"per_pixel\" },\n" +
			"{ \"id\": \"minmax\", \"source\": \"https://x.org/\", \"size_rule\": \"total_pixels\", \"min_side\": 2048, \"max_side\": 512 },\n" +
			"{ \"id\": \"none\", \"source\": \"https://x.org/\", \"size_rule\": \"as_input\", \"max_outputs\": 0 },\n" +
			GOOD + ",\n" +
			"{ \"id\": \"field\", \"source\": \"https://x.org/\", \"size_rule\": \"as_input\", \"max_output\": 2 },\n" +
			"{ \"id\": \"nosource\", \"size_rule\": \"as_input\" },\n" +
			"{ \"id\": \"aspect\", \"source\": \"https://x.org/\", \"size_rule\": \"aspect_ratio\" },\n" +
			"{ \"id\": \"yen\", \"source\": \"https://x.org/\", \"size_rule\": \"as_input\", \"price\": { \"amount\": 1, \"currency\": \"JPY\" } },\n" +
			"{ \"id\": \"flat\", \"source\": \"https://x.org/\", \"size_rule\": \"as_input\", \"input_min_side\": 0 }\n" +
			"], \"dashscop\": [ " + GOOD + " ] }";
		ModelCatalogue.Parsed parsed = ModelCatalogue.parse("/home/me/models.json", json.getBytes(StandardCharsets.UTF_8), Set.of());
		assertEquals(List.of("good"), parsed.entries().stream().map(ModelCatalogue.Entry::id).collect(Collectors.toList()));
		List<String> problems = parsed.problems();
		assertEquals(10, problems.size(), problems.toString());
		for (String p : problems) {
			assertTrue(p.startsWith("/home/me/models.json: "), p);
			assertTrue(p.endsWith("."), p);
		}
		assertTrue(problems.get(0).contains("model 2 \"rule\" is left out: it has the unknown size rule \"per_pixel\""), problems.get(0));
		assertTrue(problems.get(1).contains("\"minmax\"") && problems.get(1).contains("\"min_side\" 2048 above \"max_side\" 512"), problems.get(1));
		assertTrue(problems.get(2).contains("\"none\"") && problems.get(2).contains("fewer than 1 output"), problems.get(2));
		assertTrue(problems.get(3).contains("model 5 \"good\"") && problems.get(3).contains("repeats an id"), problems.get(3));
		assertTrue(problems.get(4).contains("\"field\"") && problems.get(4).contains("unknown field \"max_output\""), problems.get(4));
		assertTrue(problems.get(5).contains("\"nosource\"") && problems.get(5).contains("\"source\""), problems.get(5));
		assertTrue(problems.get(6).contains("\"aspect\"") && problems.get(6).contains("only replicate"), problems.get(6));
		assertTrue(problems.get(7).contains("\"yen\"") && problems.get(7).contains("currency"), problems.get(7));
		assertTrue(problems.get(8).contains("\"flat\"") && problems.get(8).contains("\"input_min_side\" 0, outside 1–3072"),
			problems.get(8));
		assertTrue(problems.get(9).contains("\"dashscop\" is no provider"), problems.get(9));
	}

	@Test
	void aFileThatIsNotJsonOrRepeatsAKeyIsSaidInOneSentence() {
		ModelCatalogue.Parsed broken = ModelCatalogue.parse("m.json", "{ \"fal\": [ ".getBytes(StandardCharsets.UTF_8), Set.of());
		assertTrue(broken.entries().isEmpty());
		assertTrue(broken.problems().get(0).startsWith("m.json is not valid JSON ("), broken.problems().toString());
		ModelCatalogue.Parsed twice = ModelCatalogue.parse("m.json",
			"{ \"fal\": [], \"fal\": [] }".getBytes(StandardCharsets.UTF_8), Set.of());
		assertTrue(twice.problems().get(0).contains("not valid JSON"), twice.problems().toString());
	}

	@Test
	void userModelsJoinTheBuiltInOnesOnlyThroughTheSettingsFolder(@TempDir Path folder) throws Exception {
		Files.write(folder.resolve(ModelCatalogue.USER_FILE), ("{ \"replicate\": [ { \"id\": \"qwen-image-edit-3000\"," +
			" \"source\": \"https://replicate.com/qwen\", \"size_rule\": \"aspect_ratio\" }, { \"id\": \"qwen-image-edit\"," +
			" \"source\": \"https://replicate.com/qwen\", \"size_rule\": \"as_input\" } ] }").getBytes(StandardCharsets.UTF_8));
		Configuration config = Configuration.fromEnvironment(Map.of(Configuration.CONFIG_DIR, folder.toString()));
		ProviderDescriptor replicate = ProviderRegistry.get("replicate");
		List<ModelSpec> models = replicate.models(config);
		assertEquals(replicate.models().size() + 1, models.size());
		ModelSpec added = models.get(models.size() - 1);
		assertEquals("qwen-image-edit-3000", added.id());
		assertEquals(model("replicate", "qwen-image-edit-plus").sizeRule().describe(), added.sizeRule().describe(),
			"the provider's own aspect-ratio rule");
		ModelSpec kept = models.stream().filter(m -> m.id().equals("qwen-image-edit")).findFirst().get();
		assertEquals(1, models.stream().filter(m -> m.id().equals("qwen-image-edit")).count());
		assertEquals("aspect ratio 1:1, 16:9, 9:16, 4:3, 3:4", kept.sizeRule().describe(), "the built-in qwen-image-edit is unchanged");
		List<String> first = replicate.unreportedCatalogueProblems(config);
		assertEquals(1, first.size(), first.toString());
		assertTrue(first.get(0).contains("built-in"), first.get(0));
		assertTrue(replicate.unreportedCatalogueProblems(config).isEmpty(), "said once");
		assertEquals(replicate.models(), replicate.models(Configuration.of(Map.of())), "an explicit configuration reads no file");
	}

	@Test
	void aPriceInYuanIsConvertedAtTheConfiguredRateAndSaysWhichOne(@TempDir Path folder) throws Exception {
		ModelSpec edit = model("dashscope", "qwen-image-edit");
		UsdPerCny set = UsdPerCny.from(Configuration.of(Map.of(UsdPerCny.VARIABLE, "0.2")));
		assertEquals(0.330266 * 0.2 * 2, edit.estimatedCostUsd(2, set).getAsDouble(), 1e-12);
		assertEquals("$0.132 (0.660532 CNY at 0.2 USD per CNY (set in QWEN_EDIT_USD_PER_CNY))", edit.describeCost(2, set));
		assertTrue(edit.describeCost(1, UsdPerCny.from(Configuration.of(Map.of()))).contains("0.14 USD per CNY (default of " +
			UsdPerCny.DEFAULT_TAKEN), "the default rate and its date");
		assertFalse(edit.estimatedCostUsd(1).isPresent(), "no dollar list price");
		assertEquals("2 credits (no dollar price)", model("pixeldojo", "qwen-image-2.0").describeCost(2, set));
		assertEquals("unknown (no list price for this model)", model("fal", "fal-ai/qwen-image-2/edit").describeCost(1, set));
		Files.write(folder.resolve(Configuration.SETTINGS_FILE), (UsdPerCny.VARIABLE + "=0.125\n").getBytes(StandardCharsets.UTF_8));
		UsdPerCny stored = UsdPerCny.from(Configuration.fromEnvironment(Map.of(Configuration.CONFIG_DIR, folder.toString())));
		assertEquals("0.125 USD per CNY (set in QWEN_EDIT_USD_PER_CNY)", stored.describe(), "read from settings.properties");
		EditException bad = assertThrows(EditException.class,
			() -> UsdPerCny.from(Configuration.of(Map.of(UsdPerCny.VARIABLE, "-1"))));
		assertTrue(bad.getMessage().contains("QWEN_EDIT_USD_PER_CNY must be a positive number"), bad.getMessage());
	}

	private static ModelSpec model(String provider, String id) {
		try {
			return ProviderRegistry.get(provider).models().stream().filter(m -> m.id().equals(id)).findFirst().orElseThrow();
		}
		catch (EditException e) {
			throw new AssertionError(e);
		}
	}
}
