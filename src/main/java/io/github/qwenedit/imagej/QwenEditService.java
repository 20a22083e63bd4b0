package io.github.qwenedit.imagej;

import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;
import org.scijava.prefs.PrefService;
import org.scijava.service.AbstractService;
import org.scijava.service.SciJavaService;
import org.scijava.service.Service;

import java.io.File;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.engine.EditSession;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.staging.StagingChoice;

/**
 * Where the commands get their configuration. By default it is read fresh on every run from the
 * environment and the settings files, so a changed setting takes effect without restarting Fiji;
 * scripts and tests may hand over an explicit one.
 */
@Plugin(type = Service.class)
public class QwenEditService extends AbstractService implements SciJavaService {

	private static final String LAST_OUTPUT_FOLDER = "lastOutputFolder";
	/** How long the dialog waits for a server to list its models. */
	static final Duration INSTALLED_MODELS_WAIT = Duration.ofSeconds(3);
	/** A list read this recently is offered again without asking: a dialog's callbacks ask often. */
	static final Duration INSTALLED_MODELS_KEPT = Duration.ofMinutes(1);

	@Parameter(required = false)
	private PrefService prefs;

	private volatile Map<String, String> environment;
	private final Set<Cancellation> running = ConcurrentHashMap.newKeySet();
	private final Map<String, Listed> installed = new ConcurrentHashMap<>();

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
	 * The model names the dialog offers for {@code provider}: {@link #models}, then those the service
	 * itself lists as installed (the lab's ComfyUI server names its model files). A server is asked
	 * for at most {@link #INSTALLED_MODELS_WAIT}, so that the dialog opens when it is down, and not
	 * again within {@link #INSTALLED_MODELS_KEPT}; when it cannot be asked, the catalogue's alone
	 * are offered, and the edit says why when it runs.
	 */
	public List<String> offeredModels(ProviderDescriptor provider) {
		List<String> names = new ArrayList<>();
		for (ModelSpec m : models(provider)) {
			names.add(m.id());
		}
		for (String installed : installedModels(provider)) {
			if (!names.contains(installed)) names.add(installed);
		}
		return names;
	}

	private List<String> installedModels(ProviderDescriptor descriptor) {
		try {
			Configuration config = configuration();
			EditProvider provider = descriptor.create(config);
			String where = descriptor.id() + " " + provider.serviceAddress();
			Listed known = installed.get(where);
			if (known != null && known.read.plus(INSTALLED_MODELS_KEPT).isAfter(Instant.now())) return known.names;
			List<String> names;
			try {
				names = provider.installedModels(new Http(new RetryPolicy(1, Duration.ZERO, Duration.ZERO), new Cancellation(),
					Deadline.after(INSTALLED_MODELS_WAIT), EditSession.plainHttpHosts(descriptor, config, StagingChoice.AUTO)));
			}
			catch (EditException unreachable) {
				names = List.of();
			}
			installed.put(where, new Listed(List.copyOf(names), Instant.now()));
			return names;
		}
		catch (EditException notSetUp) {
			return List.of(); // a missing key or unreadable settings are reported when the command runs
		}
	}

	/** Model names a service listed, and when. */
	private static final class Listed {
		final List<String> names;
		final Instant read;

		Listed(List<String> names, Instant read) {
			this.names = names;
			this.read = read;
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
