package io.github.qwenedit.imagej.legacy;

import java.awt.HeadlessException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.scijava.Context;
import org.scijava.command.Command;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.log.LogService;
import org.scijava.module.process.PreprocessorPlugin;
import org.scijava.plugin.Plugin;
import org.scijava.plugin.PluginInfo;
import org.scijava.plugin.PluginService;

import ij.IJ;
import ij.ImagePlus;
import ij.Menus;
import ij.WindowManager;
import ij.macro.Interpreter;
import io.github.qwenedit.imagej.EditCommandRunner;
import io.github.qwenedit.imagej.QwenEditService;

/**
 * Runs ImageJ 1.x macro code with ImageJ's own interpreter in a full SciJava context, where
 * {@code run("Edit Images...", options)} reaches this plugin's commands as it does in Fiji: through
 * ImageJ's menu runner ({@code IJ.run}, {@code ij.Executer}) to a command handed to SciJava's
 * module service on a pooled thread, with every pre- and postprocessor scijava-common ships
 * (the file chooser's {@code FilePreprocessor}, the headless UI, remembered values...).
 * <p>
 * imagej-legacy, which does the handing over in Fiji, is not on Maven Central; its two
 * preprocessors that a replay depends on stand in here: {@link MacroOptionsPreprocessor} and
 * {@link ActiveImagePreprocessor}, written after imagej-legacy's {@code MacroPreprocessor} and
 * {@code ActiveImagePlusPreprocessor}
 * (https://github.com/imagej/imagej-legacy/tree/master/src/main/java/net/imagej/legacy/plugin).
 * What the real Fiji does is checked outside the test suite with the runtime of
 * {@code shared/fiji-runtime} (see the README's Macros section).
 */
public final class ImageJMacros implements AutoCloseable {

	private static volatile Context current;
	private final Context context;
	private final List<String> log = Collections.synchronizedList(new ArrayList<>());

	/** @param environment the settings, as environment variables (an empty settings folder unless it names one) */
	public ImageJMacros(Map<String, String> environment) {
		context = new Context();
		PluginService plugins = context.service(PluginService.class);
		for (Class<? extends PreprocessorPlugin> standIn : List.of(MacroOptionsPreprocessor.class,
			ActiveImagePreprocessor.class))
		{
			plugins.addPlugin(new PluginInfo<>(standIn, PreprocessorPlugin.class, standIn.getAnnotation(Plugin.class)));
		}
		context.service(QwenEditService.class).useEnvironment(EditCommandRunner.withOwnSettingsFolder(environment));
		context.service(LogService.class).addLogListener(message -> log.add(message.text()));
		menuCommands();
		for (CommandInfo info : context.service(CommandService.class).getCommands()) {
			if (info.getClassName().startsWith("io.github.qwenedit.") && info.getMenuPath() != null &&
				info.getMenuPath().getLeaf() != null)
			{
				menuCommands().put(info.getMenuPath().getLeaf().getName(),
					SciJavaMenuCommand.class.getName() + "(\"" + info.getClassName() + "\")");
			}
		}
		current = context;
	}

	/** ImageJ 1.x's table of menu commands, loaded as {@code IJ.run} loads it when ImageJ has no window. */
	@SuppressWarnings("unchecked")
	private static Hashtable<String, String> menuCommands() {
		if (Menus.getCommands() == null) {
			try {
				IJ.run("Close All"); // the first IJ.run reads ImageJ's command table, then builds its menu bar
			}
			catch (HeadlessException noMenuBarWithoutAScreen) {
				// The table is made before the menu bar (ij.Menus.addMenuBar): it is all a macro needs here.
			}
		}
		return Menus.getCommands();
	}

	/** The context commands run in. */
	static Context context() {
		return current;
	}

	/** Runs {@code macro} to its end on this thread, as a macro file is run; returns what it returns, if anything. */
	public String run(String macro) {
		return IJ.runMacro(macro);
	}

	/** The last command a macro ran, with the inputs it ran with. */
	public org.scijava.module.Module lastRun() {
		return SciJavaMenuCommand.lastRun();
	}

	/** Every log line written so far. */
	public List<String> log() {
		synchronized (log) {
			return new ArrayList<>(log);
		}
	}

	public Context sciJava() {
		return context;
	}

	/** Closes every image and leaves batch mode, so the next test starts from nothing. */
	public static void closeAllImages() {
		for (int id : Interpreter.getBatchModeImageIDs()) {
			ImagePlus image = Interpreter.getBatchModeImage(id);
			Interpreter.removeBatchModeImage(image);
			image.close();
		}
		Interpreter.batchMode = false;
		WindowManager.closeAllWindows();
		WindowManager.setTempCurrentImage(null);
	}

	@Override
	public void close() {
		closeAllImages();
		current = null;
		context.dispose();
	}

	static Class<? extends Command> commandClass(String name) {
		try {
			return Class.forName(name).asSubclass(Command.class);
		}
		catch (ClassNotFoundException e) {
			throw new IllegalArgumentException(e);
		}
	}
}
