package io.github.qwenedit.imagej;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.scijava.app.StatusService;
import org.scijava.command.Command;
import org.scijava.command.DynamicCommand;
import org.scijava.log.LogService;
import org.scijava.module.MutableModuleItem;
import org.scijava.plugin.Attr;
import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;
import org.scijava.ui.DialogPrompt;
import org.scijava.ui.UIService;
import org.scijava.widget.TextWidget;

import ij.ImagePlus;
import ij.gui.Roi;
import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.OptionText;
import io.github.qwenedit.engine.BatchLog;
import io.github.qwenedit.engine.BatchRun;
import io.github.qwenedit.engine.EditSpecification;
import io.github.qwenedit.engine.Editing;
import io.github.qwenedit.images.BatchImages;
import io.github.qwenedit.images.ResultFiles;
import io.github.qwenedit.images.SelectionEdit;
import io.github.qwenedit.provider.registry.ProviderRegistry;

/**
 * Applies one instruction to every image of a folder, or to every plane of the active stack, with
 * the same engine as the shell command: as many edits at once as the provider allows, TIFF results
 * with provenance, a JSON-lines log, resume, and recovery of jobs a stopped run left in flight. Asks
 * before spending when a screen is there; headless, an optional cost ceiling stops the run instead.
 * Esc or Cancel Running Edits stops it; failures are listed at the end.
 */
@Plugin(type = Command.class, menuPath = "Plugins>Qwen Image Edit>Edit Images (Batch)...", headless = true,
	initializer = "initChoices", attrs = { @Attr(name = "no-record") }) // records itself: see MacroLine
public class EditImagesBatchCommand extends AttributedDynamicCommand {

	static final String FOLDER = "folder";
	static final String ACTIVE_STACK = "active image's slices";
	private static final String TITLE = "Qwen Image Edit batch";
	private static final String PREFIX = TITLE + ": ";

	@Parameter
	private QwenEditService editService;

	@Parameter
	private LogService log;

	@Parameter(required = false)
	private StatusService status;

	@Parameter(required = false)
	private UIService ui;

	@Parameter(label = "Instruction", style = TextWidget.AREA_STYLE)
	private String instruction;

	@Parameter(label = "Source", choices = { FOLDER, ACTIVE_STACK }, required = false)
	private String batchSource = FOLDER;

	@Parameter(label = "Input folder", style = "directory", required = false)
	private File inputFolder;

	@Parameter(label = "Stack (the active image)", required = false)
	private ImagePlus image;

	@Parameter(label = "File name filter")
	private String fileFilter = BatchImages.DEFAULT_FILTER;

	@Parameter(label = "Output folder", style = "directory")
	private File outputFolder;

	@Parameter(label = "Provider", callback = "providerChanged")
	private String provider = ProviderRegistry.ids().get(0);

	@Parameter(label = "Model", callback = "modelChanged")
	private String model = ProviderRegistry.all().get(0).defaultModel();

	@Parameter(label = "Output size (W*H)")
	private String size = OptionText.AS_INPUT;

	@Parameter(label = "Outputs per image", min = "1", max = "" + EditImagesCommand.MAX_OUTPUTS)
	private int outputs = 1;

	@Parameter(label = "Seed (-1 = random)")
	private String seed = OptionText.RANDOM_SEED;

	@Parameter(label = "Let the model extend the prompt")
	private boolean promptExtend = true;

	@Parameter(label = "Staging", choices = { "auto", "bucket", "inline", "provider_upload" })
	private String staging = "auto";

	@Parameter(label = "Edits at once")
	private int concurrency = 4;

	@Parameter(label = "Cost ceiling in USD (0 = none)", min = "0")
	private double maxCost;

	@Parameter(label = "Assemble results into a stack", required = false)
	private boolean assembleStack;

	@Parameter(label = "Image 2 (optional reference, every edit)", style = "open", required = false, persist = false)
	private File referenceImage2;

	@Parameter(label = "Image 3 (optional reference, every edit)", style = "open", required = false, persist = false)
	private File referenceImage3;

	@Parameter(label = "Negative prompt (optional)", style = TextWidget.AREA_STYLE, required = false)
	private String negativePrompt = "";

	private int exitCode = -1;
	private ImagePlus assembled;

	protected void initChoices() {
		MutableModuleItem<String> providerItem = getInfo().getMutableInput("provider", String.class);
		if (providerItem != null) providerItem.setChoices(ProviderRegistry.ids());
		offerChoicesForTheValuesShown();
	}

	/**
	 * The provider's models, and the sizes and outputs the model's published schema allows, as the
	 * Edit Images dialog offers them (see {@link DialogChoicesPreprocessor}).
	 */
	void offerChoicesForTheValuesShown() {
		model = EditImagesCommand.initialModel(this, provider, model, editService);
		EditImagesCommand.offerPublishedChoices(this, provider, model, editService);
	}

	protected void providerChanged() {
		model = EditImagesCommand.offerModels(getInfo().getMutableInput("model", String.class), provider, model, editService);
		EditImagesCommand.offerPublishedChoices(this, provider, model, editService);
	}

	protected void modelChanged() {
		EditImagesCommand.offerPublishedChoices(this, provider, model, editService);
	}

	@Override
	public void run() {
		try {
			exitCode = runBatch();
		}
		catch (EditException e) {
			exitCode = 2;
			fail(e.describe());
			return;
		}
	}

	private int runBatch() throws EditException {
		MacroSafeText.checkInstructionAndNegativePrompt(instruction, negativePrompt);
		Configuration config = editService.configuration();
		editService.rememberOutputFolder(outputFolder);
		EditSpecification spec = EditSpecification.of(provider)
			.model(EditImagesCommand.modelToRun(this, provider, model, editService)).instruction(instruction)
			.negativePrompt(negativePrompt).size(size).seed(seed).outputs(outputs).promptExtend(promptExtend)
			.staging(staging).parse();
		Editing editing = Editing.of(spec, config, problem -> log.warn(PREFIX + problem));
		boolean fromStack = ACTIVE_STACK.equals(batchSource);
		Path output = outputFolder.toPath();
		EditSpecification.requireImage2ForImage3(given(referenceImage2), given(referenceImage3), "image 2", "Image 3");
		List<String> referenceFiles = new ArrayList<>();
		for (File reference : new File[] { referenceImage2, referenceImage3 }) {
			if (given(reference)) referenceFiles.add(reference.getPath());
		}
		List<InputImage> references = BatchImages.readReferences(referenceFiles, "choose an image file that exists.");
		List<BatchImages.Job> jobs;
		if (fromStack) {
			if (image == null) {
				throw new EditException(ErrorKind.INVALID_INPUT, "No image is open: open the stack to edit and make it " +
					"the active window, or choose a folder as the source.");
			}
			Roi selection = image.getRoi() != null && image.getRoi().isArea() ? image.getRoi() : null;
			jobs = BatchImages.ofStack(image, new BatchImages.Shared(output, selection, SelectionEdit.DEFAULT_FEATHER,
				references));
		}
		else {
			if (inputFolder == null || !inputFolder.isDirectory()) {
				throw new EditException(ErrorKind.INVALID_INPUT, "Choose the input folder (" + inputFolder + " is no folder).");
			}
			List<Path> files = BatchImages.filesIn(inputFolder.toPath(), fileFilter);
			if (files.isEmpty()) {
				throw new EditException(ErrorKind.INVALID_INPUT, "No file in " + inputFolder + " matches " + fileFilter + ".");
			}
			jobs = BatchImages.ofFiles(files, new BatchImages.Shared(output, null, SelectionEdit.DEFAULT_FEATHER, references));
		}
		BatchRun run = editing.batch(jobs, output);
		boolean asking = ui != null && !ui.isHeadless();
		Cancellation cancellation = new Cancellation();
		BatchRun.Outcome outcome;
		try (AutoCloseable escape = EscapeKeyWatch.start(cancellation);
			Cancellation.Registration tracked = editService.track(cancellation))
		{
			outcome = run.listener(new BatchRun.Listener() {
				@Override
				public void said(String line) {
					log.info(PREFIX + line);
				}

				@Override
				public void warned(String line) {
					log.warn(PREFIX + line);
				}

				@Override
				public void progress(int finished, int total) {
					if (status != null) status.showStatus(finished, total, "Qwen Image Edit batch: " + finished + "/" + total);
				}
			})
				.cancellation(cancellation).concurrency(concurrency).maxCostUsd(maxCost == 0 ? null : maxCost)
				.confirm(question -> !asking || ui.showDialog(question, TITLE, DialogPrompt.MessageType.QUESTION_MESSAGE,
					DialogPrompt.OptionType.YES_NO_OPTION) == DialogPrompt.Result.YES_OPTION)
				.recovery((entry, result, folder) -> ResultFiles.saveRecovered(entry, result, folder, recovered -> {}))
				.run();
		}
		catch (EditException e) {
			throw e;
		}
		catch (Exception e) {
			throw new IllegalStateException(e);
		}
		if (!outcome.started) {
			fail(outcome.refusal);
			return outcome.refused == BatchRun.Refusal.UNPRICED ? 2 : 1;
		}
		MacroLine.record(this);
		if (fromStack && assembleStack) {
			BatchImages.assemble(jobs, output, problem -> log.warn(PREFIX + config.redact(problem))).ifPresent(done -> {
				log.info(PREFIX + "assembled " + image.getTitle() + " -> " + done.file.getName());
				assembled = done.stack;
				if (asking) done.stack.show();
			});
		}
		if (outcome.complete()) return 0;
		StringBuilder report = new StringBuilder();
		if (outcome.failed > 0) {
			report.append(outcome.failed).append(outcome.failed == 1 ? " edit" : " edits").append(" failed:\n");
			outcome.failures.stream().limit(20).forEach(f -> report.append(" - ").append(f).append('\n'));
			if (outcome.failures.size() > 20) report.append(" - and ").append(outcome.failures.size() - 20).append(" more\n");
		}
		if (outcome.cancelled > 0) report.append(outcome.describeCancel()).append('\n');
		if (outcome.pending > 0) {
			report.append(outcome.pending).append(outcome.pending == 1 ? " image is" : " images are")
				.append(" pending: an earlier run's job is still in the journal (the Log window says what fetches it).\n");
		}
		fail(report + "Results and " + BatchLog.FILE + " are in " + outputFolder + ". Run the batch again to redo " +
			"what did not finish; finished images are skipped.");
		return 1;
	}

	private static boolean given(File file) {
		return file != null && !file.getPath().isBlank();
	}

	/** The stack assembled from the results, when one was asked for and every plane has a result. */
	public ImagePlus assembled() {
		return assembled;
	}

	private void fail(String problem) {
		String message = redacted(problem);
		log.error(PREFIX + message);
		if (ui != null && !ui.isHeadless()) ui.showDialog(message, TITLE, DialogPrompt.MessageType.ERROR_MESSAGE);
		cancel(message);
	}

	/** {@code text} without any secret of the configuration, as every message of the plugin is shown. */
	private String redacted(String text) {
		try {
			return editService.configuration().redact(text);
		}
		catch (EditException e) {
			return text; // no configuration could be read, so none of its secrets can be in the text
		}
	}

	/** 0 when every image was edited or skipped, 1 when some failed or it was not started, 2 for a setup problem. */
	public int exitCode() {
		return exitCode;
	}
}
