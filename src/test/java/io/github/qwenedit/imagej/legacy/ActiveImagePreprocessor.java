package io.github.qwenedit.imagej.legacy;

import org.scijava.Priority;
import org.scijava.module.Module;
import org.scijava.module.ModuleItem;
import org.scijava.module.ModuleService;
import org.scijava.module.process.AbstractPreprocessorPlugin;
import org.scijava.module.process.PreprocessorPlugin;
import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;

import ij.ImagePlus;
import ij.WindowManager;

/**
 * Gives a command's single image input the current image, as imagej-legacy's
 * {@code ActiveImagePlusPreprocessor} does: asked of ImageJ on the pooled thread the command runs on.
 */
@Plugin(type = PreprocessorPlugin.class, priority = Priority.VERY_HIGH + 1)
public class ActiveImagePreprocessor extends AbstractPreprocessorPlugin {

	@Parameter
	private ModuleService modules;

	@Override
	public void process(Module module) {
		ImagePlus current = WindowManager.getCurrentImage();
		if (current == null) return;
		ModuleItem<?> input = modules.getSingleInput(module, ImagePlus.class);
		if (input == null || !input.isAutoFill()) return;
		module.setInput(input.getName(), current);
		module.resolveInput(input.getName());
	}
}
