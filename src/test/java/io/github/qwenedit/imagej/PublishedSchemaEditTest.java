package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import ij.ImagePlus;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.EmulatedSchema;
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.emulator.PixelDojoEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.emulator.RecordedRequest;
import io.github.qwenedit.emulator.ReplicateEmulator;
import io.github.qwenedit.staging.S3TestServer;

/**
 * eachlabs and PixelDojo publish each model's input schema (issue 18, points 3–5): the Edit Images
 * command reads it once, follows it where it disagrees with the built-in table, refuses before any
 * upload or paid call what it does not allow, and edits with the built-in table when it cannot be read.
 */
class PublishedSchemaEditTest {

	private static final String EACHLABS_KEY = "el-test-key-schema-7d1";
	private static final String PIXELDOJO_KEY = "pd_test_key_schema_4c2";
	private static final String REPLICATE_TOKEN = "r8_test_token_schema_91e";
	private static final String FAL_KEY = "fal-test-key-schema-3b8";
	private static final String FAL_MODEL = "fal-ai/qwen-image-2/edit";
	private static final String FAL_CREATE = "/" + FAL_MODEL;
	private static final String RE_CREATE = "/v1/models/qwen/qwen-image-edit-plus/predictions";
	private static final String PD_CREATE = PixelDojoEmulator.RUN_PATH;
	private static final String EL_CREATE = "/v1/prediction/";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	private final S3TestServer s3 = bed.s3();
	private final EachLabsEmulator eachlabs = bed.serve(
		new EachLabsEmulator(EACHLABS_KEY).processingDelay(Duration.ofMillis(200)));
	private final PixelDojoEmulator pixeldojo = bed.serve(
		new PixelDojoEmulator(PIXELDOJO_KEY).processingDelay(Duration.ofMillis(200)).credits(20));
	private final ReplicateEmulator replicate = bed.serve(
		new ReplicateEmulator(REPLICATE_TOKEN).processingDelay(Duration.ofMillis(200)));
	private final FalEmulator fal = bed.serve(new FalEmulator(FAL_KEY).processingDelay(Duration.ofMillis(200)));
	private final ImagePlus cells = pattern("cells.tif", 480, 400);

	private Map<String, String> env() {
		Map<String, String> env = bed.env("EACHLABS_API_KEY", EACHLABS_KEY, "EACHLABS_BASE_URL", eachlabs);
		env.putAll(bed.env("PIXELDOJO_API_KEY", PIXELDOJO_KEY, "PIXELDOJO_BASE_URL", pixeldojo));
		env.putAll(bed.env("REPLICATE_API_TOKEN", REPLICATE_TOKEN, "REPLICATE_BASE_URL", replicate));
		env.putAll(bed.env("FAL_KEY", FAL_KEY, "FAL_QUEUE_BASE_URL", fal));
		return env;
	}

	private Map<String, Object> eachlabsEdit() {
		return EditCommandRunner.inputs(cells, "eachlabs", "alibaba-qwen-image-2-0-image-edit", "remove the scale bar");
	}

	private Map<String, Object> pixeldojoEdit(String model) {
		return EditCommandRunner.inputs(cells, "pixeldojo", model, "remove the scale bar");
	}

	@Test
	void eachlabsRefusesOptionsItsSchemaLacksBeforeAnyUploadAndSendsOnlyListedFields() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Map<String, Object> withNegative = eachlabsEdit();
			withNegative.put("negativePrompt", "blur");
			EditCommandRunner.Run refused = runner.run(withNegative);
			assertTrue(refused.failed());
			assertTrue(refused.failure().startsWith("Invalid input: ") && refused.failure().contains("negative_prompt") &&
				refused.failure().contains("schema"), refused.failure());

			Map<String, Object> withSeed = eachlabsEdit();
			withSeed.put("seed", "42");
			EditCommandRunner.Run seedRefused = runner.run(withSeed);
			assertTrue(seedRefused.failed() && seedRefused.failure().contains("seed"), seedRefused.failure());
			assertEquals(0, eachlabs.requestCount(EL_CREATE), "nothing the schema lacks may reach a paid call");
			assertEquals(0, eachlabs.uploadCount());
			assertEquals(0, s3.countObjects(s3.prefix()));

			EditCommandRunner.Run plain = runner.run(eachlabsEdit());
			assertFalse(plain.failed(), plain.failure());
			JsonNode input = eachlabs.lastJob().request.json().path("input");
			for (java.util.Iterator<String> names = input.fieldNames(); names.hasNext();) {
				String name = names.next();
				assertTrue(eachlabs.schema().schema().path("properties").has(name), "sent an unlisted field " + name);
			}
			assertEquals(1, eachlabs.schemaReads(), "the schema is read once per session");
		}
	}

	@Test
	void eachlabsFollowsASchemaThatDisagreesWithTheBuiltInTable() throws Exception {
		// The built-in table allows any size of 512*512 to 2048*2048 pixels and up to 6 outputs; this schema has
		// neither size nor n, and knows a seed.
		ObjectNode disagreeing = EmulatedSchema.objectSchema();
		EmulatedSchema.field(disagreeing, "prompt", "string");
		EmulatedSchema.field(disagreeing, "image_urls", "array");
		EmulatedSchema.field(disagreeing, "seed", "integer");
		eachlabs.schema().replaceWith(disagreeing);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Map<String, Object> sized = eachlabsEdit();
			sized.put("size", "1024*1024");
			EditCommandRunner.Run sizeRefused = runner.run(sized);
			assertTrue(sizeRefused.failed() && sizeRefused.failure().contains("size"), sizeRefused.failure());
			Map<String, Object> two = eachlabsEdit();
			two.put("outputs", 2);
			EditCommandRunner.Run twoRefused = runner.run(two);
			assertTrue(twoRefused.failed() && twoRefused.failure().contains("more than 1 output"), twoRefused.failure());
			assertEquals(0, eachlabs.requestCount(EL_CREATE));

			Map<String, Object> seeded = eachlabsEdit();
			seeded.put("seed", "42");
			EditCommandRunner.Run run = runner.run(seeded);
			assertFalse(run.failed(), run.failure());
			JsonNode input = eachlabs.lastJob().request.json().path("input");
			assertEquals(42, input.path("seed").asInt());
			assertFalse(input.has("n") || input.has("prompt_extend"), input.toString());
			assertEquals(1, run.results().size());
		}
	}

	@Test
	void eachlabsEditsWithTheBuiltInTableWhenTheSchemaCannotBeRead() throws Exception {
		eachlabs.schema().serve(EmulatedSchema.Served.FAILS);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run first = runner.run(eachlabsEdit());
			assertFalse(first.failed(), first.failure());
			EditCommandRunner.Run second = runner.run(eachlabsEdit());
			assertFalse(second.failed(), second.failure());
			assertEquals(2, eachlabs.requestCount(EL_CREATE));
			assertEquals(1, eachlabs.schemaReads(), "a schema that could not be read is not asked for again");
			List<String> said = runner.log().stream().filter(l -> l.contains("published schema")).collect(
				java.util.stream.Collectors.toList());
			assertEquals(1, said.size(), runner.log().toString());
			assertTrue(said.get(0).contains("built-in table"), said.get(0));
		}
	}

	@Test
	void pixeldojoRefusesASizeOutsideTheSchemaEnumNamingTheAllowedOnes() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Map<String, Object> in = pixeldojoEdit("qwen-image-2.0");
			in.put("size", "2048*1024"); // within the built-in table's total-pixel bounds
			EditCommandRunner.Run run = runner.run(in);
			assertTrue(run.failed());
			assertTrue(run.failure().startsWith("Invalid input: ") && run.failure().contains("1024*1024") &&
				run.failure().contains("1536*1024"), run.failure());
			assertEquals(0, pixeldojo.requestCount(PD_CREATE));
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertEquals(20, pixeldojo.credits());
		}
	}

	@Test
	void pixeldojoFollowsASchemaThatDisagreesWithTheBuiltInTable() throws Exception {
		ObjectNode disagreeing = PixelDojoEmulator.defaultSchema();
		EmulatedSchema.field(disagreeing, "size", "string", "1664*928", "928*1664");
		EmulatedSchema.field(disagreeing, "model", "string", "qwen-image-2.0");
		((ObjectNode) disagreeing.get("properties")).remove("seed");
		pixeldojo.schema().replaceWith(disagreeing);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run pro = runner.run(pixeldojoEdit("qwen-image-2.0-pro"));
			assertTrue(pro.failed() && pro.failure().contains("qwen-image-2.0-pro") &&
				pro.failure().contains("choose one of qwen-image-2.0."), pro.failure());
			Map<String, Object> seeded = pixeldojoEdit("qwen-image-2.0");
			seeded.put("seed", "7");
			EditCommandRunner.Run seedRefused = runner.run(seeded);
			assertTrue(seedRefused.failed() && seedRefused.failure().contains("seed"), seedRefused.failure());
			assertEquals(0, pixeldojo.requestCount(PD_CREATE));

			Map<String, Object> in = pixeldojoEdit("qwen-image-2.0");
			in.put("size", "1664*928");
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			JsonNode body = pixeldojo.lastJob().request.json();
			assertEquals("1664*928", body.path("size").asText());
			assertFalse(body.has("seed"));
			assertEquals(1, pixeldojo.schemaReads());
		}
	}

	@Test
	void pixeldojoEditsWithTheBuiltInTableWhenTheSchemaHangs() throws Exception {
		pixeldojo.schema().serve(EmulatedSchema.Served.HANGS);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Map<String, Object> in = pixeldojoEdit("qwen-image-2.0");
			in.put("size", "1024*768");
			long started = System.nanoTime();
			EditCommandRunner.Run run = runner.run(in);
			Duration took = Duration.ofNanos(System.nanoTime() - started);
			assertFalse(run.failed(), run.failure());
			assertTrue(took.compareTo(Duration.ofSeconds(15)) < 0, "took " + took);
			assertTrue(runner.log().stream().anyMatch(l -> l.contains("published schema") && l.contains("within 4 s")),
				runner.log().toString());
			assertEquals("1024*768", pixeldojo.lastJob().request.json().path("size").asText());
		}
	}

	@Test
	void pixeldojoReadsASingleOutputImageGivenAsOneString() throws Exception {
		pixeldojo.singleImageOutput();
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(pixeldojoEdit("qwen-image-2.0"));
			assertFalse(run.failed(), run.failure());
			assertEquals(1, run.results().size());
		}
	}

	private Map<String, Object> replicateEdit() {
		return EditCommandRunner.inputs(cells, "replicate", "qwen-image-edit-plus", "remove the scale bar");
	}

	@Test
	void replicateFollowsTheLatestVersionsSchemaWhereItDisagreesWithTheBuiltInTable() throws Exception {
		// The built-in table offers five aspect ratios and a seed; this version takes two ratios, no seed and
		// no output_format.
		ObjectNode disagreeing = EmulatedSchema.objectSchema();
		EmulatedSchema.field(disagreeing, "prompt", "string");
		EmulatedSchema.field(disagreeing, "image", "array");
		EmulatedSchema.field(disagreeing, "aspect_ratio", "string", "1:1", "match_input_image");
		replicate.schema().replaceWith(disagreeing);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Map<String, Object> wide = replicateEdit();
			wide.put("size", "1280*720");
			EditCommandRunner.Run wideRefused = runner.run(wide);
			assertTrue(wideRefused.failed() && wideRefused.failure().contains("16:9") &&
				wideRefused.failure().contains("choose one of 1:1, match_input_image."), wideRefused.failure());
			Map<String, Object> seeded = replicateEdit();
			seeded.put("seed", "3");
			EditCommandRunner.Run seedRefused = runner.run(seeded);
			assertTrue(seedRefused.failed() && seedRefused.failure().contains("seed"), seedRefused.failure());
			assertEquals(0, replicate.requestCount(RE_CREATE));

			Map<String, Object> square = replicateEdit();
			square.put("size", "1024*1024");
			EditCommandRunner.Run run = runner.run(square);
			assertFalse(run.failed(), run.failure());
			JsonNode input = replicate.lastJob().request.json().path("input");
			assertEquals("1:1", input.path("aspect_ratio").asText());
			assertFalse(input.has("output_format"), input.toString());
			assertEquals(1, replicate.schemaReads("qwen-image-edit-plus"));
		}
	}

	@Test
	void replicateEditsWithTheBuiltInTableWhenTheSchemaCannotBeRead() throws Exception {
		replicate.schema().serve(EmulatedSchema.Served.FAILS);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Map<String, Object> seeded = replicateEdit();
			seeded.put("seed", "3");
			EditCommandRunner.Run run = runner.run(seeded);
			assertFalse(run.failed(), run.failure());
			assertEquals(3, replicate.lastJob().request.json().path("input").path("seed").asInt());
			assertTrue(runner.log().stream().anyMatch(l -> l.contains("Replicate's published schema")), runner.log().toString());
		}
	}

	private Map<String, Object> falEdit() {
		return EditCommandRunner.inputs(cells, "fal", FAL_MODEL, "remove the scale bar");
	}

	/** An endpoint's document that disagrees with the built-in table: 2 outputs at most, no seed, no prompt expansion. */
	private static ObjectNode falSchemaOfTwoOutputsWithoutSeed() {
		ObjectNode disagreeing = EmulatedSchema.objectSchema();
		EmulatedSchema.field(disagreeing, "prompt", "string");
		EmulatedSchema.field(disagreeing, "image_urls", "array");
		EmulatedSchema.maximum(EmulatedSchema.field(disagreeing, "num_images", "integer"), "num_images", 2);
		EmulatedSchema.field(disagreeing, "image_size", "object");
		EmulatedSchema.field(disagreeing, "output_format", "string", "jpeg", "png", "webp");
		return disagreeing;
	}

	@Test
	void falFollowsItsEndpointsOpenApiDocumentWhereItDisagreesWithTheBuiltInTable() throws Exception {
		// The built-in table allows 4 outputs, a seed, a negative prompt and prompt expansion for this endpoint.
		fal.schema().replaceWith(falSchemaOfTwoOutputsWithoutSeed());
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Map<String, Object> three = falEdit();
			three.put("outputs", 3);
			EditCommandRunner.Run threeRefused = runner.run(three);
			assertTrue(threeRefused.failed());
			assertTrue(threeRefused.failure().startsWith("Invalid input: ") &&
				threeRefused.failure().contains("at most 2 outputs"), threeRefused.failure());
			Map<String, Object> seeded = falEdit();
			seeded.put("seed", "5");
			EditCommandRunner.Run seedRefused = runner.run(seeded);
			assertTrue(seedRefused.failed() && seedRefused.failure().contains("seed"), seedRefused.failure());
			assertEquals(0, fal.requestCount(FAL_CREATE), "nothing the schema refuses may reach a paid call");
			assertEquals(0, s3.countObjects(s3.prefix()));

			Map<String, Object> two = falEdit();
			two.put("outputs", 2);
			EditCommandRunner.Run run = runner.run(two);
			assertFalse(run.failed(), run.failure());
			assertEquals(2, run.results().size());
			JsonNode body = fal.lastJob().request.json();
			assertEquals(2, body.path("num_images").asInt());
			assertFalse(body.has("enable_prompt_expansion"), "sent a field the document does not list: " + body);

			assertEquals(1, fal.schemaReads().size(), "the document is read once per session");
			RecordedRequest read = fal.schemaReads().get(0);
			assertEquals("endpoint_id=" + FAL_MODEL.replace("/", "%2F"), read.query());
			assertEquals(null, read.header("Authorization"), "the public document was asked for with the key");
		}
	}

	@Test
	void falEditsWithTheBuiltInTableWhenItsSchemaCannotBeRead() throws Exception {
		fal.schema().serve(EmulatedSchema.Served.FAILS);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Map<String, Object> seeded = falEdit();
			seeded.put("seed", "5");
			seeded.put("outputs", 3);
			EditCommandRunner.Run run = runner.run(seeded);
			assertFalse(run.failed(), run.failure());
			assertEquals(3, run.results().size());
			assertEquals(5, fal.lastJob().request.json().path("seed").asInt());
			List<String> said = runner.log().stream().filter(l -> l.contains("fal.ai's published schema")).collect(
				java.util.stream.Collectors.toList());
			assertEquals(1, said.size(), runner.log().toString());
			assertTrue(said.get(0).contains("built-in table"), said.get(0));
		}
	}

	/**
	 * Point 2 of the brief on issue 18: once an edit of this session has read a model's schema, the
	 * Edit Images dialog offers the sizes it lists and at most the outputs it allows, instead of the
	 * built-in table's; it asks the provider nothing itself, and before any schema is known it shows the
	 * built-in table's free size field and output limit.
	 */
	@Test
	void theDialogOffersTheSizesAndOutputCountsOfTheSchemasReadEarlierInTheSession() throws Exception {
		pixeldojo.schema().replaceWith(EmulatedSchema.maximum(PixelDojoEmulator.defaultSchema(), "n", 3));
		fal.schema().replaceWith(falSchemaOfTwoOutputsWithoutSeed());
		Map<String, Object> remembered = Map.of("provider", "pixeldojo", "model", "qwen-image-2.0", "size", "2048*1024",
			"outputs", 4);
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			org.scijava.module.Module unknown = runner.beforeTheDialog(cells, remembered);
			assertTrue(choices(unknown, "size").isEmpty(), "a size list offered with no schema read");
			assertEquals(EditImagesCommand.MAX_OUTPUTS, maximum(unknown, "outputs"));
			assertEquals(0, pixeldojo.schemaReads(), "the dialog asked the provider");

			assertFalse(runner.run(pixeldojoEdit("qwen-image-2.0")).failed());
			assertFalse(runner.run(falEdit()).failed());

			org.scijava.module.Module dialog = runner.beforeTheDialog(cells, remembered);
			List<String> offered = new java.util.ArrayList<>(List.of("as input"));
			PixelDojoEmulator.defaultSchema().path("properties").path("size").path("enum").forEach(v -> offered.add(v.asText()));
			assertEquals(offered, choices(dialog, "size"));
			assertEquals("as input", dialog.getInput("size"), "a size the schema does not list stayed chosen");
			assertEquals(3, maximum(dialog, "outputs"));
			assertEquals(3, dialog.getInput("outputs"), "more outputs than the schema allows stayed chosen");

			// Choosing fal.ai in the dialog: its endpoint's document caps the outputs at 2 and lists no sizes.
			dialog.setInput("provider", "fal");
			dialog.getInfo().getInput("provider").callback(dialog);
			assertEquals(FAL_MODEL, dialog.getInput("model"));
			assertTrue(choices(dialog, "size").isEmpty(), choices(dialog, "size").toString());
			assertEquals(2, maximum(dialog, "outputs"));
			assertEquals(2, dialog.getInput("outputs"));

			// Another fal model, whose document no edit has read: the built-in table again.
			dialog.setInput("model", "fal-ai/qwen-image-edit-plus");
			dialog.getInfo().getInput("model").callback(dialog);
			assertEquals(EditImagesCommand.MAX_OUTPUTS, maximum(dialog, "outputs"));
			assertEquals(1, pixeldojo.schemaReads());
			assertEquals(1, fal.schemaReads().size(), "the dialog asked fal.ai");
		}
	}

	private static List<String> choices(org.scijava.module.Module module, String input) {
		List<?> choices = module.getInfo().getInput(input).getChoices();
		List<String> names = new java.util.ArrayList<>();
		if (choices != null) choices.forEach(c -> names.add(String.valueOf(c)));
		return names;
	}

	private static int maximum(org.scijava.module.Module module, String input) {
		return ((Number) module.getInfo().getInput(input).getMaximumValue()).intValue();
	}
}
