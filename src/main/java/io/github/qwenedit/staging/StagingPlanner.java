package io.github.qwenedit.staging;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import io.github.qwenedit.codec.InputFitting;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;

/** Chooses how this run's images reach the provider, and prepares them for that route. */
public final class StagingPlanner {

	/** Opens the user's bucket, or says there is none configured. */
	@FunctionalInterface
	public interface BucketOpener {
		Optional<Staging> open() throws EditException;
	}

	/** The chosen route with the images as they will be sent, and what was changed to fit it. */
	public static final class Plan {
		private final Staging staging;
		private final List<InputImage> images;
		private final List<String> adjustments;

		Plan(Staging staging, List<InputImage> images, List<String> adjustments) {
			this.staging = staging;
			this.images = List.copyOf(images);
			this.adjustments = List.copyOf(adjustments);
		}

		public Staging staging() {
			return staging;
		}

		public List<InputImage> images() {
			return images;
		}

		public List<String> adjustments() {
			return adjustments;
		}
	}

	public static final String HOW_TO_CONFIGURE_BUCKET = "set QWEN_EDIT_BUCKET=s3://bucket/prefix with " +
		"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL_S3 for a non-AWS service), " +
		"or enter the bucket in Plugins > Qwen Image Edit > Settings";

	private final StagingChoice choice;
	private final BucketOpener bucket;

	public StagingPlanner(StagingChoice choice, BucketOpener bucket) {
		this.choice = choice;
		this.bucket = bucket;
	}

	/**
	 * The planner of one edit or of every job of a batch, from the configuration. The bucket, the first
	 * time it is opened, is swept of what a crashed run left there.
	 *
	 * @param warnings receives problems that do not stop the run (a failed sweep of old objects)
	 */
	public static StagingPlanner forRun(Configuration config, StagingChoice choice, Consumer<String> warnings)
		throws EditException
	{
		Optional<BucketConfig> bucket = choice == StagingChoice.INLINE ? Optional.empty() : BucketConfig.from(config);
		AtomicBoolean swept = new AtomicBoolean();
		return new StagingPlanner(choice, () -> bucket.map(b -> {
			S3Staging staging = new S3Staging(b);
			if (swept.compareAndSet(false, true)) {
				SweepReport report = staging.sweepStale(S3Staging.STALE_AFTER);
				if (!report.succeeded()) warnings.accept(report.describe());
			}
			return staging;
		}));
	}

	/** Images only ever travel inline (no bucket). */
	public static StagingPlanner inlineOnly() {
		return new StagingPlanner(StagingChoice.INLINE, Optional::empty);
	}

	public Plan plan(ImageRecipient provider, List<InputImage> images) throws EditException {
		if (provider.readsOnlyOwnUploads()) {
			if (choice == StagingChoice.BUCKET || choice == StagingChoice.INLINE) {
				throw new EditException(ErrorKind.INVALID_INPUT, provider.displayName() + " reads input images only from " +
					"its own upload folder: choose staging 'auto' or 'provider_upload'.");
			}
			Optional<Staging> own = provider.uploadStaging();
			if (own.isPresent()) return new Plan(own.get(), images, List.of());
		}
		if (choice == StagingChoice.BUCKET || choice == StagingChoice.AUTO) {
			Optional<Staging> opened = bucket.open();
			if (opened.isPresent()) return new Plan(opened.get(), images, List.of());
			if (choice == StagingChoice.BUCKET) {
				throw new EditException(ErrorKind.STAGING, "Staging 'bucket' was chosen but no bucket is configured: " +
					HOW_TO_CONFIGURE_BUCKET + ".");
			}
		}
		if (choice == StagingChoice.PROVIDER_UPLOAD || choice == StagingChoice.AUTO) {
			Optional<Staging> upload = provider.uploadStaging();
			if (upload.isPresent()) return new Plan(upload.get(), images, List.of());
			if (choice == StagingChoice.PROVIDER_UPLOAD) {
				throw new EditException(ErrorKind.INVALID_INPUT, provider.displayName() +
					" has no upload service: choose staging 'auto', 'bucket' or 'inline'.");
			}
		}
		if (provider.maxInlineBytes() <= 0) {
			throw new EditException(ErrorKind.STAGING, provider.displayName() +
				" reads input images only from web links, so it needs a bucket to stage them: " +
				HOW_TO_CONFIGURE_BUCKET + ".");
		}
		if (!provider.shrinksToFitInline()) {
			long total = 0;
			for (InputImage image : images) {
				total += InputFitting.dataUriLength(image);
			}
			if (total > provider.maxInlineBytes()) {
				throw new EditException(ErrorKind.STAGING, "The images are too large to send inside a " +
					provider.displayName() + " request (" + (provider.maxInlineBytes() / 1024) + " kB at most), so they " +
					"need a bucket: " + HOW_TO_CONFIGURE_BUCKET + ".");
			}
		}
		InputFitting.FittedSet fitted = InputFitting.fitTotalBytes(images, provider.maxInlineBytes());
		return new Plan(new InlineStaging(), fitted.images(), new ArrayList<>(fitted.notes()));
	}
}
