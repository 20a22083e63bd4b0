package io.github.qwenedit.imagej;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.scijava.ItemIO;
import org.scijava.app.StatusService;
import org.scijava.command.Command;
import org.scijava.command.DynamicCommand;
import org.scijava.log.LogService;
import org.scijava.module.Module;
import org.scijava.module.ModuleService;
import org.scijava.module.MutableModuleItem;
import org.scijava.plugin.Attr;
import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;
import org.scijava.thread.ThreadService;
import org.scijava.ui.DialogPrompt;
import org.scijava.ui.UIService;
import org.scijava.widget.TextWidget;

import ij.ImagePlus;
import ij.WindowManager;
import ij.io.FileInfo;
import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.OptionText;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.engine.EditSession;
import io.github.qwenedit.engine.EditSpecification;
import io.github.qwenedit.engine.Editing;
import io.github.qwenedit.engine.OutputFolderLock;
import io.github.qwenedit.engine.PlantedLinks;
import io.github.qwenedit.images.ImageEncoder;
import io.github.qwenedit.images.ResultFiles;
import io.github.qwenedit.images.ResultImages;
import io.github.qwenedit.images.SelectionEdit;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.PublishedChoices;
import io.github.qwenedit.provider.registry.ProviderRegistry;

/**
 * Edits the active image (plus up to two more) with a Qwen image-edit model and opens every result
 * as a new window. The instruction is declared first, so that the dialog shows it at the top on
 * any screen; the recorded line still writes it last (see {@link MacroLine}), so that nothing typed
 * there can stand in for a real option on replay.
 */
@Plugin(type = Command.class, menuPath = "Plugins>Qwen Image Edit>Edit Images...", headless = true,
	initializer = "initChoices", attrs = { @Attr(name = "no-record") }) // records itself: see MacroLine
public class EditImagesCommand extends AttributedDynamicCommand {

	static final String NONE = "none";
	/** The most outputs any built-in model makes; a model's own limit is checked when the edit runs. */
	static final int MAX_OUTPUTS = 6;
	/** The inputs only an edit of an area selection uses. */
	static final List<String> SELECTION_OPTIONS = List.of("contextMargin", "featherWidth");

	@Parameter
	private LogService log;

	@Parameter(required = false)
	private StatusService status;

	@Parameter(required = false)
	private UIService ui;

	@Parameter
	private QwenEditService editService;

	@Parameter(required = false)
	private ThreadService threads;

	@Parameter(required = false)
	private ModuleService modules;

	@Parameter(label = "Instruction", style = TextWidget.AREA_STYLE,
		description = "What to change, e.g. 'remove the scale bar'. Refer to the images as image 1, 2 and 3.")
	private String instruction;

	@Parameter(label = "Image 1 (the image to edit)")
	private ImagePlus image;

	@Parameter(label = "Image 2 (optional reference)", persist = false)
	private String image2 = NONE;

	@Parameter(label = "Image 3 (optional reference)", persist = false)
	private String image3 = NONE;

	@Parameter(label = "Provider", callback = "providerChanged")
	private String provider = ProviderRegistry.ids().get(0);

	@Parameter(label = "Model", callback = "modelChanged")
	private String model = ProviderRegistry.all().get(0).defaultModel();

	@Parameter(label = "Output size (W*H)", description = "'as input', or width*height in pixels such as 1024*1024")
	private String size = OptionText.AS_INPUT;

	@Parameter(label = "Number of outputs", min = "1", max = "" + MAX_OUTPUTS)
	private int outputs = 1;

	@Parameter(label = "Seed (-1 = random)")
	private String seed = OptionText.RANDOM_SEED;

	@Parameter(label = "Let the model extend the prompt")
	private boolean promptExtend = true;

	@Parameter(label = "Watermark")
	private boolean watermark;

	@Parameter(label = "Staging", choices = { "auto", "bucket", "inline", "provider_upload" },
		description = "How images reach the provider: auto uses the bucket when one is configured")
	private String staging = "auto";

	@Parameter(label = "Selection: context margin (fraction of its size)", min = "0", max = "2",
		description = "With an area selection only the selection plus this much context is sent, and only the selection changes")
	private double contextMargin = SelectionEdit.DEFAULT_MARGIN;

	@Parameter(label = "Selection: feathered edge (pixels, 0 = hard)", min = "0", max = "200")
	private int featherWidth = SelectionEdit.DEFAULT_FEATHER;

	@Parameter(label = "Show changes (difference map)")
	private boolean showChanges;

	@Parameter(label = "Save results to folder (optional)", style = "directory", required = false,
		description = "Each result is also saved here as TIFF, with its provenance; the job is journalled here until " +
			"then, so Recover Unfinished Edits can fetch its result after a crash")
	private File outputFolder;


	@Parameter(label = "Negative prompt (optional)", style = TextWidget.AREA_STYLE, required = false)
	private String negativePrompt = "";

	@Parameter(type = ItemIO.OUTPUT, label = "Edited images")
	private List<ImagePlus> results;

	/** Fills the choices that depend on what is open and on the chosen provider. */
	protected void initChoices() {
		List<String> titles = new ArrayList<>();
		titles.add(NONE);
		String[] open = WindowManager.getImageTitles();
		for (String title : open) {
			titles.add(title);
		}
		for (String name : new String[] { "image2", "image3" }) {
			MutableModuleItem<String> item = getInfo().getMutableInput(name, String.class);
			if (item != null) item.setChoices(titles);
		}
		MutableModuleItem<String> providerItem = getInfo().getMutableInput("provider", String.class);
		if (providerItem != null) providerItem.setChoices(ProviderRegistry.ids());
		if (!isInputResolved("provider")) {
			try {
				provider = editService.configuration().get(Configuration.DEFAULT_PROVIDER, provider);
			}
			catch (EditException unreadableSettings) {
				// Reported when the command runs; the dialog starts from the built-in default.
			}
		}
		model = initialModel(this, provider, model, editService);
		offerPublishedChoices();
		askSelectionOptionsOnlyForAnAreaSelection();
	}

	/** Offers what the chosen model's published schema allows. */
	void offerPublishedChoices() {
		offerPublishedChoices(this, provider, model, editService);
	}

	/**
	 * Where {@code model}'s published schema, read by an earlier edit of this session, lists the sizes
	 * it takes or caps the number of outputs, the dialog of {@code command} (Edit Images, or its batch)
	 * offers those instead of the built-in table's (issue 18). Nothing is asked of the provider here, so
	 * the dialog never waits for one; an input the call gave is left as it is, to be checked against the
	 * schema when the edit runs.
	 */
	static void offerPublishedChoices(DynamicCommand command, String provider, String model, QwenEditService service) {
		Optional<PublishedChoices> published = publishedChoices(provider, model, service);
		MutableModuleItem<String> sizeItem = command.getInfo().getMutableInput("size", String.class);
		if (sizeItem != null && !command.isInputResolved("size")) {
			List<String> sizes = published.map(PublishedChoices::sizes).orElse(List.of());
			List<String> offered = new ArrayList<>();
			if (!sizes.isEmpty()) {
				offered.add(OptionText.AS_INPUT);
				offered.addAll(sizes);
				if (!offered.contains(command.getInput("size"))) command.setInput("size", OptionText.AS_INPUT);
			}
			// No choices leaves the free W*H field of the built-in table.
			sizeItem.setChoices(offered);
		}
		MutableModuleItem<Integer> outputsItem = command.getInfo().getMutableInput("outputs", Integer.class);
		if (outputsItem != null && !command.isInputResolved("outputs")) {
			int most = published.map(PublishedChoices::maxOutputs).orElse(MAX_OUTPUTS);
			outputsItem.setMaximumValue(most);
			Object shown = command.getInput("outputs");
			if (shown instanceof Integer && (Integer) shown > most) command.setInput("outputs", most);
		}
	}

	/** The choices {@code model}'s schema allows, if this session has read it; empty when unknown or not set up. */
	static Optional<PublishedChoices> publishedChoices(String provider, String model, QwenEditService service) {
		try {
			return ProviderRegistry.get(provider).create(service.configuration()).publishedChoices(model);
		}
		catch (EditException notSetUpOrUnknown) {
			return Optional.empty(); // a missing key or an unknown model is reported when the command runs
		}
	}

	/** The provider's models and the model's published choices, for the values the dialog opens with. */
	void offerChoicesForTheValuesShown() {
		model = initialModel(this, provider, model, editService);
		offerPublishedChoices();
	}

	/** Offers what the chosen model's published schema allows. */
	protected void modelChanged() {
		offerPublishedChoices();
	}

	/**
	 * The selection options apply only to an area selection: without one the dialog does not show
	 * them. The inputs are marked resolved, which is what SciJava's dialog skips (it and the Swing
	 * widgets of scijava-ui-swing 1.0.3 ignore {@code ItemVisibility.INVISIBLE}), with their
	 * remembered values, so that the recorded line still carries every option and nothing is
	 * forgotten for the next image with a selection. A line or script that gives them is untouched.
	 */
	private void askSelectionOptionsOnlyForAnAreaSelection() {
		if (SelectionEdit.hasAreaSelection(image)) return;
		for (String name : SELECTION_OPTIONS) {
			if (isInputResolved(name)) continue;
			Object remembered = modules == null ? null : modules.load(getInfo().getInput(name));
			if (remembered != null) setInput(name, remembered);
			resolveInput(name);
		}
	}

	/** Offers {@code provider}'s models; a model named by the call is kept as it is, to be checked when it runs. */
	static String initialModel(DynamicCommand command, String provider, String model, QwenEditService service) {
		String offered = offerModels(command.getInfo().getMutableInput("model", String.class), provider, model, service);
		return command.isInputResolved("model") ? model : offered;
	}

	/** Offers the chosen provider's models, keeping the current one when it belongs to it. */
	protected void providerChanged() {
		model = offerModels(getInfo().getMutableInput("model", String.class), provider, model, editService);
		offerPublishedChoices();
	}

	/**
	 * The model to run. One the call named is kept, so that the request refuses it with the list of
	 * models if the provider lacks it (never another model billed in its place); one the call did not
	 * name (remembered from an earlier run, perhaps with another provider) gives way to the provider's
	 * default when the provider lacks it.
	 */
	static String modelToRun(Module command, String provider, String model, QwenEditService service) throws EditException {
		ProviderDescriptor d = ProviderRegistry.get(provider);
		boolean named = command.isInputResolved("model") && model != null && !model.isBlank();
		if (named || service.offeredModels(d).contains(model)) return model;
		return d.defaultModel();
	}

	/** Sets the model choices of {@code provider}; returns {@code model}, or the default if it is not one. */
	static String offerModels(MutableModuleItem<String> modelItem, String provider, String model, QwenEditService service) {
		if (modelItem == null) return model;
		try {
			ProviderDescriptor d = ProviderRegistry.get(provider);
			List<String> ids = service.offeredModels(d);
			modelItem.setChoices(ids);
			return ids.contains(model) ? model : d.defaultModel();
		}
		catch (EditException unknownProvider) {
			return model; // reported when the command runs; the dialog keeps what was typed
		}
	}

	@Override
	public void run() {
		Configuration config = null;
		OutputFolderLock folderLock = null;
		try {
			config = editService.configuration();
			if (image == null || image.getProcessor() == null) {
				throw new EditException(ErrorKind.INVALID_INPUT, OmittedInputsPreprocessor.NO_IMAGE);
			}
			Optional<SelectionEdit> selection = SelectionEdit.of(image, contextMargin, featherWidth);
			Optional<InputImage> region = selection.map(SelectionEdit::region);
			EditSpecification spec = specification();
			EditRequest request = spec.request(images(region));
			ProviderDescriptor descriptor = spec.provider();
			EditSession session = Editing.of(spec, config, warning -> log.warn("Qwen Image Edit: " + warning)).session();
			Cancellation cancellation = new Cancellation();
			if (region.isPresent()) {
				status("Sending the selected region of " + region.get().width() + "*" + region.get().height() + " px (" +
					region.get().bytes().length / 1024 + " kB) instead of " + image.getWidth() + "*" + image.getHeight());
			}
			else {
				SelectionEdit.ignoredSelection(image).ifPresent(this::status);
			}
			boolean saving = outputFolder != null && !outputFolder.getPath().isEmpty();
			// With a folder to save to, the job is journalled there, so that Recover Unfinished Edits
			// can still fetch its result if Fiji stops before it is saved.
			Optional<BatchJournal.Pending> journal = Optional.empty();
			if (saving) {
				folderLock = OutputFolderLock.share(outputFolder.toPath());
				PlantedLinks.refuse(outputFolder.toPath().resolve(BatchJournal.FOLDER));
				editService.rememberOutputFolder(outputFolder);
				BatchJournal folderJournal = new BatchJournal(outputFolder.toPath());
				BatchJournal.SourceKey source = new BatchJournal.SourceKey(sourceOf(image), 0);
				Optional<BatchJournal.Entry> earlier = folderJournal.sameEdit(source, descriptor.id(), request);
				if (earlier.isPresent()) {
					throw new EditException(ErrorKind.OUTPUT_FOLDER, "The same edit of " + image.getTitle() + " is still " +
						"in the journal of " + outputFolder + (earlier.get().job == null ? "" : " (job " +
						earlier.get().job.id() + " at " + descriptor.displayName() + ")") + ", and sending it again would " +
						"pay twice: run Plugins > Qwen Image Edit > Recover Unfinished Edits... on that folder to fetch it. " +
						"Nothing was sent.");
				}
				journal = Optional.of(folderJournal.pending(source, image.getTitle(), descriptor.id(), request, true));
			}
			EditResult result;
			try (AutoCloseable escape = EscapeKeyWatch.start(cancellation);
				Cancellation.Registration tracked = editService.track(cancellation))
			{
				result = session.run(request, new StatusProgress(status), cancellation,
					journal.isPresent() ? journal.get() : EditSession.SubmissionListener.NONE);
			}
			catch (EditException e) {
				settle(journal, e);
				if (!journal.isPresent() && e.charge() == EditException.Charge.UNSAVED_RESULT) {
					throw e.followedBy(NOT_JOURNALLED);
				}
				throw e;
			}
			try {
				results = selection.isPresent() ? selection.get().pasteAll(result) : ResultImages.toImagePlus(result, image);
				if (showChanges) results = withChangeMaps(results);
				String line = MacroLine.of(this, image);
				for (ImagePlus edited : results) {
					ResultImages.label(edited, ResultImages.provenanceOf(edited).put(Provenance.MACRO_LINE, line));
				}
				MacroLine.record(this);
				// The output is marked as handled when shown, so that Fiji's display step does not open it twice.
				if (ResultDisplay.show(results, threads)) resolveOutput("results");
				if (saving) {
					for (File saved : ResultFiles.saveAsTiff(results, outputFolder)) {
						log.info("Qwen Image Edit: saved " + saved);
					}
				}
			}
			catch (EditException e) {
				// What the edit warned of (a job the journal could not record) matters most now.
				for (String warning : result.warnings()) {
					log.warn(config.redact(warning));
				}
				// Paid for, and its links are in the journal: Recover Unfinished Edits fetches it again.
				EditException unsaved = e.charge() == EditException.Charge.NONE ? e.leaving(
					EditException.Charge.UNSAVED_RESULT, null, List.of()) : e;
				settle(journal, unsaved);
				if (!journal.isPresent() && unsaved.charge() == EditException.Charge.UNSAVED_RESULT) {
					// Without an output folder nothing was journalled: Recover has nothing to fetch.
					throw unsaved.followedBy(NOT_JOURNALLED);
				}
				throw unsaved;
			}
			catch (RuntimeException e) {
				settle(journal, e);
				throw e;
			}
			settle(journal, null);
			for (String warning : result.warnings()) {
				log.warn(config.redact(warning));
			}
		}
		catch (EditException e) {
			fail(config, e);
		}
		catch (Exception e) {
			fail(config, new EditException(ErrorKind.PROVIDER_FAILURE, "Unexpected problem: " + e, e));
		}
		finally {
			if (folderLock != null) folderLock.close();
		}
	}

	/** Said of a paid result an edit could not download or save when no output folder journalled it. */
	private static final String NOT_JOURNALLED = "This edit had no output folder, so it was not journalled and " +
		"cannot be recovered: set one to make results recoverable.";

	/**
	 * Ends the edit's journal entry by the journal's one rule; when it stays, says what Recover can
	 * do with it: fetch what a job with a journalled id left, or only report a job whose id was never
	 * recorded (and delete what it staged).
	 */
	private void settle(Optional<BatchJournal.Pending> journal, Throwable failure) {
		if (!journal.isPresent() || !journal.get().settle(failure)) return;
		if (journal.get().phase() == BatchJournal.Phase.ACCEPTED) {
			log.warn("Qwen Image Edit: the job stays in the journal of " + outputFolder + ": run Plugins > Qwen Image " +
				"Edit > Recover Unfinished Edits... on that folder to fetch what it left.");
		}
		else {
			log.warn("Qwen Image Edit: the job's id was not recorded, so its result cannot be fetched; its entry stays in " +
				"the journal of " + outputFolder + " so that Plugins > Qwen Image Edit > Recover Unfinished Edits... on " +
				"that folder reports it and deletes the inputs it staged.");
		}
	}

	/** The image's file when it was opened from one (as a batch names its sources), else its title. */
	private static String sourceOf(ImagePlus image) {
		FileInfo file = image.getOriginalFileInfo();
		if (file != null && file.fileName != null && file.directory != null && !file.directory.isEmpty()) {
			return new File(file.directory, file.fileName).getAbsolutePath();
		}
		return image.getTitle();
	}

	private void status(String message) {
		if (status != null) status.showStatus(message);
		log.info("Qwen Image Edit: " + message);
	}

	/** Adds after each result the map of where it differs from the original. */
	private List<ImagePlus> withChangeMaps(List<ImagePlus> edited) throws EditException {
		List<ImagePlus> all = new ArrayList<>();
		for (ImagePlus result : edited) {
			all.add(result);
			ImagePlus changes = SelectionEdit.changes(image, result);
			ResultImages.label(changes, ResultImages.provenanceOf(result)
				.put(Provenance.PREFIX + "ChangesBetween", image.getTitle() + " and " + result.getTitle()));
			changes.setTitle(ResultImages.TITLE_PREFIX + " changes of " + result.getTitle());
			all.add(changes);
		}
		return all;
	}

	/**
	 * Reads the dialog's values, refusing what cannot work, or what a recorded line would replay
	 * differently, before any call.
	 */
	private EditSpecification specification() throws EditException {
		MacroSafeText.checkInstructionAndNegativePrompt(instruction, negativePrompt);
		return EditSpecification.of(provider).model(modelToRun(this, provider, model, editService)).instruction(instruction)
			.negativePrompt(negativePrompt).size(size).seed(seed).outputs(outputs).promptExtend(promptExtend)
			.watermark(watermark).staging(staging).parse();
	}

	/**
	 * The images to send, image 1 first.
	 *
	 * @param region the selected region to send instead of the whole active image, if any
	 */
	private List<InputImage> images(Optional<InputImage> region) throws EditException {
		EditSpecification.requireImage2ForImage3(chosen(image2), chosen(image3), "image 2", "Image 3");
		List<InputImage> images = new ArrayList<>();
		images.add(region.isPresent() ? region.get() : ImageEncoder.encode(image));
		for (String title : new String[] { image2, image3 }) {
			if (!chosen(title)) continue;
			ImagePlus other = WindowManager.getImage(title);
			if (other == null) {
				throw new EditException(ErrorKind.INVALID_INPUT, "The image \"" + title + "\" is not open. Open it, " +
					"or choose 'none' or one of the open images: " + String.join(", ", WindowManager.getImageTitles()) + ".");
			}
			images.add(ImageEncoder.encode(other));
		}
		return images;
	}

	private static boolean chosen(String title) {
		return title != null && !title.isBlank() && !title.equals(NONE);
	}

	private void fail(Configuration config, EditException e) {
		String message = config == null ? e.describe() : config.redact(e.describe());
		log.error("Qwen Image Edit: " + message);
		if (ui != null && !ui.isHeadless()) {
			ui.showDialog(message, "Qwen Image Edit", DialogPrompt.MessageType.ERROR_MESSAGE);
		}
		cancel(message);
	}

	/** The result windows of the last run, also returned as the command's output. */
	public List<ImagePlus> results() {
		return results == null ? List.of() : results;
	}
}
