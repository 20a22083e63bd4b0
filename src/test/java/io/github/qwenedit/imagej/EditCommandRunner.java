package io.github.qwenedit.imagej;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.scijava.Cancelable;
import org.scijava.Context;
import org.scijava.app.StatusService;
import org.scijava.app.event.StatusEvent;
import org.scijava.event.EventHandler;
import org.scijava.event.EventService;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandService;
import org.scijava.log.LogLevel;
import org.scijava.log.LogService;
import org.scijava.module.Module;
import org.scijava.module.ModuleService;

import ij.ImagePlus;
import io.github.qwenedit.core.Configuration;

/**
 * Runs the Edit Images command the way Fiji does, through a SciJava context's CommandService, with
 * an explicit configuration instead of the process environment. Everything the command logs is
 * kept, so tests can check that no secret was written.
 */
public final class EditCommandRunner implements AutoCloseable {

	private final Context context;
	private final List<String> log = Collections.synchronizedList(new ArrayList<>());
	private final List<String> warnings = Collections.synchronizedList(new ArrayList<>());
	private final StatusLines status = new StatusLines();

	/** What the status bar was told, as Fiji's status bar hears it: SciJava's {@link StatusEvent}s. */
	public static final class StatusLines {
		private final List<String> lines = Collections.synchronizedList(new ArrayList<>());

		@EventHandler
		public void onEvent(StatusEvent event) {
			if (event.getStatusMessage() != null) lines.add(event.getStatusMessage());
		}
	}

	/**
	 * @param environment the settings, as environment variables; unless it names
	 *          {@code QWEN_EDIT_CONFIG_DIR}, an empty temporary folder stands in for the user's settings
	 *          folder, so a developer's own keys never leak into a test
	 */
	public EditCommandRunner(Map<String, String> environment) {
		context = new Context(CommandService.class, QwenEditService.class, StatusService.class, LogService.class);
		context.service(QwenEditService.class).useEnvironment(withOwnSettingsFolder(environment));
		context.service(LogService.class).addLogListener(message -> {
			log.add(message.text());
			if (message.level() <= LogLevel.WARN) warnings.add(message.text());
		});
		context.service(EventService.class).subscribe(status);
	}

	/** Every status bar message shown so far. */
	public List<String> statusLines() {
		synchronized (status.lines) {
			return new ArrayList<>(status.lines);
		}
	}

	/**
	 * {@code environment}, with an empty temporary folder standing in for the user's settings folder
	 * unless it names one, so a developer's own keys never leak into a test.
	 */
	public static Map<String, String> withOwnSettingsFolder(Map<String, String> environment) {
		Map<String, String> env = new HashMap<>(environment);
		if (!env.containsKey(Configuration.CONFIG_DIR)) {
			try {
				Path dir = Files.createTempDirectory("qwen-edit-settings");
				dir.toFile().deleteOnExit();
				env.put(Configuration.CONFIG_DIR, dir.toString());
			}
			catch (IOException e) {
				throw new UncheckedIOException(e);
			}
		}
		return env;
	}

	public QwenEditService editService() {
		return context.service(QwenEditService.class);
	}

	/** Every log line the command wrote so far. */
	public List<String> log() {
		synchronized (log) {
			return new ArrayList<>(log);
		}
	}

	/**
	 * The log lines written as warnings or errors: in Fiji's window these go to stderr, which opens
	 * the Console (scijava-common's AbstractConsolePane).
	 */
	public List<String> warnings() {
		synchronized (warnings) {
			return new ArrayList<>(warnings);
		}
	}

	/** The usual inputs of a one-image edit; tests change what they need. */
	public static Map<String, Object> inputs(ImagePlus image, String provider, String model, String instruction) {
		Map<String, Object> inputs = new HashMap<>();
		inputs.put("image", image);
		inputs.put("image2", "none");
		inputs.put("image3", "none");
		inputs.put("provider", provider);
		inputs.put("model", model);
		inputs.put("size", "as input");
		inputs.put("outputs", 1);
		inputs.put("seed", "-1");
		inputs.put("promptExtend", true);
		inputs.put("watermark", false);
		inputs.put("staging", "auto");
		inputs.put("negativePrompt", "");
		inputs.put("instruction", instruction);
		// No folder unless a test gives one: a folder another test used would otherwise be remembered.
		inputs.put("outputFolder", new java.io.File(""));
		return inputs;
	}

	/**
	 * Starts the command with the pre- and postprocessing Fiji applies. (The command is a
	 * DynamicCommand, so it runs through the ModuleService: CommandService returns no future for it.)
	 */
	public Future<Module> start(Map<String, Object> inputs) {
		CommandInfo info = context.service(CommandService.class).getCommand(EditImagesCommand.class);
		return context.service(ModuleService.class).run(info, true, inputs);
	}

	/** Starts another command of the plugin the same way. */
	public Future<Module> startCommand(Class<? extends org.scijava.command.Command> command, Map<String, Object> inputs) {
		CommandInfo info = context.service(CommandService.class).getCommand(command);
		return context.service(ModuleService.class).run(info, true, inputs);
	}

	/** Runs another command of the plugin the same way, and returns the finished module. */
	public Module runCommand(Class<? extends org.scijava.command.Command> command, Map<String, Object> inputs)
		throws Exception
	{
		return startCommand(command, inputs).get(120, TimeUnit.SECONDS);
	}

	/**
	 * The Edit Images command as its dialog would open on {@code image}: made by the ModuleService,
	 * after every preprocessing step before the dialog, its initializer among them, with
	 * {@code remembered} as the values the last dialog left (stored as Fiji stores them, and forgotten
	 * again afterwards).
	 */
	public Module beforeTheDialog(ImagePlus image, Map<String, Object> remembered) {
		return beforeTheDialog(EditImagesCommand.class, image, remembered);
	}

	/**
	 * As {@link #beforeTheDialog(ImagePlus, Map)}, for {@code command}; a null {@code image} leaves its
	 * image input as it is.
	 */
	@SuppressWarnings("unchecked")
	public Module beforeTheDialog(Class<? extends org.scijava.command.Command> command, ImagePlus image,
		Map<String, Object> remembered)
	{
		CommandInfo info = context.service(CommandService.class).getCommand(command);
		ModuleService modules = context.service(ModuleService.class);
		remembered.forEach((name, value) -> modules.save((org.scijava.module.ModuleItem<Object>) info.getInput(name), value));
		try {
			Module module = modules.createModule(info);
			if (image != null) {
				module.setInput("image", image);
				module.resolveInput("image");
			}
			org.scijava.plugin.PluginService plugins = context.service(org.scijava.plugin.PluginService.class);
			for (org.scijava.plugin.PluginInfo<org.scijava.module.process.PreprocessorPlugin> step : plugins
				.getPluginsOfType(org.scijava.module.process.PreprocessorPlugin.class))
			{
				if (step.getPriority() <= org.scijava.widget.InputHarvester.PRIORITY) break; // the dialog, and what follows it
				org.scijava.module.process.PreprocessorPlugin preprocessor = plugins.createInstance(step);
				preprocessor.process(module);
				if (preprocessor.isCanceled()) throw new IllegalStateException(preprocessor.getCancelReason());
			}
			return module;
		}
		finally {
			// The default is not stored: saving it forgets the remembered value for the tests that follow.
			remembered.keySet().forEach(name -> {
				org.scijava.module.ModuleItem<Object> item = (org.scijava.module.ModuleItem<Object>) info.getInput(name);
				modules.save(item, item.getDefaultValue());
			});
		}
	}

	public Run run(Map<String, Object> inputs) throws Exception {
		return new Run(start(inputs).get(120, TimeUnit.SECONDS));
	}

	@Override
	public void close() {
		context.dispose();
	}

	/** What one run of the command produced. */
	public static final class Run {
		private final Module module;

		public Run(Module module) {
			this.module = module;
		}

		@SuppressWarnings("unchecked")
		public List<ImagePlus> results() {
			Object out = module.getOutput("results");
			return out == null ? List.of() : (List<ImagePlus>) out;
		}

		public boolean failed() {
			return ((Cancelable) module).isCanceled();
		}

		/** The sentence the user was shown, or null when the edit succeeded. */
		public String failure() {
			return ((Cancelable) module).getCancelReason();
		}
	}
}
