package io.github.qwenedit.imagej;

import io.github.qwenedit.ChildJvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.scijava.Cancelable;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.module.Module;
import org.scijava.module.ModuleService;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.EmulatedSchema;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.engine.BatchLog;
import io.github.qwenedit.fixtures.BatchTestData;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.staging.S3TestServer;

/**
 * The Fiji batch command: a 60-image folder and a 60-plane stack at eachlabs' 10 at once, a cost
 * ceiling, Cancel Running Edits in the middle, and failures listed at the end.
 */
class EditImagesBatchCommandTest {

	private static final String KEY = "batch-key-2b7c";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();
	private final S3TestServer s3 = bed.s3();

	@TempDir
	Path work;

	private Future<Module> start(EditCommandRunner runner, Map<String, Object> inputs) {
		var context = runner.editService().context();
		CommandInfo info = context.service(CommandService.class).getCommand(EditImagesBatchCommand.class);
		return context.service(ModuleService.class).run(info, true, inputs);
	}

	private Module run(EditCommandRunner runner, Map<String, Object> inputs) throws Exception {
		return start(runner, inputs).get(120, TimeUnit.SECONDS);
	}

	private Map<String, Object> inputs(Path in, Path out) {
		Map<String, Object> inputs = BatchTestData.batchInputsWithDefaultOptions();
		inputs.put("batchSource", EditImagesBatchCommand.FOLDER);
		inputs.put("inputFolder", in == null ? null : in.toFile());
		inputs.put("outputFolder", out.toFile());
		inputs.put("provider", "eachlabs");
		inputs.put("model", "alibaba-qwen-image-2-0-image-edit");
		inputs.put("concurrency", 20);
				inputs.put("assembleStack", false);
		inputs.put("instruction", "remove the scale bar");
		return inputs;
	}

	private Path folderOfImages(int count) throws Exception {
		Path in = Files.createDirectories(work.resolve("in"));
		for (int i = 0; i < count; i++) {
			new FileSaver(TestImages.pattern("c" + i, BatchTestData.SIDE, BatchTestData.SIDE))
				.saveAsTiff(in.resolve(String.format("c%02d.tif", i)).toString());
		}
		return in;
	}

	private EditCommandRunner runner(EachLabsEmulator eachlabs) {
		Map<String, String> env = new HashMap<>(s3.env());
		env.put("EACHLABS_API_KEY", KEY);
		env.put("EACHLABS_BASE_URL", eachlabs.baseUrl());
		return new EditCommandRunner(env);
	}

	@Test
	void editsSixtyImagesAtTenAtOnceAndStopsAtTheCostCeiling() throws Exception {
		Path in = folderOfImages(60);
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY); EditCommandRunner runner = runner(eachlabs)) {
			eachlabs.processingDelay(Duration.ofMillis(200));
			Map<String, Object> capped = inputs(in, work.resolve("capped"));
			capped.put("maxCost", 0.10); // 60 edits at $0.035 = $2.10
			Module stopped = run(runner, capped);
			assertTrue(((Cancelable) stopped).isCanceled());
			assertEquals(0, eachlabs.jobs().size(), "a paid call was made above the ceiling");

			Path out = work.resolve("out");
			Module batch = run(runner, inputs(in, out));
			assertEquals(0, ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode(),
				((Cancelable) batch).getCancelReason());
			assertEquals(60, eachlabs.jobs().size());
			assertTrue(eachlabs.maxConcurrentObserved() <= 10, "more than 10 in flight");
			assertEquals(0, eachlabs.refusedCreates());
			List<JsonNode> log = BatchTestData.logLines(out);
			assertEquals(60, log.size());
			for (JsonNode line : log) {
				assertEquals("done", line.path("status").asText());
				ImagePlus result = IJ.openImage(out.resolve(line.path("results").get(0).asText()).toString());
				assertEquals(line.path("requestId").asText(), result.getProp(Provenance.REQUEST_ID));
			}
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertTrue(runner.log().stream().anyMatch(l -> l.contains("60 edits with eachlabs")), runner.log().toString());
			assertTrue(runner.log().stream().anyMatch(l -> l.contains("60 done, 0 failed, 0 skipped")), runner.log().toString());
		}
	}

	@Test
	void editsEveryPlaneOfTheActiveStackAndAssemblesThemInOrder() throws Exception {
		ImagePlus stack = BatchTestData.stack("cells", 60);
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY); EditCommandRunner runner = runner(eachlabs)) {
			eachlabs.processingDelay(Duration.ofMillis(200));
			Path out = work.resolve("out");
			Map<String, Object> inputs = inputs(null, out);
			inputs.put("batchSource", EditImagesBatchCommand.ACTIVE_STACK);
			inputs.put("image", stack);
			inputs.put("assembleStack", true);
			Module batch = run(runner, inputs);
			EditImagesBatchCommand command = (EditImagesBatchCommand) batch.getDelegateObject();
			assertEquals(0, command.exitCode(), ((Cancelable) batch).getCancelReason());
			assertEquals(60, eachlabs.jobs().size());
			assertTrue(eachlabs.maxConcurrentObserved() <= 10);
			assertEquals(60, BatchTestData.logLines(out).size());
			BatchTestData.assertAssembledInPlaneOrder(command.assembled(), 60);
			BatchTestData.assertAssembledInPlaneOrder(IJ.openImage(out.resolve("AI-edit_stack_of_cells.tif")
				.toString()), 60);
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertEquals(60, stack.getStackSize(), "the original stack was changed");
			assertEquals(BatchTestData.greyOf(7), stack.getStack().getProcessor(7).get(0, 0));
		}
	}

	/**
	 * Fiji killed halfway through a 60-plane stack: the same command run again into the same folder
	 * fetches the jobs that were in flight, edits the rest, and pays for no plane twice. (It is killed
	 * between two waves of creates, when every accepted job's id is on disk: a create cut off on its
	 * way has no id to fetch it by, and is reported instead.)
	 */
	@Test
	void aStackEditKilledHalfwayIsFinishedByTheNextRunWithoutPayingTwice() throws Exception {
		Path tiff = work.resolve("cells.tif");
		new FileSaver(BatchTestData.stack("cells", 60)).saveAsTiffStack(tiff.toString());
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY)) {
			eachlabs.processingDelay(Duration.ofMillis(2000));
			Path out = work.resolve("out");
			Map<String, String> env = new HashMap<>(s3.env());
			env.put("EACHLABS_API_KEY", KEY);
			env.put("EACHLABS_BASE_URL", eachlabs.baseUrl());
			ProcessBuilder pb = new ProcessBuilder(ChildJvm.JAVA, ChildJvm.PREFERENCES, "-cp",
				System.getProperty("java.class.path"), BatchCommandProcess.class.getName(), tiff.toString(), out.toString(),
				"eachlabs", "alibaba-qwen-image-2-0-image-edit", "remove the scale bar").redirectErrorStream(true)
				.redirectOutput(work.resolve("child.txt").toFile());
			pb.environment().putAll(env);
			Process fiji = pb.start();
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
			while (fiji.isAlive() && System.nanoTime() < until && !(eachlabs.jobs().size() >= 30 &&
				BatchTestData.journalSize(out) > 0 &&
				BatchTestData.acceptedJobsInJournal(out) == BatchTestData.journalSize(out)))
			{
				Thread.sleep(20);
			}
			fiji.destroyForcibly();
			assertTrue(fiji.waitFor(30, TimeUnit.SECONDS));
			int paidBeforeKill = eachlabs.jobs().size();
			assertTrue(paidBeforeKill >= 30 && paidBeforeKill < 60, paidBeforeKill + " jobs before the kill: " +
				Files.readString(work.resolve("child.txt")));
			assertTrue(BatchTestData.acceptedJobsInJournal(out) > 0, "no job was in flight at the kill");
			eachlabs.processingDelay(Duration.ofMillis(200));

			try (EditCommandRunner runner = runner(eachlabs)) {
				ImagePlus reopened = IJ.openImage(tiff.toString());
				Module batch = runner.runCommand(EditImagesBatchCommand.class, BatchCommandProcess.stackInputs(reopened,
					out.toFile(), "eachlabs", "alibaba-qwen-image-2-0-image-edit", "remove the scale bar"));
				EditImagesBatchCommand command = (EditImagesBatchCommand) batch.getDelegateObject();
				assertEquals(0, command.exitCode(), ((Cancelable) batch).getCancelReason() + runner.log());
				assertEquals(60, eachlabs.jobs().size(), "a plane was created twice: " + runner.log());
				assertEquals(0, BatchTestData.journalSize(out), "jobs left in the journal");
				assertEquals(0, s3.countObjects(s3.prefix()), "staged objects left behind");
				List<JsonNode> log = BatchTestData.logLines(out);
				assertEquals(60, log.size(), "one log line per plane: " + log);
				java.util.Set<Integer> planes = new java.util.HashSet<>();
				for (JsonNode line : log) {
					assertEquals("done", line.path("status").asText(), line.toString());
					assertTrue(Files.isRegularFile(out.resolve(line.path("results").get(0).asText())), line.toString());
					planes.add(line.path("plane").asInt());
				}
				assertEquals(60, planes.size(), "each plane once in the log");
				BatchTestData.assertAssembledInPlaneOrder(command.assembled(), 60);
				BatchTestData.assertAssembledInPlaneOrder(IJ.openImage(out.resolve("AI-edit_stack_of_cells.tif")
					.toString()), 60);
			}
		}
	}

	@Test
	void cancelRunningEditsStopsTheBatchCleansTheBucketAndKeepsResults() throws Exception {
		Path in = folderOfImages(30);
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY); EditCommandRunner runner = runner(eachlabs)) {
			eachlabs.processingDelay(Duration.ofMillis(1500));
			Path out = work.resolve("out");
			Future<Module> running = start(runner, inputs(in, out));
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
			while (System.nanoTime() < until && (!Files.isRegularFile(out.resolve(BatchLog.FILE)) ||
				BatchTestData.logLines(out).size() < 10 || BatchTestData.acceptedJobsInJournal(out) == 0))
			{
				Thread.sleep(50);
			}
			var context = runner.editService().context();
			context.service(CommandService.class).run(CancelEditsCommand.class, true).get(30, TimeUnit.SECONDS);
			Module batch = running.get(60, TimeUnit.SECONDS);
			assertEquals(1, ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode());
			String reason = ((Cancelable) batch).getCancelReason();
			assertTrue(reason.matches("(?s).*Cancelled: [0-9]+ edits? stopped, [0-9]+ not stopped, [0-9]+ not started\\..*"),
				((Cancelable) batch).getCancelReason());
			assertTrue(eachlabs.jobs().size() < 30, "new edits were started after the cancel");
			assertTrue(eachlabs.jobs().stream().anyMatch(AsyncJobEmulator.Job::cancelRequested), "no job was cancelled");
			assertEquals(0, s3.countObjects(s3.prefix()), "staged objects left behind");
			int kept = 0;
			for (JsonNode line : BatchTestData.logLines(out)) {
				if (!"done".equals(line.path("status").asText())) continue;
				assertTrue(Files.isRegularFile(out.resolve(line.path("results").get(0).asText())));
				kept++;
			}
			assertTrue(kept >= 10, "results downloaded before the cancel were lost");
		}
	}

	@Test
	void failuresAreCountedAndListedWithTheirReason() throws Exception {
		Path in = folderOfImages(3);
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY); EditCommandRunner runner = runner(eachlabs)) {
			eachlabs.processingDelay(Duration.ofMillis(100)).jobsEndWith(AsyncJobEmulator.Phase.FAILED,
				"The input was flagged by the safety checker");
			Module batch = run(runner, inputs(in, work.resolve("out")));
			assertEquals(1, ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode());
			String reason = ((Cancelable) batch).getCancelReason();
			assertTrue(reason.startsWith("3 edits failed:"), reason);
			for (int i = 0; i < 3; i++) {
				String source = in.resolve(String.format("c%02d.tif", i)).toAbsolutePath().toString();
				assertTrue(reason.contains(" - " + source + ": ") , reason);
			}
			assertTrue(reason.contains("safety checker"), reason);
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertEquals(0, new File(work.resolve("out").toString()).listFiles((d, n) -> n.endsWith(".tif")).length);
		}
	}

	@Test
	void referenceImagesGoWithEveryEditAndAMissingOneOrImage3AloneStopsBeforeAnyCall() throws Exception {
		Path in = folderOfImages(2);
		Path reference = work.resolve("reference.tif");
		new FileSaver(TestImages.pattern("reference", 300, 200)).saveAsTiff(reference.toString());
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY); EditCommandRunner runner = runner(eachlabs)) {
			eachlabs.processingDelay(Duration.ofMillis(100));
			Map<String, Object> missing = inputs(in, work.resolve("out"));
			missing.put("referenceImage2", work.resolve("gone.tif").toFile());
			Module refused = run(runner, missing);
			assertEquals(2, ((EditImagesBatchCommand) refused.getDelegateObject()).exitCode());
			assertTrue(((Cancelable) refused).getCancelReason().contains("gone.tif"), ((Cancelable) refused).getCancelReason());
			assertEquals(0, eachlabs.jobs().size());

			// Image 3 alone would reach the model as its image 2, where the instruction says image 3.
			Map<String, Object> thirdAlone = inputs(in, work.resolve("out"));
			thirdAlone.put("referenceImage3", reference.toFile());
			Module gap = run(runner, thirdAlone);
			assertEquals(2, ((EditImagesBatchCommand) gap.getDelegateObject()).exitCode());
			assertEquals("Invalid input: Image 3 needs image 2 as well.", ((Cancelable) gap).getCancelReason());
			assertEquals(0, eachlabs.jobs().size());

			Map<String, Object> withReference = inputs(in, work.resolve("out"));
			withReference.put("referenceImage2", reference.toFile());
			Module batch = run(runner, withReference);
			assertEquals(0, ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode(),
				((Cancelable) batch).getCancelReason());
			assertEquals(2, eachlabs.jobs().size());
			for (AsyncJobEmulator.Job job : eachlabs.jobs()) {
				assertEquals(2, job.inputs().size(), "the reference did not go with every edit");
				var sent = job.inputs().get(1).image(); // the 300×200 reference, scaled up to the minimum side
				assertEquals(sent.getWidth() * 2, sent.getHeight() * 3, sent.getWidth() + "×" + sent.getHeight());
			}
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	/**
	 * The batch is recorded just like a single edit, and its seed and size are typed the same way:
	 * what a recorded line would replay differently, and a seed that is no number, are refused before
	 * any call with the single edit's sentences (OptionText, MacroSafeText).
	 */
	@Test
	void textARecordedLineWouldChangeAndABadSeedAreRefusedBeforeAnyCall() throws Exception {
		Path in = folderOfImages(1);
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY); EditCommandRunner runner = runner(eachlabs)) {
			Map<String, Object> unbalanced = inputs(in, work.resolve("out"));
			unbalanced.put("instruction", "remove ] the scale bar");
			Module refused = run(runner, unbalanced);
			assertEquals(2, ((EditImagesBatchCommand) refused.getDelegateObject()).exitCode());
			String reason = ((Cancelable) refused).getCancelReason();
			assertTrue(reason.contains("The instruction has unbalanced square brackets"), reason);

			Map<String, Object> badSeed = inputs(in, work.resolve("out"));
			badSeed.put("seed", "seven");
			Module seedRefused = run(runner, badSeed);
			assertEquals(2, ((EditImagesBatchCommand) seedRefused.getDelegateObject()).exitCode());
			assertTrue(((Cancelable) seedRefused).getCancelReason().contains(
				"The seed must be a whole number between 0 and 2147483647, or -1 for a random seed (it was \"seven\")."),
				((Cancelable) seedRefused).getCancelReason());
			assertEquals(0, eachlabs.jobs().size());
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	/**
	 * Results saved among the sources would be edited, and paid for, by the next run into that
	 * folder: the batch is refused before anything is sent, with a sentence, and nothing is written.
	 */
	@Test
	void anOutputFolderThatHoldsTheSourcesIsRefusedBeforeAnyCall() throws Exception {
		Path in = folderOfImages(2);
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY); EditCommandRunner runner = runner(eachlabs)) {
			Module refused = run(runner, inputs(in, in.resolve(".")));
			String reason = ((Cancelable) refused).getCancelReason();
			assertEquals(2, ((EditImagesBatchCommand) refused.getDelegateObject()).exitCode(), reason);
			assertTrue(reason.contains("Choose another output folder"), reason);
			assertEquals(0, eachlabs.jobs().size());
			try (var files = Files.list(in)) {
				assertEquals(2, files.count(), "something was written among the sources");
			}
		}
	}

	/**
	 * Issue 18: the batch dialog offers what the model's published schema allows, by the same route as
	 * the Edit Images dialog (and, like it, asks the provider nothing: the built-in table until a run
	 * has read the schema); a size the schema refuses stops the whole batch, with one sentence naming
	 * the allowed sizes, before any upload or paid call.
	 */
	@Test
	void theBatchDialogOffersThePublishedSchemasSizesAndASizeItRefusesStopsTheBatchBeforeAnyCall() throws Exception {
		Path in = folderOfImages(2);
		// The built-in table takes any size of 512*512 to 2048*2048 pixels and up to 6 outputs for this model.
		ObjectNode disagreeing = EachLabsEmulator.defaultSchema();
		EmulatedSchema.maximum(EmulatedSchema.field(disagreeing, "size", "string", "1664*928", "928*1664"), "n", 2);
		Map<String, Object> remembered = Map.of("provider", "eachlabs", "model", "alibaba-qwen-image-2-0-image-edit",
			"size", "2048*1024", "outputs", 4);
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY); EditCommandRunner runner = runner(eachlabs)) {
			eachlabs.processingDelay(Duration.ofMillis(100)).schema().replaceWith(disagreeing);
			Module unknown = runner.beforeTheDialog(EditImagesBatchCommand.class, null, remembered);
			assertEquals(List.of(), choices(unknown, "size"), "a size list offered with no schema read");
			assertEquals(EditImagesCommand.MAX_OUTPUTS, maximum(unknown, "outputs"));
			assertEquals(0, eachlabs.schemaReads(), "the dialog asked the provider");

			Map<String, Object> refused = inputs(in, work.resolve("out"));
			refused.put("size", "2048*1024"); // within the built-in table
			Module stopped = run(runner, refused);
			String reason = ((Cancelable) stopped).getCancelReason();
			assertEquals(2, ((EditImagesBatchCommand) stopped.getDelegateObject()).exitCode(), reason);
			assertTrue(reason.startsWith("Invalid input: ") && reason.contains("\"2048*1024\"") &&
				reason.contains("choose one of 1664*928, 928*1664."), reason);
			assertEquals(0, eachlabs.jobs().size(), "a refused size reached a paid call");
			assertEquals(0, eachlabs.uploadCount());
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertEquals(1, eachlabs.schemaReads());

			Module dialog = runner.beforeTheDialog(EditImagesBatchCommand.class, null, remembered);
			assertEquals(List.of("as input", "1664*928", "928*1664"), choices(dialog, "size"));
			assertEquals("as input", dialog.getInput("size"), "a size the schema does not list stayed chosen");
			assertEquals(2, maximum(dialog, "outputs"));
			assertEquals(2, dialog.getInput("outputs"), "more outputs than the schema allows stayed chosen");

			Map<String, Object> listed = inputs(in, work.resolve("out"));
			listed.put("size", "928*1664");
			Module batch = run(runner, listed);
			assertEquals(0, ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode(),
				((Cancelable) batch).getCancelReason());
			assertEquals(2, eachlabs.jobs().size());
			for (AsyncJobEmulator.Job job : eachlabs.jobs()) {
				assertEquals("928*1664", job.request.json().path("input").path("size").asText());
			}
			assertEquals(1, eachlabs.schemaReads(), "the schema is read once per session");
		}
	}

	/**
	 * A schema that does not answer holds a batch up for the schema read's bound alone, once: the batch
	 * goes ahead with the built-in table and says so once, not once per image.
	 */
	@Test
	void aBatchGoesAheadWithTheBuiltInTableWhenTheSchemaDoesNotAnswer() throws Exception {
		Path in = folderOfImages(3);
		try (EachLabsEmulator eachlabs = new EachLabsEmulator(KEY); EditCommandRunner runner = runner(eachlabs)) {
			eachlabs.processingDelay(Duration.ofMillis(100)).schema().serve(EmulatedSchema.Served.HANGS);
			Map<String, Object> sized = inputs(in, work.resolve("out"));
			sized.put("size", "2048*1024");
			long started = System.nanoTime();
			Module batch = run(runner, sized);
			Duration took = Duration.ofNanos(System.nanoTime() - started);
			assertEquals(0, ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode(),
				((Cancelable) batch).getCancelReason());
			assertTrue(took.compareTo(Duration.ofSeconds(20)) < 0, "took " + took);
			assertEquals(3, eachlabs.jobs().size());
			List<String> said = runner.log().stream().filter(l -> l.contains("published schema")).collect(
				java.util.stream.Collectors.toList());
			assertEquals(1, said.size(), runner.log().toString());
			assertTrue(said.get(0).contains("within 4 s") && said.get(0).contains("built-in table"), said.get(0));
			assertEquals(1, eachlabs.schemaReads());
		}
	}

	private static List<String> choices(Module module, String input) {
		List<?> choices = module.getInfo().getInput(input).getChoices();
		List<String> names = new java.util.ArrayList<>();
		if (choices != null) choices.forEach(c -> names.add(String.valueOf(c)));
		return names;
	}

	private static int maximum(Module module, String input) {
		return ((Number) module.getInfo().getInput(input).getMaximumValue()).intValue();
	}
}
