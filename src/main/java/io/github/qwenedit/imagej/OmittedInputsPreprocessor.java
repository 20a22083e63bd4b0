package io.github.qwenedit.imagej;

import java.io.File;

import org.scijava.log.LogService;
import org.scijava.module.Module;
import org.scijava.module.ModuleItem;
import org.scijava.module.process.AbstractPreprocessorPlugin;
import org.scijava.module.process.PreprocessorPlugin;
import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;
import org.scijava.ui.DialogPrompt;
import org.scijava.ui.UIService;
import org.scijava.widget.InputHarvester;

import ij.IJ;
import ij.ImagePlus;
import ij.plugin.frame.Recorder;

/**
 * What a macro line or script may leave out of this plugin's commands, settled before anything
 * would ask for it.
 * <ul>
 * <li>An optional folder or file (the output folder of a single edit, the reference images of a
 * batch) left out of a call that gives everything else means "none". Without this, SciJava's
 * {@code FilePreprocessor} sees one unresolved {@link File} and opens a file chooser for it: a
 * window over a running macro, or, headless, a silent cancel
 * (https://github.com/scijava/scijava-common/blob/master/src/main/java/org/scijava/ui/FilePreprocessor.java).</li>
 * <li>ImageJ 1.x's own line for the menu command is not written: see {@link MacroLine}.</li>
 * <li>No image open: the run stops with the plugin's own sentence, in the log as well as on the
 * screen, instead of SciJava's "'image' is required but unset" in the status bar only.</li>
 * </ul>
 * It runs after the inputs a call gives and the remembered ones are filled in
 * ({@code LoadInputsPreprocessor}, priority {@code InputHarvester.PRIORITY + 1}) and before
 * {@code FilePreprocessor} ({@code InputHarvester.PRIORITY + 0.5}) and the dialog.
 */
@Plugin(type = PreprocessorPlugin.class, priority = InputHarvester.PRIORITY + 0.75)
public class OmittedInputsPreprocessor extends AbstractPreprocessorPlugin {

	static final String NO_IMAGE = "No image to edit: open an image and make it the active window.";

	@Parameter(required = false)
	private LogService log;

	@Parameter(required = false)
	private UIService ui;

	@Override
	public void process(Module module) {
		String command = module.getInfo().getDelegateClassName();
		if (command == null || !command.startsWith(OmittedInputsPreprocessor.class.getPackage().getName() + ".")) return;
		if (module.getInfo().is("no-record") && IJ.recording()) {
			// ImageJ 1.x's menu runner starts a line for every menu command and writes it when the
			// command returns (ij.Executer), a bare run("...") even when the dialog was cancelled. These
			// commands are either never recorded or record themselves (MacroLine) when they succeed.
			Recorder.disableCommandRecording();
		}
		clearFoldersThatMeanNone(module);
		if (missingRequiredImage(module)) {
			if (log != null) log.error("Qwen Image Edit: " + NO_IMAGE);
			if (ui != null && !ui.isHeadless()) {
				ui.showDialog(NO_IMAGE, "Qwen Image Edit", DialogPrompt.MessageType.ERROR_MESSAGE);
			}
			cancel(NO_IMAGE);
			return;
		}
		if (!everythingElseGiven(module)) return;
		for (ModuleItem<?> item : module.getInfo().inputs()) {
			if (item.isRequired() || module.isInputResolved(item.getName())) continue;
			if (File.class.isAssignableFrom(item.getType())) {
				// Not what the dialog remembered: a line that leaves a folder out means none.
				module.setInput(item.getName(), null);
				module.resolveInput(item.getName());
			}
		}
	}

	/**
	 * An empty folder ({@code outputfolder=[]}) is no folder, and a folder remembered from an earlier
	 * run is never the application folder. SciJava turns {@code []} into {@code new File("")} and
	 * remembers a folder by its absolute path (scijava-common's {@code FileListConverters.FileToStringConverter}),
	 * so after one such line every dialog offered the folder Fiji was started in, and OK saved the
	 * results into the installation.
	 */
	private static void clearFoldersThatMeanNone(Module module) {
		for (ModuleItem<?> item : module.getInfo().inputs()) {
			if (!File.class.isAssignableFrom(item.getType())) continue;
			File value = (File) item.getValue(module);
			if (value == null) continue;
			boolean empty = value.getPath().isEmpty();
			boolean remembered = !module.isInputResolved(item.getName());
			if (empty || remembered && isApplicationFolder(value)) module.setInput(item.getName(), null);
		}
	}

	/** Whether {@code folder} is the folder Fiji runs from (never a place for results). */
	static boolean isApplicationFolder(File folder) {
		if (folder == null || folder.getPath().isEmpty()) return false;
		for (String property : new String[] { "scijava.app.directory", "imagej.dir", "ij.dir", "user.dir" }) {
			String dir = System.getProperty(property);
			if (dir != null && !dir.isEmpty() && sameFile(new File(dir), folder)) return true;
		}
		return false;
	}

	private static boolean sameFile(File a, File b) {
		return a.getAbsoluteFile().toPath().normalize().equals(b.getAbsoluteFile().toPath().normalize());
	}

	private static boolean missingRequiredImage(Module module) {
		for (ModuleItem<?> item : module.getInfo().inputs()) {
			if (item.isRequired() && ImagePlus.class.isAssignableFrom(item.getType()) && item.getValue(module) == null) {
				return true;
			}
		}
		return false;
	}

	/** Whether every input but the optional files was given, as by a recorded line or a script. */
	private static boolean everythingElseGiven(Module module) {
		for (ModuleItem<?> item : module.getInfo().inputs()) {
			if (module.isInputResolved(item.getName())) continue;
			if (MacroLine.filledByTheFramework(item)) continue;
			Class<?> type = item.getType();
			if (!item.isRequired() && File.class.isAssignableFrom(type)) continue;
			if (!item.isRequired() && ImagePlus.class.isAssignableFrom(type)) continue;
			return false;
		}
		return true;
	}
}
