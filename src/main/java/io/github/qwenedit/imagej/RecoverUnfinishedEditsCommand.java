package io.github.qwenedit.imagej;

import java.io.File;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

import org.scijava.ItemIO;
import org.scijava.app.StatusService;
import org.scijava.command.Command;
import org.scijava.command.DynamicCommand;
import org.scijava.log.LogService;
import org.scijava.plugin.Attr;
import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;
import org.scijava.thread.ThreadService;
import org.scijava.ui.DialogPrompt;
import org.scijava.ui.UIService;

import ij.ImagePlus;
import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.engine.BatchLog;
import io.github.qwenedit.engine.JournalRecovery;
import io.github.qwenedit.engine.OutputFolderLock;
import io.github.qwenedit.engine.PlantedLinks;
import io.github.qwenedit.images.ResultFiles;

/**
 * Fetches the results of edits that were still running at the provider when Fiji (or a batch) was
 * closed, crashed or killed, from the journal in their output folder: each is saved there as TIFF
 * with its provenance and a log line, like any batch result, and the staged inputs left behind are
 * deleted. One report says what was recovered, what is still running (kept for a later recovery),
 * what expired and what failed.
 */
@Plugin(type = Command.class, menuPath = "Plugins>Qwen Image Edit>Recover Unfinished Edits...", headless = true,
	initializer = "initFolder", attrs = { @Attr(name = "no-record") }) // records itself: see MacroLine
public class RecoverUnfinishedEditsCommand extends AttributedDynamicCommand {

	static final String TITLE = "Recover Unfinished Edits";

	@Parameter
	private QwenEditService editService;

	@Parameter(required = false)
	private ThreadService threads;

	@Parameter
	private LogService log;

	@Parameter(required = false)
	private StatusService status;

	@Parameter(required = false)
	private UIService ui;

	@Parameter(label = "Output folder", style = "directory", persist = false,
		description = "The folder a batch or an edit saved its results to; its journal lists the jobs in flight")
	private File outputFolder;

	@Parameter(label = "Wait for jobs still running (seconds)", min = "0", max = "3600",
		description = "Jobs still running after this are left in the journal for a later recovery")
	private int waitSeconds = 30;

	@Parameter(label = "Open the recovered images")
	private boolean openImages = true;

	@Parameter(type = ItemIO.OUTPUT, label = "Recovered images")
	private List<ImagePlus> results;

	private JournalRecovery.Report report;

	/** Offers the folder results were last saved to, which is where an interrupted edit left its journal. */
	protected void initFolder() {
		if (outputFolder != null) return;
		editService.lastOutputFolder().filter(folder -> !OmittedInputsPreprocessor.isApplicationFolder(folder))
			.ifPresent(folder -> outputFolder = folder);
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
		if (outputFolder == null || !outputFolder.isDirectory()) {
			fail("Choose the output folder of the interrupted batch or edit: " + outputFolder + " is not a folder.");
			return;
		}
		editService.rememberOutputFolder(outputFolder);
		// A batch still running into the folder owns its journal entries: recovering them too would save twice.
		OutputFolderLock claimed;
		try {
			claimed = OutputFolderLock.claim(outputFolder.toPath());
			try {
				PlantedLinks.refuseUnlessPlainFile(outputFolder.toPath().resolve(BatchLog.FILE));
				PlantedLinks.refuse(outputFolder.toPath().resolve(BatchJournal.FOLDER));
			}
			catch (EditException e) {
				claimed.close();
				throw e;
			}
		}
		catch (EditException e) {
			fail(e.describe());
			return;
		}
		List<ImagePlus> fetched = Collections.synchronizedList(new ArrayList<>());
		Cancellation cancellation = new Cancellation();
		AutoCloseable escape = EscapeKeyWatch.start(cancellation);
		try (OutputFolderLock held = claimed; Cancellation.Registration tracked = editService.track(cancellation)) {
			report = new JournalRecovery(config, (entry, result, folder) -> ResultFiles.saveRecovered(entry, result, folder,
				image -> {
					if (openImages) fetched.add(image);
				})).recover(outputFolder.toPath(), Optional.empty(), Duration.ofSeconds(waitSeconds),
					new StatusProgress(status), cancellation);
		}
		finally {
			try {
				escape.close();
			}
			catch (Exception notThrownByTheWatch) {
				// Stopping the watch thread cannot fail.
			}
		}
		results = new ArrayList<>(fetched);
		if (!openImages || ResultDisplay.show(results, threads)) resolveOutput("results");
		MacroLine.record(this);
		String text = config.redact(report.isEmpty() ? "No unfinished edits were found in the journal of " + outputFolder +
			"." : report.describe());
		log.info("Qwen Image Edit: recovery of " + outputFolder + ":\n" + text);
		if (status != null) {
			status.showStatus("Qwen Image Edit: " + report.of(JournalRecovery.Kind.RECOVERED).size() + " recovered");
		}
		if (ui != null && !ui.isHeadless()) {
			ui.showDialog(text, TITLE, DialogPrompt.MessageType.INFORMATION_MESSAGE);
		}
	}

	private void fail(String message) {
		log.error("Qwen Image Edit: " + message);
		if (ui != null && !ui.isHeadless()) ui.showDialog(message, TITLE, DialogPrompt.MessageType.ERROR_MESSAGE);
		cancel(message);
	}

	/** What the last run did, for scripts and tests; null before a run or when it could not start. */
	public JournalRecovery.Report report() {
		return report;
	}
}
