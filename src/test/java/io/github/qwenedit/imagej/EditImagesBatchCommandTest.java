package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.scijava.Cancelable;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.module.Module;
import org.scijava.module.ModuleService;

import ij.io.FileSaver;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.staging.S3TestServer;

/** The Fiji batch command: a folder edited at the provider's concurrency, and a cost ceiling that stops it. */
class EditImagesBatchCommandTest {

	private static final String KEY = "batch-key-2b7c";
	private static S3TestServer s3;

	@TempDir
	Path work;

	@BeforeAll
	static void startBucket() throws Exception {
		s3 = S3TestServer.start();
	}

	@AfterAll
	static void stopBucket() {
		s3.close();
	}

	private Module run(EditCommandRunner runner, Map<String, Object> inputs) throws Exception {
		var context = runner.editService().context();
		CommandInfo info = context.service(CommandService.class).getCommand(EditImagesBatchCommand.class);
		return context.service(ModuleService.class).run(info, true, inputs).get(120, TimeUnit.SECONDS);
	}

	private Map<String, Object> inputs(Path in, Path out) {
		Map<String, Object> inputs = new HashMap<>();
		inputs.put("inputFolder", in.toFile());
		inputs.put("outputFolder", out.toFile());
		inputs.put("provider", "eachlabs");
		inputs.put("model", "alibaba-qwen-image-2-0-image-edit");
		inputs.put("concurrency", 20);
		inputs.put("maxCost", 0.0); // given every time: the dialog remembers the last value
		inputs.put("instruction", "remove the scale bar");
		return inputs;
	}

	@Test
	void editsAFolderAndStopsAtTheCostCeiling() throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < 12; i++) {
			new FileSaver(TestImages.pattern("c" + i, 400, 400)).saveAsTiff(in.resolve("c" + i + ".tif").toString());
		}
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofMillis(300));
			Map<String, String> env = new HashMap<>(s3.env());
			env.put("EACHLABS_API_KEY", KEY);
			env.put("EACHLABS_BASE_URL", eachlabs.baseUrl());
			try (EditCommandRunner runner = new EditCommandRunner(env)) {
				Map<String, Object> capped = inputs(in, work.resolve("capped"));
				capped.put("maxCost", 0.10); // 12 edits at $0.035 = $0.42
				Module stopped = run(runner, capped);
				assertTrue(((Cancelable) stopped).isCanceled());
				assertEquals(0, eachlabs.jobs().size(), "a paid call was made above the ceiling");

				Module batch = run(runner, inputs(in, work.resolve("out")));
				assertEquals(0, ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode(),
					((Cancelable) batch).getCancelReason());
				assertEquals(12, eachlabs.jobs().size());
				assertTrue(eachlabs.maxConcurrentObserved() <= 10);
				File[] results = work.resolve("out").toFile().listFiles((d, n) -> n.endsWith(".tif"));
				assertEquals(12, results.length);
				assertTrue(Files.readString(work.resolve("out").resolve("qwen-edit-log.jsonl")).contains("\"status\":\"done\""));
				assertEquals(0, s3.countObjects(s3.prefix()));
				assertTrue(runner.log().stream().anyMatch(l -> l.contains("12 edits with eachlabs")), runner.log().toString());
			}
		}
	}
}
