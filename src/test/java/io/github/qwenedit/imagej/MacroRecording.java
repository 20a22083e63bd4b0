package io.github.qwenedit.imagej;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.scijava.Context;
import org.scijava.command.CommandService;
import org.scijava.module.ModuleItem;

import ij.ImagePlus;
import ij.Macro;

/**
 * A command's inputs written as ImageJ's recorder writes them and read back as a replay reads them,
 * for the tests of recorded macros. In this package because the inputs a line carries are
 * {@link MacroLine}'s to say.
 */
final class MacroRecording {

	private MacroRecording() {}

	/** The command's recordable inputs, in declaration order: what the recorder walks through. */
	private static List<ModuleItem<?>> recordedInputs() {
		return recordedInputs(EditImagesCommand.class);
	}

	/** The inputs a recorded line carries, in the order it writes them. */
	static List<ModuleItem<?>> recordedInputs(Class<? extends org.scijava.command.Command> command) {
		try (Context context = new Context(CommandService.class)) {
			return MacroLine.recordedInputs(context.service(CommandService.class).getCommand(command));
		}
	}

	/** As ImageJ's Recorder.recordOption: {@code key=value}, the value in brackets when it has a space. */
	static String record(Map<String, Object> inputs) {
		StringBuilder options = new StringBuilder();
		for (ModuleItem<?> item : recordedInputs()) {
			Object raw = inputs.get(item.getName());
			if (raw == null) continue; // an optional input left empty is not recorded
			String value = String.valueOf(raw);
			if (value.indexOf(' ') > -1) value = "[" + value + "]";
			if (options.length() > 0) options.append(' ');
			options.append(Macro.trimKey(item.getName())).append('=').append(value);
		}
		return options.toString();
	}

	/** As the replay does: each input read back from the option string with ImageJ's parser. */
	static Map<String, Object> replay(String options, ImagePlus active) {
		return replay(options, active, EditImagesCommand.class);
	}

	static Map<String, Object> replay(String options, ImagePlus active,
		Class<? extends org.scijava.command.Command> command)
	{
		Map<String, Object> inputs = new HashMap<>();
		if (active != null) inputs.put("image", active);
		for (ModuleItem<?> item : recordedInputs(command)) {
			String value = Macro.getValue(options, item.getName(), null);
			if (value == null) continue;
			Class<?> type = item.getType();
			if (type == int.class || type == Integer.class) inputs.put(item.getName(), Integer.parseInt(value));
			else if (type == double.class || type == Double.class) inputs.put(item.getName(), Double.parseDouble(value));
			else if (type == boolean.class || type == Boolean.class) inputs.put(item.getName(), Boolean.parseBoolean(value));
			else if (type == java.io.File.class) inputs.put(item.getName(), new java.io.File(value));
			else inputs.put(item.getName(), value);
		}
		return inputs;
	}
}
