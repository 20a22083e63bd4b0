package io.github.qwenedit.provider.comfyui;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;

/**
 * The built-in graph for Qwen-Image-Edit 2509/2511 with 1–3 images, as ComfyUI's own example wires it
 * (https://comfyanonymous.github.io/ComfyUI_examples/qwen_image,
 * https://docs.comfy.org/tutorials/image/qwen/qwen-image-edit-2511): {@code UNETLoader},
 * {@code CLIPLoader} of type {@code qwen_image}, {@code VAELoader}, one {@code LoadImage} per input,
 * {@code TextEncodeQwenImageEditPlus} for the instruction and for the negative prompt (inputs
 * {@code clip, prompt, vae, image1..image3},
 * https://github.com/comfyanonymous/ComfyUI/blob/master/comfy_extras/nodes_qwen.py),
 * {@code EmptySD3LatentImage} for the size and number of outputs, {@code KSampler},
 * {@code VAEDecode}, {@code SaveImage} (https://github.com/comfyanonymous/ComfyUI/blob/master/nodes.py).
 */
final class QwenEditWorkflow {

	static final String UNET_LOADER = "UNETLoader";
	static final String CLIP_LOADER = "CLIPLoader";
	static final String VAE_LOADER = "VAELoader";
	static final String LOAD_IMAGE = "LoadImage";
	static final String TEXT_ENCODE = "TextEncodeQwenImageEditPlus";
	static final String EMPTY_LATENT = "EmptySD3LatentImage";
	static final String SAMPLER = "KSampler";
	static final String DECODE = "VAEDecode";
	static final String SAVE = "SaveImage";
	/** The node types of the built-in graph, read from the server before the first edit. */
	static final List<String> NODE_TYPES = List.of(UNET_LOADER, CLIP_LOADER, VAE_LOADER, LOAD_IMAGE, TEXT_ENCODE,
		EMPTY_LATENT, SAMPLER, DECODE, SAVE);
	/** Where results go in ComfyUI's output folder, told apart from the user's own work there. */
	static final String OUTPUT_PREFIX = "qwen-image-edit/edit";
	/**
	 * The sampler settings of ComfyUI's example workflow for the edit models: the {@code KSampler}'s
	 * own defaults (cfg 8) over-saturate them.
	 */
	static final double CFG = 2.5;
	static final String SAMPLER_NAME = "euler";
	static final String SCHEDULER = "simple";
	/** {@code EmptySD3LatentImage} takes widths and heights in steps of 16. */
	static final int SIDE_STEP = 16;

	/** The model files one edit loads. */
	static final class ModelFiles {
		final String diffusionModel;
		final String textEncoder;
		final String vae;

		ModelFiles(String diffusionModel, String textEncoder, String vae) {
			this.diffusionModel = diffusionModel;
			this.textEncoder = textEncoder;
			this.vae = vae;
		}
	}

	/** What one edit asks of the graph. */
	static final class Inputs {
		final List<String> images;
		final String instruction;
		final String negativePrompt;
		final long seed;
		final int width;
		final int height;
		final int outputs;

		Inputs(List<String> images, String instruction, String negativePrompt, long seed, int width, int height,
			int outputs)
		{
			this.images = List.copyOf(images);
			this.instruction = instruction;
			this.negativePrompt = negativePrompt;
			this.seed = seed;
			this.width = width;
			this.height = height;
			this.outputs = outputs;
		}
	}

	private QwenEditWorkflow() {}

	/** The file names Comfy-Org publishes for each model, named in the message when none is installed. */
	private static final Map<String, String> PUBLISHED_DIFFUSION_MODELS = Map.of(
		"qwen-image-edit-2509", "qwen_image_edit_2509_fp8_e4m3fn.safetensors",
		"qwen-image-edit-2511", "qwen_image_edit_2511_fp8mixed.safetensors");
	static final String MODELS_PAGE = "https://huggingface.co/Comfy-Org/Qwen-Image-Edit_ComfyUI";
	static final String ENCODER_PAGE = "https://huggingface.co/Comfy-Org/Qwen-Image_ComfyUI";

	/**
	 * The server's model files for {@code model}, read from its loaders' choice lists, or one sentence
	 * naming every node and file the server lacks and where each goes.
	 *
	 * @param aFileOfTheServer whether {@code model} names a diffusion model file of the server itself,
	 *          used as it is, rather than a model of the catalogue, whose file is looked for by its name
	 */
	static ModelFiles modelFiles(ServerNodes server, String model, boolean aFileOfTheServer, String serverAddress)
		throws EditException
	{
		List<String> missing = new ArrayList<>();
		for (String node : NODE_TYPES) {
			if (server.type(node).isEmpty()) missing.add("the node " + node);
		}
		if (!missing.isEmpty()) {
			throw new EditException(ErrorKind.INVALID_INPUT, "The ComfyUI server at " + serverAddress + " lacks " +
				String.join(", ", missing) + ": update ComfyUI to a version with Qwen-Image-Edit 2509 support " +
				"(September 2025 or later, comfy_extras/nodes_qwen.py) and restart it.");
		}
		if (!server.choices(CLIP_LOADER, "type").contains("qwen_image")) {
			missing.add("the CLIPLoader type qwen_image (update ComfyUI)");
		}
		List<String> diffusionModels = server.choices(UNET_LOADER, "unet_name");
		String unet = aFileOfTheServer ? (diffusionModels.contains(model) ? model : null)
			: first(diffusionModels, "qwenimageedit" + model.substring(model.lastIndexOf('-') + 1));
		String encoder = first(server.choices(CLIP_LOADER, "clip_name"), "qwen25vl");
		String vae = first(server.choices(VAE_LOADER, "vae_name"), "qwenimagevae");
		if (unet == null && aFileOfTheServer) {
			missing.add("the diffusion model file " + model + " (it is not in ComfyUI/models/diffusion_models; choose one " +
				"the server has: " + (installed(diffusionModels).isEmpty() ? "none of its files is a Qwen-Image-Edit model"
					: String.join(", ", installed(diffusionModels))) + ")");
		}
		else if (unet == null) {
			missing.add("a diffusion model of " + model + " (put " + PUBLISHED_DIFFUSION_MODELS.getOrDefault(model,
				"its .safetensors file") + " from " + MODELS_PAGE + " in ComfyUI/models/diffusion_models)");
		}
		if (encoder == null) {
			missing.add("the Qwen2.5-VL text encoder (put qwen_2.5_vl_7b_fp8_scaled.safetensors from " + ENCODER_PAGE +
				" in ComfyUI/models/text_encoders)");
		}
		if (vae == null) {
			missing.add("the Qwen-Image VAE (put qwen_image_vae.safetensors from " + ENCODER_PAGE +
				" in ComfyUI/models/vae)");
		}
		if (!missing.isEmpty()) {
			throw new EditException(ErrorKind.INVALID_INPUT, "The ComfyUI server at " + serverAddress + " lacks " +
				String.join("; ", missing) + "; then restart ComfyUI or refresh its model lists.");
		}
		return new ModelFiles(unet, encoder, vae);
	}

	/**
	 * The model id of a diffusion model file of Qwen-Image-Edit 2509 or 2511 ("qwen-image-edit-2511"
	 * for qwen_image_edit_2511_bf16.safetensors), whose limits and graph it shares; empty for any
	 * other file.
	 */
	static Optional<String> modelOf(String file) {
		String reduced = reduced(file);
		for (String model : PUBLISHED_DIFFUSION_MODELS.keySet()) {
			if (reduced.contains("qwenimageedit" + model.substring(model.lastIndexOf('-') + 1))) return Optional.of(model);
		}
		return Optional.empty();
	}

	/** The server's Qwen-Image-Edit diffusion model files among {@code files}, in the server's order. */
	static List<String> installed(List<String> files) {
		List<String> found = new ArrayList<>();
		for (String f : files) {
			if (modelOf(f).isPresent()) found.add(f);
		}
		return found;
	}

	private static String reduced(String name) {
		return name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
	}

	/** The first file whose name, reduced to lower-case letters and digits, contains {@code key}. */
	private static String first(List<String> files, String key) {
		for (String f : files) {
			if (reduced(f).contains(key)) return f;
		}
		return null;
	}

	/** The graph of one edit; the id of its {@code SaveImage} node is {@link #saveNodeId}. */
	static ObjectNode build(ServerNodes server, ModelFiles files, Inputs in) throws EditException {
		ComfyWorkflow w = new ComfyWorkflow(server);
		ComfyWorkflow.Output model = w.add(UNET_LOADER).text("unet_name", files.diffusionModel).complete().output(0);
		ComfyWorkflow.Output clip = w.add(CLIP_LOADER).text("clip_name", files.textEncoder).text("type", "qwen_image")
			.complete().output(0);
		ComfyWorkflow.Output vae = w.add(VAE_LOADER).text("vae_name", files.vae).complete().output(0);
		List<ComfyWorkflow.Output> images = new ArrayList<>();
		for (String image : in.images) {
			// LoadImage checks the file exists itself (VALIDATE_INPUTS), so an uploaded name in a subfolder passes
			// although its choice list holds only the top of the input folder.
			images.add(w.add(LOAD_IMAGE).raw("image", image).output(0));
		}
		ComfyWorkflow.Output positive = encode(w, clip, vae, images, in.instruction);
		ComfyWorkflow.Output negative = encode(w, clip, vae, images, in.negativePrompt);
		ComfyWorkflow.Output latent = w.add(EMPTY_LATENT).number("width", in.width).number("height", in.height)
			.number("batch_size", in.outputs).complete().output(0);
		ComfyWorkflow.Output samples = w.add(SAMPLER).link("model", model).number("seed", in.seed)
			.decimal("cfg", CFG).text("sampler_name", SAMPLER_NAME).text("scheduler", SCHEDULER)
			.link("positive", positive).link("negative", negative).link("latent_image", latent).decimal("denoise", 1.0)
			.complete().output(0);
		ComfyWorkflow.Output decoded = w.add(DECODE).link("samples", samples).link("vae", vae).complete().output(0);
		w.add(SAVE).link("images", decoded).text("filename_prefix", OUTPUT_PREFIX).complete();
		return w.toJson();
	}

	private static ComfyWorkflow.Output encode(ComfyWorkflow w, ComfyWorkflow.Output clip, ComfyWorkflow.Output vae,
		List<ComfyWorkflow.Output> images, String prompt) throws EditException
	{
		ComfyWorkflow.Node node = w.add(TEXT_ENCODE).link("clip", clip).text("prompt", prompt).link("vae", vae);
		for (int i = 0; i < images.size(); i++) {
			node.link("image" + (i + 1), images.get(i));
		}
		return node.complete().output(0);
	}

	/**
	 * The id of the node whose outputs are the results: the one a user's workflow marks
	 * {@code qwen-edit:output}, else the graph's {@code SaveImage}; null when neither is there (then
	 * every output node's images are the results).
	 */
	static String saveNodeId(JsonNode graph) {
		String marked = UserWorkflow.markedNodes(graph).get(UserWorkflow.Role.OUTPUT);
		if (marked != null) return marked;
		for (java.util.Iterator<Map.Entry<String, JsonNode>> it = graph.fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> e = it.next();
			if (SAVE.equals(e.getValue().path("class_type").asText())) return e.getKey();
		}
		return null;
	}

	/**
	 * What a graph ran with, for the provenance, read from the graph itself (the server keeps it in
	 * its history, so a recovered result carries the same record): the model files, the seed, the
	 * steps and the graph's hash.
	 */
	static Map<String, String> facts(JsonNode graph) {
		Map<String, String> facts = new LinkedHashMap<>();
		for (JsonNode node : graph) {
			JsonNode inputs = node.path("inputs");
			switch (node.path("class_type").asText()) {
				case UNET_LOADER:
					facts.put("ComfyUIDiffusionModel", inputs.path("unet_name").asText());
					break;
				case CLIP_LOADER:
					facts.put("ComfyUITextEncoder", inputs.path("clip_name").asText());
					break;
				case VAE_LOADER:
					facts.put("ComfyUIVae", inputs.path("vae_name").asText());
					break;
				case EMPTY_LATENT:
					// As fal's "SizeSent": the size made, which ComfyUI's steps of 16 may round.
					facts.put("SizeSent", inputs.path("width").asText() + "*" + inputs.path("height").asText());
					break;
				case SAMPLER:
					facts.put("Seed", inputs.path("seed").asText());
					facts.put("ComfyUISteps", inputs.path("steps").asText());
					break;
				default:
					break;
			}
		}
		// A user's workflow names its own seed and size nodes; its markers are kept in the server's history.
		Map<UserWorkflow.Role, String> marked = UserWorkflow.markedNodes(graph);
		String seedNode = marked.get(UserWorkflow.Role.SEED);
		if (seedNode != null) {
			JsonNode inputs = graph.path(seedNode).path("inputs");
			facts.put("Seed", (inputs.has("seed") ? inputs.path("seed") : inputs.path("noise_seed")).asText());
		}
		String sizeNode = marked.get(UserWorkflow.Role.SIZE);
		if (sizeNode != null) {
			JsonNode inputs = graph.path(sizeNode).path("inputs");
			facts.put("SizeSent", inputs.path("width").asText() + "*" + inputs.path("height").asText());
		}
		facts.put("ComfyUIWorkflow", marked.isEmpty() ? "built-in" : "user's file");
		facts.put("ComfyUIWorkflowSHA256", ComfyWorkflow.sha256(graph));
		return facts;
	}
}
