package io.github.qwenedit.imagej;

import org.scijava.module.Module;
import org.scijava.module.process.AbstractPreprocessorPlugin;
import org.scijava.module.process.PreprocessorPlugin;
import org.scijava.plugin.Plugin;
import org.scijava.widget.InputHarvester;

/**
 * Fills the choices of the Edit Images dialog, and of its batch, for the provider and model it opens
 * with. The command's initializer runs before the values the last dialog left are filled in
 * (scijava-common's {@code InitPreprocessor}, priority 100, then {@code LoadInputsPreprocessor},
 * priority {@code InputHarvester.PRIORITY + 1}), so it sees the built-in defaults; this step, after
 * them and before the dialog, offers the remembered provider's models and what the remembered
 * model's published schema allows.
 */
@Plugin(type = PreprocessorPlugin.class, priority = InputHarvester.PRIORITY + 0.9)
public class DialogChoicesPreprocessor extends AbstractPreprocessorPlugin {

	@Override
	public void process(Module module) {
		Object command = module.getDelegateObject();
		if (command instanceof EditImagesCommand) ((EditImagesCommand) command).offerChoicesForTheValuesShown();
		if (command instanceof EditImagesBatchCommand) ((EditImagesBatchCommand) command).offerChoicesForTheValuesShown();
	}
}
