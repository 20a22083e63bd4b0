package io.github.qwenedit.imagej;

import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.staging.BucketConfig;
import io.github.qwenedit.staging.S3Staging;
import io.github.qwenedit.staging.Staging;
import io.github.qwenedit.staging.StagingChoice;
import io.github.qwenedit.staging.StagingPlanner;
import io.github.qwenedit.staging.SweepReport;

/** Builds the staging plan of one run from the configuration. */
final class StagingPlans {

	private StagingPlans() {}

	/**
	 * @param plainHttpHosts receives the bucket endpoint when the user configured it with plain
	 *          http, so the provider's links to it may be followed
	 * @param warnings receives problems that do not stop the run (a failed sweep of old objects)
	 */
	static StagingPlanner forRun(Configuration config, StagingChoice choice, Set<String> plainHttpHosts,
		Consumer<String> warnings) throws EditException
	{
		Optional<BucketConfig> bucket = choice == StagingChoice.INLINE ? Optional.empty() : BucketConfig.from(config);
		bucket.ifPresent(b -> plainHttpHosts.addAll(b.plainHttpHosts()));
		return new StagingPlanner(choice, () -> bucket.map(b -> open(b, warnings)));
	}

	/** Opens the bucket and first removes what a crashed run may have left there. */
	private static Staging open(BucketConfig bucket, Consumer<String> warnings) {
		S3Staging staging = new S3Staging(bucket);
		SweepReport report = staging.sweepStale(S3Staging.STALE_AFTER);
		if (!report.succeeded()) warnings.accept(report.describe());
		return staging;
	}
}
