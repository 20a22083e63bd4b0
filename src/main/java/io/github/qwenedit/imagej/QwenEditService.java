package io.github.qwenedit.imagej;

import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;
import org.scijava.prefs.PrefService;
import org.scijava.service.AbstractService;
import org.scijava.service.SciJavaService;
import org.scijava.service.Service;

import java.io.File;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.provider.ProviderDescriptor;

/**
 * Where the commands get their configuration. By default it is read fresh on every run from the
 * environment and the settings files, so a changed setting takes effect without restarting Fiji;
 * scripts and tests may hand over an explicit one.
 */
@Plugin(type = Service.class)
public class QwenEditService extends AbstractService implements SciJavaService {

	private static final String LAST_OUTPUT_FOLDER = "lastOutputFolder";

	@Parameter(required = false)
	private PrefService prefs;

	private volatile Map<String, String> environment;
	private final Set<Cancellation> running = ConcurrentHashMap.newKeySet();

	public Configuration configuration() throws EditException {
		Map<String, String> env = environment;
		return env != null ? Configuration.fromEnvironment(env) : Configuration.fromSystem();
	}

	/**
	 * The models the dialog offers for {@code provider}: the built-in ones and those the user added
	 * in the settings folder; the built-in ones alone while the settings cannot be read (that is
	 * reported when the command runs).
	 */
	public List<ModelSpec> models(ProviderDescriptor provider) {
		try {
			return provider.models(configuration());
		}
		catch (EditException unreadableSettings) {
			return provider.models();
		}
	}

	/**
	 * Reads settings from {@code env} instead of the process environment (the settings files are
	 * still read, from the folder {@code env} names); {@code null} returns to the process environment.
	 */
	public void useEnvironment(Map<String, String> env) {
		this.environment = env == null ? null : Map.copyOf(env);
	}

	/** Remembers where results were last saved: Recover Unfinished Edits offers that folder first. */
	public void rememberOutputFolder(File folder) {
		if (prefs != null && folder != null && !folder.getPath().isEmpty()) {
			prefs.put(QwenEditService.class, LAST_OUTPUT_FOLDER, folder.getAbsolutePath());
		}
	}

	/** The folder of {@link #rememberOutputFolder}, also after a restart of Fiji. */
	public Optional<File> lastOutputFolder() {
		String path = prefs == null ? null : prefs.get(QwenEditService.class, LAST_OUTPUT_FOLDER);
		return path == null || path.isEmpty() ? Optional.empty() : Optional.of(new File(path));
	}

	/** Registers a running edit so that {@link #cancelAll()} reaches it; close the handle when done. */
	Cancellation.Registration track(Cancellation cancellation) {
		running.add(cancellation);
		return () -> running.remove(cancellation);
	}

	/**
	 * Cancels every edit in progress: remote jobs are stopped where the provider allows, staged
	 * objects deleted, results already downloaded kept.
	 *
	 * @return how many edits were running
	 */
	public int cancelAll() {
		int n = 0;
		for (Cancellation c : running) {
			c.cancel();
			n++;
		}
		return n;
	}
}
