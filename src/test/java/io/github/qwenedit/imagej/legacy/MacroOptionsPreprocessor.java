package io.github.qwenedit.imagej.legacy;

import org.scijava.Priority;
import org.scijava.convert.ConvertService;
import org.scijava.module.Module;
import org.scijava.module.ModuleItem;
import org.scijava.module.process.AbstractPreprocessorPlugin;
import org.scijava.module.process.PreprocessorPlugin;
import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;
import org.scijava.thread.ThreadService;

import ij.Macro;

/**
 * Fills a command's inputs from the options of the macro line that ran it, as imagej-legacy's
 * {@code MacroPreprocessor} does: each input by its name through ImageJ's {@link Macro#getValue},
 * converted by SciJava, and marked resolved; an input the line leaves out is left to the rest of
 * the pipeline.
 */
@Plugin(type = PreprocessorPlugin.class, priority = 2 * Priority.VERY_HIGH)
public class MacroOptionsPreprocessor extends AbstractPreprocessorPlugin {

	@Parameter
	private ConvertService convert;

	@Parameter
	private ThreadService threads;

	@Override
	public void process(Module module) {
		String options = SciJavaMenuCommand.optionsOf(threads.getParent(Thread.currentThread()));
		if (options == null) return;
		for (ModuleItem<?> input : module.getInfo().inputs()) {
			String value = Macro.getValue(options, input.getName(), null);
			if (value == null || !convert.supports(value, input.getType())) continue;
			module.setInput(input.getName(), convert.convert(value, input.getType()));
			module.resolveInput(input.getName());
		}
	}
}
