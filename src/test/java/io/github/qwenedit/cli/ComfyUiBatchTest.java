package io.github.qwenedit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;
import io.github.qwenedit.ChildJvm;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.emulator.ComfyUiEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.fixtures.TestImages;

/**
 * The shell command against a ComfyUI server: a folder edited on the lab's own server, and a run
 * killed with SIGKILL while the server still works, whose result the next run fetches by the prompt
 * id in the journal without queueing the edit again.
 */
class ComfyUiBatchTest {

	private static final String INSTRUCTION = "remove the scale bar";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	@TempDir
	Path work;

	private final ComfyUiEmulator comfy = bed.serve(new ComfyUiEmulator().processingDelay(Duration.ofMillis(100)));

	private Map<String, String> env() {
		Map<String, String> env = new HashMap<>();
		env.put("COMFYUI_BASE_URL", comfy.baseUrl());
		return env;
	}

	private Path folderOfImages(int count) throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < count; i++) {
			new FileSaver(TestImages.pattern("cell" + i, 480, 400)).saveAsTiff(in.resolve("cell" + i + ".tif").toString());
		}
		return in;
	}

	private String[] args(Path in, Path out) {
		return new String[] { "--provider", "comfyui", "--model", "qwen-image-edit-2509", "--instruction", INSTRUCTION,
			"--seed", "11", "--output", out.toString(), in.toString() };
	}

	/**
	 * A user's own workflow file runs in a batch too: the batch checks it once before it starts (with
	 * stand-ins for the images), then each image is edited through it; one the server could not run is
	 * refused in one sentence before anything is uploaded.
	 */
	@Test
	void aBatchRunsTheUsersWorkflowFileAndRefusesOneTheServerCannotRun() throws Exception {
		Path workflow = work.resolve("lab-edit_api.json");
		try (java.io.InputStream exported = ComfyUiBatchTest.class.getResourceAsStream("/comfyui/marked-workflow_api.json")) {
			Files.copy(exported, workflow);
		}
		Map<String, String> env = env();
		env.put("COMFYUI_WORKFLOW_FILE", workflow.toString());
		Path in = folderOfImages(2);
		Outcome run = QwenEditCliRunner.run(env, work.resolve("config"), args(in, work.resolve("out")));
		assertEquals(0, run.code(), run.out() + run.err());
		assertEquals(2, comfy.prompts().size());
		assertEquals("lab/qwen-edit", comfy.lastPrompt().graph.path("60").path("inputs").path("filename_prefix").asText(),
			"the user's graph was not the one sent");

		Files.writeString(workflow, Files.readString(workflow).replace("\"KSampler\"", "\"KSamplerFromAPlugin\""));
		Outcome refused = QwenEditCliRunner.run(env, work.resolve("config"), args(in, work.resolve("out2")));
		assertEquals(2, refused.code(), refused.out() + refused.err());
		assertTrue(refused.err().contains("KSamplerFromAPlugin") && !refused.err().contains("Exception"), refused.err());
		assertEquals(2, comfy.prompts().size(), "a prompt was queued");
		assertEquals(2, comfy.inputFiles().size(), "an image was uploaded");
	}

	@Test
	void aFolderIsEditedOnTheServer() throws Exception {
		Path in = folderOfImages(2);
		Path out = work.resolve("out");
		List<String> withCeiling = new java.util.ArrayList<>(List.of(args(in, out)));
		withCeiling.addAll(0, List.of("--max-cost", "0.01"));
		Outcome run = QwenEditCliRunner.run(env(), work.resolve("config"), withCeiling.toArray(new String[0]));
		assertEquals(0, run.code(), run.out() + run.err());
		assertTrue((run.out() + run.err()).contains("estimated cost none per image (your own server)"), run.out() + run.err());
		assertEquals(2, comfy.prompts().size());
		for (int i = 0; i < 2; i++) {
			Path result = out.resolve("AI-edit_1_of_cell" + i + ".tif");
			assertTrue(Files.isRegularFile(result), run.out() + run.err());
			ImagePlus image = IJ.openImage(result.toString());
			assertEquals(480, image.getWidth());
			assertEquals(400, image.getHeight());
		}
		assertTrue(new BatchJournal(out).entries().isEmpty());
		assertEquals(2, comfy.inputFiles().size());
	}

	/**
	 * A run stopped while its prompt was being queued leaves no prompt id; the next run edits the image
	 * again and says why, in the words of the lab's own server: a prompt may have run, nothing was
	 * charged.
	 */
	@Test
	void aPromptWhoseIdWasNeverRecordedIsToldAsRunNotAsCharged() throws Exception {
		Path in = folderOfImages(1);
		Path out = work.resolve("out");
		Path journalFolder = Files.createDirectories(out.resolve(BatchJournal.FOLDER));
		Files.writeString(journalFolder.resolve("stopped.json"), "{\"version\": 2, \"phase\": \"STAGED\", \"source\": " +
			io.github.qwenedit.http.Json.MAPPER.writeValueAsString(in.resolve("cell0.tif").toString()) +
			", \"provider\": \"comfyui\", \"stagedKeys\": []}");
		Outcome run = QwenEditCliRunner.run(env(), work.resolve("config"), args(in, out));
		String said = run.out() + run.err();
		assertEquals(0, run.code(), said);
		assertTrue(said.contains("so a job may have been queued (and run) that cannot be fetched"), said);
		assertFalse(said.contains("charged"), said);
		assertEquals(1, comfy.prompts().size(), said);
	}

	/** A result the server will not hand out stays in the journal, said in the words of a server that charges nothing. */
	@Test
	void aResultThatCannotBeDownloadedIsKeptWithoutTalkOfPaying() throws Exception {
		comfy.breakOutputLinks();
		Path in = folderOfImages(1);
		Outcome run = QwenEditCliRunner.run(env(), work.resolve("config"), args(in, work.resolve("out")));
		String said = run.out() + run.err();
		assertTrue(run.code() != 0, said);
		assertTrue(said.contains("tries its result links once more without running it again"), said);
		assertFalse(said.contains("paying"), said);
		assertEquals(1, new BatchJournal(work.resolve("out")).entries().size(), said);
	}

	@Test
	void aRunKilledWhileTheServerWorksIsFetchedByTheNextWithoutQueueingAgain() throws Exception {
		comfy.pause();
		Path in = folderOfImages(1);
		Path out = work.resolve("out");
		Process batch = startBatch(in, out);
		try {
			await(() -> !comfy.prompts().isEmpty() && comfy.isPending(comfy.lastPrompt().id) &&
				new BatchJournal(out).entries().stream().anyMatch(e -> e.job != null), "the prompt is queued and journalled");
		}
		finally {
			batch.destroyForcibly();
		}
		assertTrue(batch.waitFor(30, TimeUnit.SECONDS));
		List<BatchJournal.Entry> left = new BatchJournal(out).entries();
		assertEquals(1, left.size(), Files.readString(work.resolve("child.txt")));
		String promptId = comfy.lastPrompt().id;
		assertEquals(promptId, left.get(0).job.id(), "the journal does not hold the prompt id");
		assertFalse(Files.exists(out.resolve("AI-edit_1_of_cell0.tif")));

		comfy.resume();
		Outcome next = QwenEditCliRunner.run(env(), work.resolve("config"), args(in, out));
		assertEquals(0, next.code(), next.out() + next.err());
		assertEquals(1, comfy.prompts().size(), "the edit was queued again");
		assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell0.tif")), next.out() + next.err());
		String note = IJ.openImage(out.resolve("AI-edit_1_of_cell0.tif").toString()).getProp(
			io.github.qwenedit.core.Provenance.STAGING_NOTE);
		assertTrue(note != null && note.contains(comfy.inputFiles().iterator().next()),
			"the recovered result does not name the input it left on the server: " + note);
		assertTrue(new BatchJournal(out).entries().isEmpty());
		String log = Files.readString(out.resolve(QwenEditCli.LOG_FILE));
		assertTrue(log.contains(promptId), log);
	}

	/**
	 * A run killed while its prompt was being queued (the server took it, the answer never came back)
	 * queued it again on the next run: the journal had no prompt id. The id is the plugin's own and is
	 * journalled before the prompt goes out, so the next run asks the server for it and fetches it.
	 */
	@Test
	void aRunKilledWhileItsPromptIsSentIsFetchedByTheNextWithoutQueueingAgain() throws Exception {
		comfy.takePromptsThenHold(true);
		Path in = folderOfImages(1);
		Path out = work.resolve("out");
		Process batch = startBatch(in, out);
		try {
			await(() -> !comfy.prompts().isEmpty(), "the prompt is sent");
		}
		finally {
			batch.destroyForcibly();
		}
		assertTrue(batch.waitFor(30, TimeUnit.SECONDS));
		List<BatchJournal.Entry> left = new BatchJournal(out).entries();
		assertEquals(1, left.size(), Files.readString(work.resolve("child.txt")));
		assertEquals(BatchJournal.Phase.STAGED, left.get(0).phase);
		String promptId = comfy.lastPrompt().id;
		assertEquals(promptId, left.get(0).job.id(), "the prompt id was not journalled before the prompt went out");
		String journalled = Files.readString(left.get(0).file);

		comfy.takePromptsThenHold(false);
		Outcome next = QwenEditCliRunner.run(env(), work.resolve("config"), args(in, out));
		assertEquals(0, next.code(), next.out() + next.err());
		assertEquals(1, comfy.prompts().size(), "the edit was queued again: " + next.out() + next.err());
		assertTrue(Files.isRegularFile(out.resolve("AI-edit_1_of_cell0.tif")), next.out() + next.err());
		assertTrue(new BatchJournal(out).entries().isEmpty());

		// A prompt that never reached the server is not waited for: the next run edits the image again.
		Path out2 = work.resolve("out2");
		Path journalFolder = Files.createDirectories(out2.resolve(BatchJournal.FOLDER));
		Files.writeString(journalFolder.resolve(left.get(0).file.getFileName()), journalled.replace(promptId,
			java.util.UUID.randomUUID().toString()));
		Outcome unknown = QwenEditCliRunner.run(env(), work.resolve("config"), args(in, out2));
		assertEquals(0, unknown.code(), unknown.out() + unknown.err());
		assertEquals(2, comfy.prompts().size(), unknown.out() + unknown.err());
		assertTrue((unknown.out() + unknown.err()).contains("does not know the edit"), unknown.out() + unknown.err());
		assertTrue(Files.isRegularFile(out2.resolve("AI-edit_1_of_cell0.tif")), unknown.out() + unknown.err());
	}

	/** The batch as the shell runs it, in a child JVM of its own that a test can kill; its output goes to child.txt. */
	private Process startBatch(Path in, Path out) throws Exception {
		List<String> command = new java.util.ArrayList<>(List.of(ChildJvm.JAVA, ChildJvm.PREFERENCES, "-cp",
			System.getProperty("java.class.path"), QwenEditCli.class.getName()));
		command.addAll(List.of(args(in, out)));
		ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
			.redirectOutput(work.resolve("child.txt").toFile());
		pb.environment().putAll(env());
		pb.environment().put(io.github.qwenedit.core.Configuration.CONFIG_DIR, work.resolve("config").toString());
		return pb.start();
	}

	private static void await(BooleanSupplier condition, String what) throws InterruptedException {
		long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
		while (!condition.getAsBoolean()) {
			assertTrue(System.nanoTime() < until, "timed out waiting until " + what);
			Thread.sleep(50);
		}
	}
}
