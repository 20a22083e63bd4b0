package io.github.qwenedit.imagej;

import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.engine.EditSession;
import io.github.qwenedit.fixtures.BatchTestData;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.images.ImageEncoder;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.registry.ProviderRegistry;
import io.github.qwenedit.staging.BucketConfig;
import io.github.qwenedit.staging.S3Staging;
import io.github.qwenedit.staging.StagingChoice;

/**
 * A program that stops in the middle of one edit, leaving what a crash leaves: staged inputs in the
 * bucket and a journal entry, made with the same staging, submit and journal calls an edit makes.
 * Configured by the environment. Arguments: output folder, source name, provider, instruction,
 * {@code staged} (stop before the provider's reply) or {@code accepted} (stop during the wait), and
 * optionally {@code stay} to keep running, as a program still busy with the edit, until killed.
 */
public final class LeftBehindJob {

	public static final long SEED = 11;

	private LeftBehindJob() {}

	public static void main(String[] args) throws Exception {
		Configuration config = Configuration.fromSystem();
		ProviderDescriptor descriptor = ProviderRegistry.get(args[2]);
		EditProvider provider = descriptor.create(config);
		BucketConfig bucket = BucketConfig.from(config).orElseThrow();
		S3Staging staging = new S3Staging(bucket);
		Http http = new Http(RetryPolicy.DEFAULT, new Cancellation(), Deadline.after(Duration.ofSeconds(30)),
			EditSession.plainHttpHosts(descriptor, config, StagingChoice.BUCKET));
		// The side a cloud model is sent (this job goes around the edit session, which would raise a
		// smaller image to it), and the emulator's results have: a result then keeps a plane's calibration.
		InputImage image = ImageEncoder.encode(TestImages.pattern(args[1], BatchTestData.SIDE, BatchTestData.SIDE));
		String link = staging.stage(image, http);
		EditRequest request = new EditRequest(List.of(image), args[3], EditOptions.builder(descriptor.defaultModel())
			.seed(SEED).build());
		BatchJournal.Pending pending = new BatchJournal(Paths.get(args[0])).pending(new BatchJournal.SourceKey(args[1], 0),
			String.valueOf(Paths.get(args[1]).getFileName()), descriptor.id(), request, false);
		pending.aboutToSubmit(staging.objectKeys(), io.github.qwenedit.core.Provenance.ofAiEdit()
			.put(io.github.qwenedit.core.Provenance.SEED, String.valueOf(SEED)), java.util.Optional.empty());
		if (args[4].equals("accepted")) {
			provider.checkPublishedSchema(request, http);
			JobState accepted = provider.submit(request, List.of(link), http);
			pending.accepted(accepted, staging.objectKeys());
		}
		if (args.length > 5 && args[5].equals("stay")) Thread.sleep(60_000);
		Runtime.getRuntime().halt(0);
	}
}
