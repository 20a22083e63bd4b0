package io.github.qwenedit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ij.ImagePlus;
import ij.io.FileSaver;
import ij.process.ByteProcessor;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.provider.ModelCatalogue;

/**
 * From the shell: a DashScope model priced in yuan is held to a dollar cost ceiling at the
 * configured rate, and a bad entry of the user's models.json is said once on stderr without
 * stopping the run.
 */
class CatalogueCostCliTest {

	private static final String KEY = "catalogue-cli-key:41aa";

	@TempDir
	Path work;

	@Test
	void aYuanPriceMeetsTheDollarCeilingAtTheConfiguredRate() throws Exception {
		Path config = Files.createDirectories(work.resolve("config"));
		Files.write(config.resolve(ModelCatalogue.USER_FILE),
			"{ \"dashscope\": [ { \"id\": \"next\", \"source\": \"https://example.org/\", \"size_rule\": \"per_side\" } ] }"
				.getBytes(StandardCharsets.UTF_8));
		Path in = Files.createDirectories(work.resolve("in"));
		ByteProcessor pixels = new ByteProcessor(640, 512);
		pixels.setColor(200);
		pixels.fillOval(100, 100, 300, 200);
		new FileSaver(new ImagePlus("cells", pixels)).saveAsTiff(in.resolve("cells.tif").toString());
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Map<String, String> env = new HashMap<>(Map.of("DASHSCOPE_API_KEY", KEY, "DASHSCOPE_BASE_URL", dashscope.baseUrl(),
				"QWEN_EDIT_USD_PER_CNY", "0.14"));
			// 2 outputs × 0.220177 CNY × 0.14 = $0.0617, above a ceiling of $0.05.
			Outcome capped = QwenEditCliRunner.run(env, config, "--provider", "dashscope", "--model", "qwen-image-edit-plus",
				"--outputs", "2", "--staging", "inline", "--instruction", "remove the scale bar", "--output",
				work.resolve("capped").toString(), "--max-cost", "0.05", in.resolve("cells.tif").toString());
			assertEquals(1, capped.code(), capped.out() + capped.err());
			assertTrue(capped.out().contains("estimated cost $0.062 (0.440354 CNY at 0.14 USD per CNY (set in QWEN_EDIT_USD_PER_CNY))"),
				capped.out());
			assertTrue((capped.out() + capped.err()).contains("exceeds the ceiling of $0.05"), capped.out() + capped.err());
			assertEquals(0, dashscope.edits().size(), "nothing sent above the ceiling");
			String said = ModelCatalogue.USER_FILE + ": dashscope model 1 \"next\" is left out: it needs \"min_side\" and \"max_side\"";
			assertEquals(1, capped.err().split(java.util.regex.Pattern.quote(said), -1).length - 1, capped.err());

			env.put("QWEN_EDIT_USD_PER_CNY", "0.1");
			Outcome done = QwenEditCliRunner.run(env, config, "--provider", "dashscope", "--model", "qwen-image-edit-plus",
				"--outputs", "2", "--staging", "inline", "--instruction", "remove the scale bar", "--output",
				work.resolve("out").toString(), "--max-cost", "0.05", in.resolve("cells.tif").toString());
			assertEquals(0, done.code(), done.out() + done.err());
			assertEquals(1, dashscope.edits().size());
			assertFalse(done.err().contains(said), "said once: " + done.err());
		}
	}
}
