package io.github.qwenedit.imagej.legacy;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;

import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.module.Module;
import org.scijava.module.ModuleService;

import ij.Macro;
import ij.plugin.PlugIn;

/**
 * The ImageJ 1.x menu entry of a SciJava command, as imagej-legacy makes one
 * ({@code LegacyService.runLegacyCompatibleCommand}): the command runs through the module service on
 * a pooled thread while the caller waits. The macro's options stay with the calling thread; the
 * pooled thread finds them through its parent, as imagej-legacy's patched {@code Macro.getOptions}
 * does.
 */
public final class SciJavaMenuCommand implements PlugIn {

	private static final Map<Thread, String> OPTIONS_OF_CALLER = new ConcurrentHashMap<>();
	private static volatile Module lastRun;

	/** The module of the last command run from a macro, with the inputs it ran with. */
	static Module lastRun() {
		return lastRun;
	}

	static String optionsOf(Thread caller) {
		return caller == null ? null : OPTIONS_OF_CALLER.get(caller);
	}

	@Override
	public void run(String commandClass) {
		CommandInfo info = ImageJMacros.context().service(CommandService.class)
			.getCommand(ImageJMacros.commandClass(commandClass));
		String options = Macro.getOptions();
		if (options != null) OPTIONS_OF_CALLER.put(Thread.currentThread(), options);
		try {
			Future<Module> run = ImageJMacros.context().service(ModuleService.class).run(info, true);
			lastRun = run.get();
		}
		catch (Exception e) {
			throw new IllegalStateException(e);
		}
		finally {
			OPTIONS_OF_CALLER.remove(Thread.currentThread());
		}
	}
}
