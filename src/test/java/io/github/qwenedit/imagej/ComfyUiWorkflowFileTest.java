package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.EditedResults.assertEditedPixels;
import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import ij.ImagePlus;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.ComfyUiEmulator;
import io.github.qwenedit.emulator.EmulatorServer;
import io.github.qwenedit.emulator.ProviderTestBed;

/**
 * A workflow of the user's own (ComfyUI's "Save (API format)" export, with {@code qwen-edit:...}
 * markers in the node titles) run through Edit Images: the marked inputs filled in, the rest of the
 * graph sent as the user made it, the results taken from the marked output; a file the server could
 * not run is refused in one sentence before anything is uploaded or queued.
 */
class ComfyUiWorkflowFileTest {

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	@TempDir
	Path work;

	private final ComfyUiEmulator comfy = bed.serve(new ComfyUiEmulator().processingDelay(Duration.ofMillis(100)));
	private final ImagePlus cells = pattern("cells.tif", 480, 400);

	private static ObjectNode exported() throws Exception {
		return (ObjectNode) EmulatorServer.JSON.readTree(ComfyUiWorkflowFileTest.class
			.getResourceAsStream("/comfyui/marked-workflow_api.json"));
	}

	private Path write(String name, Object content) throws Exception {
		Path file = work.resolve(name);
		Files.writeString(file, content instanceof String ? (String) content : EmulatorServer.JSON.writeValueAsString(content));
		return file;
	}

	private Map<String, String> env(Path workflow) {
		Map<String, String> env = new HashMap<>();
		env.put("COMFYUI_BASE_URL", comfy.baseUrl());
		env.put("COMFYUI_WORKFLOW_FILE", workflow.toString());
		return env;
	}

	private Map<String, Object> inputs() {
		return EditCommandRunner.inputs(cells, "comfyui", "qwen-image-edit-2509", "remove the scale bar");
	}

	@Test
	void theMarkedInputsAreFilledInAndTheRestOfTheUsersGraphIsSentAsItIs() throws Exception {
		Path file = write("lab-edit_api.json", exported());
		Map<String, Object> in = inputs();
		in.put("seed", "7");
		in.put("negativePrompt", "blurry");
		try (EditCommandRunner runner = new EditCommandRunner(env(file))) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			assertEquals(1, comfy.prompts().size());
			JsonNode graph = comfy.lastPrompt().graph;
			assertEquals(11, graph.size(), "nodes were added to or taken from the user's graph");
			String uploaded = comfy.inputFiles().iterator().next();
			assertEquals(uploaded, graph.path("78").path("inputs").path("image").asText());
			assertEquals("remove the scale bar", graph.path("111").path("inputs").path("prompt").asText());
			assertEquals("blurry", graph.path("110").path("inputs").path("prompt").asText());
			assertEquals(7, graph.path("3").path("inputs").path("seed").asLong());
			assertEquals(4, graph.path("3").path("inputs").path("steps").asInt(), "the user's own steps were changed");
			assertEquals(1.0, graph.path("3").path("inputs").path("cfg").asDouble());
			assertEquals(480, graph.path("112").path("inputs").path("width").asInt());
			assertEquals(400, graph.path("112").path("inputs").path("height").asInt());
			assertEquals("lab/qwen-edit", graph.path("60").path("inputs").path("filename_prefix").asText());
			assertEquals("Load Image qwen-edit:image1", graph.path("78").path("_meta").path("title").asText());

			// Node 61 saves a copy too; only the marked output's image is the result.
			assertEquals(1, run.results().size());
			ImagePlus result = run.results().get(0);
			assertEditedPixels(result, ImageIO.read(new ByteArrayInputStream(comfy.uploadedBytes(uploaded))), 0);
			assertEquals("user's file", result.getProp(Provenance.PREFIX + "ComfyUIWorkflow"));
			assertEquals("lab-edit_api.json", result.getProp(Provenance.PREFIX + "ComfyUIWorkflowFile"));
			assertTrue(result.getProp(Provenance.PREFIX + "ComfyUIWorkflowSHA256").matches("[0-9a-f]{64}"));
			assertEquals("7", result.getProp(Provenance.SEED));
			assertEquals("480*400", result.getProp(Provenance.PREFIX + "SizeSent"));
			assertEquals("qwen_image_edit_2509_fp8_e4m3fn.safetensors",
				result.getProp(Provenance.PREFIX + "ComfyUIDiffusionModel"));
		}
	}

	@Test
	void theBuiltInGraphIsRecordedAsSuch() throws Exception {
		Map<String, String> env = new HashMap<>();
		env.put("COMFYUI_BASE_URL", comfy.baseUrl());
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs());
			assertFalse(run.failed(), run.failure());
			assertEquals("built-in", run.results().get(0).getProp(Provenance.PREFIX + "ComfyUIWorkflow"));
		}
	}

	@Test
	void aFileTheServerCouldNotRunIsRefusedInOneSentenceBeforeAnythingIsUploaded() throws Exception {
		Map<String, String> refusals = new LinkedHashMap<>();
		refusals.put(write("missing-node_api.json", changed(g -> g.putObject("200").put("class_type",
			"ImpactWildcardProcessor").putObject("inputs"))).toString(),
			"uses node type ImpactWildcardProcessor, which the ComfyUI server at " + comfy.baseUrl() + "/ does not have");
		refusals.put(write("no-image-marker_api.json", changed(g -> ((ObjectNode) g.get("78").get("_meta"))
			.put("title", "Load Image"))).toString(), "has no node marked qwen-edit:image1");
		refusals.put(write("dangling-link_api.json", changed(g -> ((ArrayNode) g.get("8").get("inputs").get("vae"))
			.set(0, "999"))).toString(), "node 8 (VAEDecode) takes vae from node 999, which the workflow lacks");
		refusals.put(write("wrong-type-link_api.json", changed(g -> ((ArrayNode) g.get("8").get("inputs").get("vae"))
			.set(0, "38"))).toString(), "node 8 (VAEDecode) takes vae (VAE) from node 38 (CLIPLoader), whose output is CLIP");
		refusals.put(write("missing-input_api.json", changed(g -> ((ObjectNode) g.get("3").get("inputs"))
			.remove("model"))).toString(), "node 3 (KSampler) lacks its required input model");
		refusals.put(write("model-file_api.json", changed(g -> ((ObjectNode) g.get("37").get("inputs"))
			.put("unet_name", "qwen_image_edit_bf16.safetensors"))).toString(),
			"asks for unet_name \"qwen_image_edit_bf16.safetensors\", which the ComfyUI server does not have");
		refusals.put(write("unknown-marker_api.json", changed(g -> ((ObjectNode) g.get("61").get("_meta"))
			.put("title", "qwen-edit:mask"))).toString(), "qwen-edit:mask, which is no marker of this plugin");
		refusals.put(write("cycle_api.json", changed(g -> ((ObjectNode) g.get("3").get("inputs")).set("latent_image",
			EmulatorServer.JSON.createArrayNode().add("3").add(0)))).toString(),
			"node 3 (KSampler) takes an input, through its links, from its own output");
		refusals.put(write("editor-format.json", "{\"last_node_id\": 9, \"nodes\": [], \"links\": []}").toString(),
			"is a workflow saved for ComfyUI's editor, not for its API");
		refusals.put(write("not-json_api.json", "{\"3\": {").toString(), "is not JSON");
		refusals.put(work.resolve("absent_api.json").toString(), "does not exist");
		for (Map.Entry<String, String> refusal : refusals.entrySet()) {
			Map<String, String> env = env(Path.of(refusal.getKey()));
			try (EditCommandRunner runner = new EditCommandRunner(env)) {
				EditCommandRunner.Run run = runner.run(inputs());
				assertTrue(run.failed(), refusal.getKey());
				assertTrue(run.failure().contains(refusal.getValue()), run.failure());
				assertFalse(run.failure().contains("\n"), run.failure());
			}
		}
		assertEquals(0, comfy.requestCount("/upload/image"), "uploaded although the workflow cannot run");
		assertEquals(0, comfy.requestCount("/prompt"), "queued a workflow that cannot run");
	}

	@Test
	void whatTheRequestAsksAndTheFileHasNoMarkerForIsRefused() throws Exception {
		Path file = write("no-seed-marker_api.json", changed(g -> ((ObjectNode) g.get("3").get("_meta"))
			.put("title", "KSampler")));
		Map<String, Object> in = inputs();
		in.put("seed", "7");
		try (EditCommandRunner runner = new EditCommandRunner(env(file))) {
			EditCommandRunner.Run run = runner.run(in);
			assertTrue(run.failed());
			assertTrue(run.failure().contains("has no node marked qwen-edit:seed, so the seed asked for cannot be used"),
				run.failure());
			// Left random, the workflow's own seed runs and is recorded.
			EditCommandRunner.Run random = runner.run(inputs());
			assertFalse(random.failed(), random.failure());
			assertEquals(975378448340290L, comfy.lastPrompt().graph.path("3").path("inputs").path("seed").asLong());
			assertEquals("975378448340290", random.results().get(0).getProp(Provenance.SEED));
		}
		assertEquals(1, comfy.requestCount("/prompt"));
	}

	private static ObjectNode changed(Consumer<ObjectNode> change) throws Exception {
		ObjectNode graph = exported();
		change.accept(graph);
		assertNotNull(graph);
		return graph;
	}
}
