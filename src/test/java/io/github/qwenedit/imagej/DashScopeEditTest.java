package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.EditedResults.assertEditedPixels;
import static io.github.qwenedit.fixtures.SecretLeaks.assertKeyNowhere;
import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.scijava.module.Module;

import ij.ImagePlus;
import ij.macro.Interpreter;
import ij.process.ColorProcessor;
import io.github.qwenedit.core.Hashing;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.staging.S3TestServer;

/**
 * The whole edit as a Fiji user runs it: the Edit Images command through SciJava's CommandService,
 * against the DashScope emulator, with images inline and through a real S3-compatible bucket.
 */
class DashScopeEditTest {

	@org.junit.jupiter.api.io.TempDir
	java.nio.file.Path work;

	private static final String KEY = "sk-dashscope-test-7f3a9c";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();
	private final S3TestServer s3 = bed.s3();

	private DashScopeEmulator dashscope;
	private ImagePlus cells;

	@BeforeEach
	void start() {
		dashscope = new DashScopeEmulator(KEY);
		cells = pattern("cells.tif", 480, 400);
	}

	@AfterEach
	void stop() {
		dashscope.close();
	}

	private Map<String, String> inlineEnv() {
		Map<String, String> env = new HashMap<>();
		env.put("DASHSCOPE_API_KEY", KEY);
		env.put("DASHSCOPE_BASE_URL", dashscope.baseUrl());
		return env;
	}

	private Map<String, String> bucketEnv() {
		Map<String, String> env = inlineEnv();
		env.putAll(s3.env());
		return env;
	}

	private static Map<String, Object> inputs(ImagePlus image, String instruction) {
		return EditCommandRunner.inputs(image, "dashscope", "qwen-image-2.0", instruction);
	}

	@Test
	void editsInlineAndOpensEveryResultWithItsProvenance() throws Exception {
		int[] before = ((int[]) cells.getProcessor().getPixels()).clone();
		Map<String, Object> in = inputs(cells, "render this as a watercolour");
		in.put("outputs", 2);
		in.put("seed", "42");
		in.put("negativePrompt", "blurry, text");
		try (EditCommandRunner runner = new EditCommandRunner(inlineEnv())) {
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			List<ImagePlus> results = run.results();
			assertEquals(2, results.size());

			DashScopeEmulator.ReceivedEdit edit = dashscope.lastEdit();
			assertEquals("render this as a watercolour", edit.prompt());
			assertEquals(2, edit.count());
			assertEquals(42, edit.body().path("parameters").path("seed").asInt());
			assertEquals("blurry, text", edit.body().path("parameters").path("negative_prompt").asText());
			assertTrue(edit.inputs().get(0).fromDataUri());

			for (int i = 0; i < 2; i++) {
				ImagePlus result = results.get(i);
				assertEquals("AI-edit " + (i + 1) + " of cells.tif", result.getTitle());
				assertEquals(480, result.getWidth());
				assertEquals(400, result.getHeight());
				assertEditedPixels(result, edit.inputs().get(0).image(), i);
				assertEquals("qwen-image-2.0", result.getProp(Provenance.MODEL));
				assertEquals("DashScope", result.getProp(Provenance.PROVIDER));
				assertEquals("render this as a watercolour", result.getProp(Provenance.PROMPT));
				assertEquals("blurry, text", result.getProp(Provenance.NEGATIVE_PROMPT));
				assertEquals("42", result.getProp(Provenance.SEED));
				assertEquals("inline (data URI)", result.getProp(Provenance.STAGING));
				assertEquals("cells.tif", result.getProp(Provenance.sourceTitle(1)));
				assertEquals(Hashing.sha256Hex(edit.inputs().get(0).bytes()), result.getProp(Provenance.sourceSha256(1)));
				assertEquals(Provenance.IPTC_COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
					result.getProp(Provenance.DIGITAL_SOURCE_TYPE));
				assertNotNull(result.getProp(Provenance.REQUEST_ID));
				assertTrue(((String) result.getProperty("Info")).startsWith("AI-generated image"));
			}
			assertTrue(java.util.Arrays.equals(before, (int[]) cells.getProcessor().getPixels()), "original modified");
			assertFalse(cells.changes);
			assertKeyNowhere(run, runner, KEY);
			assertFalse(edit.request().mentionsOutside(KEY, "Authorization"));
		}
	}

	@Test
	void stagesInputsInTheBucketAndLeavesItEmpty() throws Exception {
		ImagePlus reference = pattern("reference.png", 400, 400);
		boolean batchMode = Interpreter.batchMode;
		Interpreter.batchMode = true;
		Interpreter.addBatchModeImage(reference);
		try (EditCommandRunner runner = new EditCommandRunner(bucketEnv())) {
			Map<String, Object> in = inputs(cells, "put the cell from image 2 into image 1");
			in.put("image2", "reference.png");
			EditCommandRunner.Run run = runner.run(in);
			assertFalse(run.failed(), run.failure());
			DashScopeEmulator.ReceivedEdit edit = dashscope.lastEdit();
			assertEquals(2, edit.inputs().size());
			for (var input : edit.inputs()) {
				assertFalse(input.fromDataUri(), "sent inline although a bucket is configured");
				assertTrue(input.reference().contains("X-Amz-Signature="), "not a presigned link");
				assertFalse(input.reference().contains("cells") || input.reference().contains("reference"),
					"the object key reveals the image title");
			}
			ImagePlus result = run.results().get(0);
			assertEquals("bucket (presigned link)", result.getProp(Provenance.STAGING));
			assertEquals("reference.png", result.getProp(Provenance.sourceTitle(2)));
			// The output takes the size of the last input, as DashScope documents.
			assertEquals(400, result.getWidth());
			assertEquals(0, s3.countObjects(s3.prefix()));
			assertKeyNowhere(run, runner, KEY, s3.secretAccessKey());
		}
		finally {
			Interpreter.removeBatchModeImage(reference);
			Interpreter.batchMode = batchMode;
		}
	}

	@Test
	void providerErrorsBecomeOneClearSentenceAndTheBucketIsEmptied() throws Exception {
		Map<DashScopeEmulator.Failure, String> expected = Map.of(
			DashScopeEmulator.Failure.ARREARAGE, "overdue bill",
			DashScopeEmulator.Failure.DATA_INSPECTION_FAILED, "content check refused",
			DashScopeEmulator.Failure.INTERNAL_ERROR, "Try again in a few minutes");
		try (EditCommandRunner runner = new EditCommandRunner(bucketEnv())) {
			for (var e : expected.entrySet()) {
				dashscope.failNext(e.getKey());
				EditCommandRunner.Run run = runner.run(inputs(cells, "remove the scale bar"));
				assertTrue(run.failed());
				assertTrue(run.failure().contains(e.getValue()), run.failure());
				assertEquals(0, s3.countObjects(s3.prefix()), "bucket not emptied after " + e.getKey());
				assertKeyNowhere(run, runner, KEY, s3.secretAccessKey());
			}
		}
	}

	/**
	 * Each account, quota and moderation code gets its own sentence and kind, decided by the code alone:
	 * the messages sent are the same for all of them, so nothing can hang on their wording.
	 */
	@org.junit.jupiter.params.ParameterizedTest
	@org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
		"IP_INFRINGEMENT_SUSPECT | Content rejected: | intellectual property",
		"ARREARAGE | Insufficient credit: | overdue bill",
		"PREPAID_BILL_OVERDUE | Insufficient credit: | overdue bill",
		"POSTPAID_BILL_OVERDUE | Insufficient credit: | overdue bill",
		"COMMODITY_NOT_PURCHASED | Insufficient credit: | has not been purchased",
		"THROTTLING_ALLOCATION_QUOTA | Rate limited: | quota allocated",
		"ACCESS_DENIED_UNPURCHASED | Not authorised: | activate the model in the Model Studio console",
		"MODEL_ACCESS_DENIED | Not authorised: | activate the model in the Model Studio console" })
	void accountQuotaAndModerationCodesEachGetTheirOwnAdvice(DashScopeEmulator.Failure failure, String kind, String advice)
		throws Exception
	{
		try (EditCommandRunner runner = new EditCommandRunner(inlineEnv())) {
			// A used-up quota answers every retry the same way, as a real one does until it renews.
			for (int i = failure == DashScopeEmulator.Failure.THROTTLING_ALLOCATION_QUOTA ? 10 : 1; i > 0; i--) {
				dashscope.failNext(failure);
			}
			EditCommandRunner.Run run = runner.run(inputs(cells, "remove the scale bar"));
			assertTrue(run.failed(), "the edit succeeded after " + failure);
			assertTrue(run.failure().startsWith(kind) && run.failure().contains(advice), run.failure());
			assertFalse(run.failure().contains("DASHSCOPE_API_KEY"), "not a key problem: " + run.failure());
		}
	}

	@Test
	void aWrongKeyIsNamedWithoutShowingIt() throws Exception {
		Map<String, String> env = inlineEnv();
		env.put("DASHSCOPE_API_KEY", "sk-wrong-key-0000");
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs(cells, "remove the scale bar"));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("DASHSCOPE_API_KEY"), run.failure());
			assertKeyNowhere(run, runner, "sk-wrong-key-0000");
		}
	}

	@Test
	void aMissingKeySaysWhereToSetIt() throws Exception {
		Map<String, String> env = inlineEnv();
		env.remove("DASHSCOPE_API_KEY");
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs(cells, "remove the scale bar"));
			assertTrue(run.failure().contains("set the environment variable DASHSCOPE_API_KEY"), run.failure());
			assertEquals(0, dashscope.requests().size(), "a request was sent without a key");
		}
	}

	@Test
	void badInputIsRefusedBeforeAnyCall() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(inlineEnv())) {
			List<String> failures = new ArrayList<>();
			Map<String, Object> in = inputs(cells, "");
			failures.add(runner.run(in).failure());
			in = inputs(cells, "x".repeat(801));
			failures.add(runner.run(in).failure());
			in = inputs(cells, "remove it");
			in.put("size", "1024x1024");
			failures.add(runner.run(in).failure());
			in = inputs(cells, "remove it");
			in.put("outputs", 7);
			failures.add(runner.run(in).failure());
			in = inputs(cells, "remove it");
			in.put("seed", "-2");
			failures.add(runner.run(in).failure());
			in = inputs(cells, "remove ] it");
			failures.add(runner.run(in).failure());
			in = inputs(cells, "remove it");
			in.put("image2", "not open.tif");
			failures.add(runner.run(in).failure());
			in = inputs(cells, "remove it");
			in.put("image3", cells.getTitle());
			String image3Alone = runner.run(in).failure();
			assertEquals("Invalid input: Image 3 needs image 2 as well.", image3Alone);
			failures.add(image3Alone);
			in = inputs(null, "remove it");
			in.remove("image");
			failures.add(runner.run(in).failure());
			ImagePlus huge = new ImagePlus("huge.tif", new ij.process.ByteProcessor(10_001, 10_000));
			String tooLarge = runner.run(inputs(huge, "remove it")).failure();
			assertTrue(tooLarge.contains("megapixels"), tooLarge);
			failures.add(tooLarge);
			for (String f : failures) {
				assertNotNull(f);
				assertTrue(f.startsWith("Invalid input: "), f);
			}
			assertEquals(0, dashscope.requests().size(), "a paid call was made for bad input");
		}
	}

	@Test
	void cancellingStopsTheEditAndEmptiesTheBucket() throws Exception {
		dashscope.processingDelay(Duration.ofSeconds(30));
		try (EditCommandRunner runner = new EditCommandRunner(bucketEnv())) {
			Future<Module> running = runner.start(inputs(cells, "remove the scale bar"));
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
			while (dashscope.requests(DashScopeEmulator.GENERATION_PATH).isEmpty() && System.nanoTime() < until) {
				Thread.sleep(20);
			}
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(20, TimeUnit.SECONDS));
			assertTrue(run.failed());
			assertTrue(run.failure().contains("cancelled"), run.failure());
			assertTrue(run.failure().contains("may still run and charge"), run.failure());
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void anEditThatNeverAnswersStopsAtTheDeadline() throws Exception {
		dashscope.hangNext();
		Map<String, String> env = bucketEnv();
		env.put("QWEN_EDIT_DEADLINE_SECONDS", "2");
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(inputs(cells, "remove the scale bar"));
			assertTrue(run.failure().startsWith("Timed out: "), run.failure());
			assertTrue(run.failure().contains("2 seconds"), run.failure());
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	/** A 200 that carries DashScope's error code and message instead of an image says what DashScope said. */
	@Test
	void anAnswerWithAnErrorCodeInsteadOfAnImageSaysWhatDashScopeSaid() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(inlineEnv())) {
			dashscope.failNextWith(200, "{\"request_id\":\"r-200-error\",\"code\":\"InternalError\",\"message\":\"boom\"}",
				Map.of());
			String failure = runner.run(inputs(cells, "remove the scale bar")).failure();
			assertTrue(failure.startsWith("Provider failure: ") && failure.contains("InternalError") &&
				failure.contains("boom"), failure);
		}
	}

	@Test
	void brokenOrNonImageOutputsAreExplained() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(inlineEnv())) {
			dashscope.breakOutputLinks();
			Map<String, Object> unsaved = inputs(cells, "remove the scale bar");
			unsaved.put("outputFolder", new java.io.File(""));
			String broken = runner.run(unsaved).failure();
			assertTrue(broken.contains("could not be downloaded"), broken);
			// Kept in no journal: the user is told this paid result cannot be recovered, and why.
			assertTrue(broken.contains("had no output folder"), broken);
			// With an output folder, the paid result's links stay in its journal for Recover.
			java.nio.file.Path folder = work.resolve("broken-links");
			Map<String, Object> saved = inputs(cells, "remove the scale bar");
			saved.put("outputFolder", folder.toFile());
			runner.run(saved);
			assertEquals(1, new io.github.qwenedit.engine.BatchJournal(folder).entries().size(), runner.log().toString());
			assertTrue(runner.log().stream().anyMatch(l -> l.contains("Recover Unfinished Edits")), runner.log().toString());
		}
		try (DashScopeEmulator html = new DashScopeEmulator(KEY)) {
			html.nonImageOutputs();
			Map<String, String> env = inlineEnv();
			env.put("DASHSCOPE_BASE_URL", html.baseUrl());
			try (EditCommandRunner runner = new EditCommandRunner(env)) {
				String notImage = runner.run(inputs(cells, "remove the scale bar")).failure();
				assertTrue(notImage.contains("not an image"), notImage);
			}
		}
	}

	@Test
	void smallImagesAreScaledUpToTheProvidersMinimumAndTheScalingIsRecorded() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(inlineEnv())) {
			EditCommandRunner.Run run = runner.run(inputs(pattern("tiny.tif", 200, 150), "sharpen"));
			assertFalse(run.failed(), run.failure());
			var sent = dashscope.lastEdit().inputs().get(0);
			assertEquals(512, sent.width());
			assertEquals(384, sent.height());
			String adjustments = run.results().get(0).getProp(Provenance.INPUT_ADJUSTMENTS);
			assertTrue(adjustments != null && adjustments.contains("200*150") && adjustments.contains("512*384"),
				adjustments);
		}
	}

	@Test
	void imagesTooLargeForOneRequestAreReEncodedToFitAndItIsRecorded() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(inlineEnv())) {
			EditCommandRunner.Run run = runner.run(inputs(noise("noise.tif", 2400, 2400), "denoise"));
			assertFalse(run.failed(), run.failure());
			var edit = dashscope.lastEdit();
			assertTrue(edit.request().bodyLength() <= DashScopeEmulator.MAX_BODY_BYTES, "body over DashScope's limit");
			String adjustments = run.results().get(0).getProp(Provenance.INPUT_ADJUSTMENTS);
			assertNotNull(adjustments, "the re-encoding is not recorded");
			assertTrue(adjustments.contains("to keep the inline request within"), adjustments);
			// As PNG the image would be 17 MB, over the 10 MB per file too; the JPEG the request limit asks for is far below.
			assertFalse(adjustments.contains("per image file"), adjustments);
			assertEquals(Hashing.sha256Hex(edit.inputs().get(0).bytes()), run.results().get(0).getProp(Provenance.sourceSha256(1)),
				"the provenance must hash the bytes actually sent");
		}
	}

	@Test
	void aLargeNoisyImageIsScaledToDashScopesFileSizeLimitBeforeItIsStagedAndItIsRecorded() throws Exception {
		ImagePlus micrograph = noise("micrograph.tif", 4096, 4096);
		try (EditCommandRunner runner = new EditCommandRunner(bucketEnv())) {
			EditCommandRunner.Run run = runner.run(inputs(micrograph, "denoise"));
			assertFalse(run.failed(), run.failure());

			var sent = dashscope.lastEdit().inputs().get(0);
			assertFalse(sent.fromDataUri(), "sent inline although a bucket is configured");
			assertTrue(sent.bytes().length <= DashScopeEmulator.MAX_IMAGE_BYTES,
				"the staged file has " + sent.bytes().length + " bytes");
			assertEquals(sent.width(), sent.height(), "the aspect ratio is not kept");
			assertTrue(sent.width() >= 384 && sent.width() < 3072, "width " + sent.width());
			ImagePlus result = run.results().get(0);
			String adjustments = result.getProp(Provenance.INPUT_ADJUSTMENTS);
			assertNotNull(adjustments, "the scaling is not recorded");
			assertTrue(adjustments.contains("image 1: scaled from 4096*4096 to 3072*3072 to fit 384-3072 px per side"),
				adjustments);
			String fileLimit = adjustments.substring(adjustments.indexOf("; ") + 2);
			assertTrue(fileLimit.startsWith("image 1: ") && fileLimit.contains("scaled from 3072*3072 to " + sent.width() +
				"*" + sent.height()) && fileLimit.endsWith(" to fit the limit of 10 MB per image file of DashScope " +
				"qwen-image-2.0"), adjustments);
			assertEquals(sent.width() + "*" + sent.height(), result.getProp(Provenance.sourceSize(1)));
			assertEquals(Hashing.sha256Hex(sent.bytes()), result.getProp(Provenance.sourceSha256(1)),
				"the provenance must hash the bytes actually sent");
			assertEquals(0, s3.countObjects(s3.prefix()));
		}
	}

	@Test
	void resultsAreSavedAsTiffWithTheirProvenanceWhenAFolderIsGiven(@org.junit.jupiter.api.io.TempDir java.nio.file.Path folder)
		throws Exception
	{
		Map<String, Object> in = inputs(cells, "remove the scale bar");
		in.put("outputFolder", folder.toFile());
		try (EditCommandRunner runner = new EditCommandRunner(inlineEnv())) {
			assertFalse(runner.run(in).failed());
			assertFalse(runner.run(in).failed());
		}
		java.io.File first = folder.resolve("AI-edit_1_of_cells.tif").toFile();
		java.io.File second = folder.resolve("AI-edit_1_of_cells-2.tif").toFile();
		assertTrue(first.isFile() && second.isFile(), "a result was not saved, or one overwrote the other");
		ImagePlus reopened = ij.IJ.openImage(first.getPath());
		assertEquals("qwen-image-2.0", reopened.getProp(Provenance.MODEL));
		assertEquals("remove the scale bar", reopened.getProp(Provenance.PROMPT));
		assertEquals(Provenance.IPTC_COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA, reopened.getProp(Provenance.DIGITAL_SOURCE_TYPE));
		assertTrue(String.valueOf(reopened.getProperty("Info")).startsWith("AI-generated image"));
	}

	/**
	 * An edit whose paid result stays in the folder's journal (here its link kept answering 404) is
	 * not sent again by running the same edit into that folder: that would pay twice for one result.
	 * Another edit of the same image goes ahead.
	 */
	@Test
	void theSameEditStillInTheFoldersJournalIsNotSentAgain(@org.junit.jupiter.api.io.TempDir java.nio.file.Path folder)
		throws Exception
	{
		dashscope.missingOutputsFor(1000);
		Map<String, Object> in = inputs(cells, "remove the scale bar");
		in.put("outputFolder", folder.toFile());
		try (EditCommandRunner runner = new EditCommandRunner(inlineEnv())) {
			assertTrue(runner.run(in).failed());
			assertEquals(1, new io.github.qwenedit.engine.BatchJournal(folder).entries().size());

			EditCommandRunner.Run again = runner.run(in);
			assertTrue(again.failed() && again.failure().contains("The same edit of cells.tif is still in the journal"),
				again.failure());
			assertEquals(1, dashscope.edits().size(), "the same edit was paid for twice");

			dashscope.missingOutputsFor(0);
			Map<String, Object> another = inputs(cells, "sharpen the nuclei");
			another.put("outputFolder", folder.toFile());
			EditCommandRunner.Run other = runner.run(another);
			assertFalse(other.failed(), other.failure());
			assertEquals(2, dashscope.edits().size());
		}
	}

	/**
	 * Noise in every bit, like a micrograph at its worst: PNG cannot compress it, so at 3072*3072 px it
	 * takes about 28 MB, far over DashScope's 10 MB per file.
	 */
	private static ImagePlus noise(String title, int width, int height) {
		ColorProcessor cp = new ColorProcessor(width, height);
		int[] pixels = (int[]) cp.getPixels();
		java.util.SplittableRandom random = new java.util.SplittableRandom(7);
		for (int i = 0; i < pixels.length; i++) {
			pixels[i] = random.nextInt(0x1000000);
		}
		return new ImagePlus(title, cp);
	}
}
