package io.github.qwenedit.imagej;

import org.scijava.plugin.Plugin;
import org.scijava.service.AbstractService;
import org.scijava.service.SciJavaService;
import org.scijava.service.Service;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;

/**
 * Where the commands get their configuration. By default it is read fresh on every run from the
 * environment and the settings files, so a changed setting takes effect without restarting Fiji;
 * scripts and tests may hand over an explicit one.
 */
@Plugin(type = Service.class)
public class QwenEditService extends AbstractService implements SciJavaService {

	private volatile Configuration explicit;

	public Configuration configuration() throws EditException {
		Configuration c = explicit;
		return c != null ? c : Configuration.fromSystem();
	}

	/** Use {@code configuration} instead of the environment; {@code null} returns to the environment. */
	public void useConfiguration(Configuration configuration) {
		this.explicit = configuration;
	}
}
