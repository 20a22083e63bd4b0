package io.github.qwenedit.bench;

import org.scijava.Context;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.module.Module;
import org.scijava.module.ModuleService;

/**
 * P4, in a JVM of its own (started by {@link Benchmarks}, with the class-loading log on): how long a
 * full SciJava context takes to load, and how long the Edit Images dialog takes to prepare (module
 * creation, its initializer and the provider callback that fills the model choices). Names the plugin
 * only as text, so it also runs with the plugin missing from the class path, for comparison.
 */
public final class StartupBenchmark {

	static final String CONTEXT_READY = "BENCH context-ready-ms ";
	static final String DIALOG_READY = "BENCH dialog-ready-ms ";
	private static final String COMMAND = "io.github.qwenedit.imagej.EditImagesCommand";

	private StartupBenchmark() {}

	public static void main(String[] args) throws Exception {
		System.setProperty("java.awt.headless", "true");
		long t0 = System.nanoTime();
		Context context = new Context();
		long t1 = System.nanoTime();
		System.out.flush();
		System.out.println(CONTEXT_READY + (t1 - t0) / 1e6);
		System.out.flush();
		CommandInfo info = context.service(CommandService.class).getCommand(COMMAND);
		if (info != null) {
			long t2 = System.nanoTime();
			Module module = context.service(ModuleService.class).createModule(info);
			module.initialize();
			module.getInfo().getInput("provider").callback(module);
			long t3 = System.nanoTime();
			System.out.println(DIALOG_READY + (t3 - t2) / 1e6);
		}
		System.out.flush();
		context.dispose();
		System.exit(0);
	}
}
