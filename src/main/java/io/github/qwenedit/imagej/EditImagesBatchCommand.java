package io.github.qwenedit.imagej;

import java.io.File;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.scijava.app.StatusService;
import org.scijava.command.Command;
import org.scijava.command.DynamicCommand;
import org.scijava.log.LogService;
import org.scijava.module.MutableModuleItem;
import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;
import org.scijava.ui.DialogPrompt;
import org.scijava.ui.UIService;
import org.scijava.widget.TextWidget;

import io.github.qwenedit.cli.QwenEditCli;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.provider.ProviderRegistry;

/**
 * Applies one instruction to every image of a folder, with the same engine as the shell command:
 * as many edits at once as the provider allows, TIFF results with provenance, a JSON-lines log,
 * resume, and recovery of jobs a stopped run left in flight. Asks before spending when a screen is
 * there; headless, an optional cost ceiling stops the run instead.
 */
@Plugin(type = Command.class, menuPath = "Plugins>Qwen Image Edit>Edit Images (Batch)...", headless = true,
	initializer = "initChoices")
public class EditImagesBatchCommand extends DynamicCommand {

	@Parameter
	private QwenEditService editService;

	@Parameter
	private LogService log;

	@Parameter(required = false)
	private StatusService status;

	@Parameter(required = false)
	private UIService ui;

	@Parameter(label = "Input folder", style = "directory")
	private File inputFolder;

	@Parameter(label = "File name filter")
	private String fileFilter = "*.{tif,tiff,png,jpg,jpeg,TIF,TIFF,PNG,JPG,JPEG}";

	@Parameter(label = "Output folder", style = "directory")
	private File outputFolder;

	@Parameter(label = "Provider", callback = "providerChanged")
	private String provider = ProviderRegistry.ids().get(0);

	@Parameter(label = "Model")
	private String model = ProviderRegistry.all().get(0).defaultModel();

	@Parameter(label = "Output size (W*H)")
	private String size = EditImagesCommand.AS_INPUT;

	@Parameter(label = "Outputs per image", min = "1", max = "6")
	private int outputs = 1;

	@Parameter(label = "Seed (-1 = random)")
	private String seed = "-1";

	@Parameter(label = "Let the model extend the prompt")
	private boolean promptExtend = true;

	@Parameter(label = "Staging", choices = { "auto", "bucket", "inline", "provider_upload" })
	private String staging = "auto";

	@Parameter(label = "Edits at once")
	private int concurrency = 4;

	@Parameter(label = "Cost ceiling in USD (0 = none)", min = "0")
	private double maxCost;

	@Parameter(label = "Negative prompt (optional)", style = TextWidget.AREA_STYLE, required = false)
	private String negativePrompt = "";

	@Parameter(label = "Instruction", style = TextWidget.AREA_STYLE)
	private String instruction;

	private int exitCode = -1;

	protected void initChoices() {
		MutableModuleItem<String> providerItem = getInfo().getMutableInput("provider", String.class);
		if (providerItem != null) providerItem.setChoices(ProviderRegistry.ids());
		providerChanged();
	}

	protected void providerChanged() {
		model = EditImagesCommand.offerModels(getInfo().getMutableInput("model", String.class), provider, model);
	}

	@Override
	public void run() {
		Configuration config;
		try {
			config = editService.configuration();
		}
		catch (EditException e) {
			fail(e.describe());
			return;
		}
		List<String> args = new ArrayList<>(List.of("--provider", provider, "--model", model, "--instruction",
			instruction == null ? "" : instruction, "--output", outputFolder.getPath(), "--filter", fileFilter,
			"--outputs", String.valueOf(outputs), "--seed", seed == null || seed.isBlank() ? "-1" : seed.trim(),
			"--staging", staging, "--concurrency", String.valueOf(concurrency)));
		if (size != null && !size.isBlank() && !size.trim().equalsIgnoreCase(EditImagesCommand.AS_INPUT)) {
			args.add("--size");
			args.add(size.trim());
		}
		if (negativePrompt != null && !negativePrompt.isBlank()) {
			args.add("--negative-prompt");
			args.add(negativePrompt);
		}
		if (!promptExtend) args.add("--no-prompt-extend");
		if (maxCost > 0) {
			args.add("--max-cost");
			args.add(String.valueOf(maxCost));
		}
		args.add(inputFolder.getPath());
		boolean asking = ui != null && !ui.isHeadless();
		AtomicInteger finished = new AtomicInteger();
		AtomicInteger total = new AtomicInteger();
		PrintStream lines = new PrintStream(new LineSink(line -> {
			if (line.matches("\\d+ edits with .*")) total.set(Integer.parseInt(line.substring(0, line.indexOf(' '))));
			if (line.startsWith("done ") || line.startsWith("failed ") || line.startsWith("recovered ")) {
				int n = finished.incrementAndGet();
				if (status != null) status.showStatus(n, Math.max(n, total.get()), "Qwen Image Edit batch: " + n + "/" + total.get());
			}
			log.info("Qwen Image Edit batch: " + config.redact(line));
		}), true, StandardCharsets.UTF_8);
		exitCode = new QwenEditCli(config, lines, lines, question -> !asking ||
			ui.showDialog(question, "Qwen Image Edit batch", DialogPrompt.MessageType.QUESTION_MESSAGE,
				DialogPrompt.OptionType.YES_NO_OPTION) == DialogPrompt.Result.YES_OPTION).run(args.toArray(new String[0]));
		lines.flush();
		if (exitCode != 0) {
			fail("The batch did not finish cleanly: see the log window, and " + QwenEditCli.LOG_FILE + " in " +
				outputFolder + ". Run it again to redo what failed; finished images are skipped.");
		}
	}

	private void fail(String message) {
		log.error("Qwen Image Edit batch: " + message);
		if (ui != null && !ui.isHeadless()) ui.showDialog(message, "Qwen Image Edit batch", DialogPrompt.MessageType.ERROR_MESSAGE);
		cancel(message);
	}

	/** 0 when every image was edited or skipped, 1 when some failed or it was not started, 2 for a setup problem. */
	public int exitCode() {
		return exitCode;
	}

	/** Hands each printed line to a consumer. */
	private static final class LineSink extends OutputStream {
		private final java.util.function.Consumer<String> consumer;
		private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

		LineSink(java.util.function.Consumer<String> consumer) {
			this.consumer = consumer;
		}

		@Override
		public synchronized void write(int b) {
			if (b == '\n') {
				consumer.accept(line.toString(StandardCharsets.UTF_8));
				line.reset();
			}
			else {
				line.write(b);
			}
		}
	}
}
