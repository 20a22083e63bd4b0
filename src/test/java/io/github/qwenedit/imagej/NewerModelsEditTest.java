package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Map;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import ij.ImagePlus;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.EmulatorServer;
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.emulator.ReplicateEmulator;

/**
 * The models the providers released after the first catalogue (issue 18), each edited end to end
 * through the command against its provider's emulator, which knows the model by the name it is sent.
 */
class NewerModelsEditTest {

	private static final String KEY = "newer-models-key:5b1c";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	@ParameterizedTest
	@CsvSource({
		"dashscope, qwen-image-edit-plus-2025-12-15, unknown",
		"dashscope, qwen-image-2.0-pro-2026-04-22, unknown",
		"eachlabs, alibaba-qwen-image-2-0-pro-image-edit, 0.150",
		"fal, fal-ai/qwen-image-edit-2511, unknown",
		"fal, fal-ai/qwen-image-max/edit, unknown",
		"replicate, qwen-image-edit-2511, unknown" })
	void editsWithTheNewerModel(String provider, String model, String estimatedCost) throws Exception {
		ImagePlus cells = pattern("cells.tif", 640, 512);
		Map<String, Object> in = EditCommandRunner.inputs(cells, provider, model, "remove the scale bar");
		in.put("outputs", provider.equals("replicate") ? 1 : 2);
		try (EditCommandRunner runner = new EditCommandRunner(env(provider))) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			assertEquals(provider.equals("replicate") ? 1 : 2, run.results().size());
			assertEquals(model, modelReceived(provider));
			for (ImagePlus result : run.results()) {
				assertEquals(model, result.getProp(Provenance.MODEL));
				assertEquals(640, result.getWidth(), "'as input' kept the input's size");
				assertEquals(512, result.getHeight());
				assertEquals(estimatedCost.equals("unknown") ? null : estimatedCost,
					result.getProp(Provenance.ESTIMATED_COST_USD));
			}
		}
		assertEquals(0, bed.s3().countObjects(bed.s3().prefix()));
	}

	private EmulatorServer<?> emulator;

	private Map<String, String> env(String provider) {
		switch (provider) {
			case "dashscope":
				emulator = bed.serve(new DashScopeEmulator(KEY));
				return bed.env("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", emulator);
			case "eachlabs":
				emulator = bed.serve(new EachLabsEmulator(KEY));
				return bed.env("EACHLABS_API_KEY", KEY, "EACHLABS_BASE_URL", emulator);
			case "fal":
				emulator = bed.serve(new FalEmulator(KEY));
				return bed.env("FAL_KEY", KEY, "FAL_QUEUE_BASE_URL", emulator);
			default:
				emulator = bed.serve(new ReplicateEmulator(KEY));
				return bed.env("REPLICATE_API_TOKEN", KEY, "REPLICATE_BASE_URL", emulator);
		}
	}

	/** The model as the emulator received it: in the body, or in the path for fal and Replicate. */
	private String modelReceived(String provider) {
		if (emulator instanceof DashScopeEmulator) return ((DashScopeEmulator) emulator).lastEdit().model();
		AsyncJobEmulator.Job job = ((AsyncJobEmulator<?>) emulator).lastJob();
		switch (provider) {
			case "eachlabs":
				return job.request.json().path("model").asText();
			case "fal":
				return job.request.path().substring(1);
			default:
				return job.request.path().replaceAll("^/v1/models/qwen/([^/]+)/predictions$", "$1");
		}
	}
}
