package io.github.qwenedit.imagej;

import java.util.Optional;
import java.util.Set;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.staging.StagingChoice;
import io.github.qwenedit.staging.StagingPlanner;

/** Builds the staging plan of one run from the configuration. */
final class StagingPlans {

	private StagingPlans() {}

	/**
	 * @param plainHttpHosts receives the bucket endpoint when the user configured it with plain http
	 */
	static StagingPlanner forRun(Configuration config, StagingChoice choice, Set<String> plainHttpHosts)
		throws EditException
	{
		return new StagingPlanner(choice, Optional::empty);
	}
}
