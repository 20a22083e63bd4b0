package io.github.qwenedit.engine;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.provider.EditProvider;

/**
 * The engine's side of an edit the user specified, the same for the Fiji commands and the shell
 * command: the provider created from the configuration, and the pipeline of one edit
 * ({@link #session}) or of a batch ({@link #batch}) set up for it. Every warning of the set-up reaches
 * the front end without the configuration's secrets.
 */
public final class Editing {

	private final EditSpecification spec;
	private final Configuration config;
	private final EditProvider provider;
	private final Consumer<String> warnings;

	private Editing(EditSpecification spec, Configuration config, EditProvider provider, Consumer<String> warnings) {
		this.spec = spec;
		this.config = config;
		this.provider = provider;
		this.warnings = warnings;
	}

	/**
	 * Creates the specified provider: a key or an address missing from the configuration is refused
	 * here, before anything is sent.
	 *
	 * @param warnings told, one sentence each and with secrets redacted, of problems of the set-up
	 *          that do not stop the edit
	 */
	public static Editing of(EditSpecification spec, Configuration config, Consumer<String> warnings)
		throws EditException
	{
		return new Editing(spec, config, spec.provider().create(config), warning -> warnings.accept(config.redact(warning)));
	}

	public EditSpecification specification() {
		return spec;
	}

	/** The pipeline of one edit, with the staging route, deadline and download cap the configuration sets. */
	public EditSession session() throws EditException {
		return EditSession.configured(spec.provider(), provider, spec.staging(), config, warnings);
	}

	/**
	 * The specified edit applied to each of {@code items}, results and the batch log in {@code output};
	 * the front end adds what it asks of the run (listener, cancellation, concurrency, cost ceiling,
	 * confirmation, recovery) before running it.
	 */
	public BatchRun batch(List<? extends BatchRun.Item> items, Path output) throws EditException {
		return new BatchRun(spec.provider(), session(), spec.options(), spec.instruction(), items, output, config);
	}
}
