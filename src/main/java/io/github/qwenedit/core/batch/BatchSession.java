package io.github.qwenedit.core.batch;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditSession;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.staging.BucketConfig;
import io.github.qwenedit.staging.S3Staging;
import io.github.qwenedit.staging.StagingChoice;
import io.github.qwenedit.staging.StagingPlanner;

/**
 * The pipeline a batch sends all its jobs through, set up once from the configuration: the bucket
 * (swept of objects a crash left behind), the staging choice, the deadline and download cap.
 */
public final class BatchSession {

	private final EditSession session;
	private final Set<String> plainHttpHosts;
	private final Optional<BucketConfig> bucket;

	private BatchSession(EditSession session, Set<String> plainHttpHosts, Optional<BucketConfig> bucket) {
		this.session = session;
		this.plainHttpHosts = Set.copyOf(plainHttpHosts);
		this.bucket = bucket;
	}

	/** @param problems told, one sentence each, of stale staged objects that could not be deleted */
	public static BatchSession open(ProviderDescriptor descriptor, EditProvider provider, StagingChoice choice,
		Configuration config, Consumer<String> problems) throws EditException
	{
		Set<String> plainHttp = new HashSet<>(descriptor.plainHttpHosts(config));
		Optional<BucketConfig> bucket = choice == StagingChoice.INLINE ? Optional.empty() : BucketConfig.from(config);
		bucket.ifPresent(b -> plainHttp.addAll(b.plainHttpHosts()));
		bucket.ifPresent(b -> {
			var report = new S3Staging(b).sweepStale(S3Staging.STALE_AFTER);
			if (!report.succeeded()) problems.accept(report.describe());
		});
		StagingPlanner planner = new StagingPlanner(choice, () -> bucket.map(S3Staging::new));
		EditSession session = new EditSession(provider, planner, plainHttp, EditSession.deadline(config),
			EditSession.downloadCapBytes(config));
		return new BatchSession(session, plainHttp, bucket);
	}

	public EditSession session() {
		return session;
	}

	public Set<String> plainHttpHosts() {
		return plainHttpHosts;
	}

	public Optional<BucketConfig> bucket() {
		return bucket;
	}
}
