package io.github.qwenedit.staging;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.RetryPolicy;

/**
 * Stages input images as temporary objects in the user's bucket, each behind a presigned link that
 * lives {@link BucketConfig#urlTtl()}, and deletes them on {@link #close()}. Keys are random
 * ({@code <prefix>/<uuid>.<ext>}): nothing of the image's title or file name reaches the bucket.
 */
public final class S3Staging implements Staging {

	/** Objects this old under the prefix were left by a run that crashed; no job lives that long. */
	public static final Duration STALE_AFTER = Duration.ofDays(1);
	static final int DELETE_ATTEMPTS = 3;
	private static final RetryPolicy DELETE_RETRY = new RetryPolicy(DELETE_ATTEMPTS, Duration.ofMillis(500),
		Duration.ofSeconds(4));

	/** The only shape of key staging writes: the sweep deletes nothing else the user keeps there. */
	private static final Pattern STAGED_NAME = Pattern.compile(
		"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.[a-z0-9]{1,5}");

	/**
	 * Whether {@code key} is one staging could have made under the configured prefix: a journal names
	 * keys to delete, and one from another folder, another bucket setting or a file edited by hand
	 * must not delete what the user keeps in the bucket.
	 */
	public static boolean isStagedKey(BucketConfig config, String key) {
		String folder = config.keyFor("");
		return key.startsWith(folder) && STAGED_NAME.matcher(key.substring(folder.length())).matches();
	}

	/** How long after its delete an upload given up on may still land. */
	private static final Duration LATE_LANDING_WAIT = Duration.ofMillis(500);

	private final S3Bucket bucket;
	private final Clock clock;
	/** Insertion order, so that a "left behind" message lists keys in the order they were staged. */
	private final Set<String> stagedKeys = Collections.synchronizedSet(new LinkedHashSet<>());
	/** Uploads cut short by a cancel or time-out: the server may still be storing them. */
	private final Set<String> interruptedUploads = Collections.synchronizedSet(new LinkedHashSet<>());

	public S3Staging(BucketConfig config) {
		this(new S3Bucket(config), Clock.systemUTC());
	}

	/** @param clock decides what is stale for {@link #sweepStale(Duration)} */
	S3Staging(S3Bucket bucket, Clock clock) {
		this.bucket = bucket;
		this.clock = clock;
	}

	@Override
	public StagingRoute route() {
		return StagingRoute.BUCKET;
	}

	public S3Bucket bucket() {
		return bucket;
	}

	@Override
	public String stage(InputImage image, Http http, UploadListener beforeUpload) throws EditException {
		String key = bucket.config().keyFor(UUID.randomUUID() + "." + image.extension());
		List<String> withThisOne = new ArrayList<>(stagedKeys());
		withThisOne.add(key);
		beforeUpload.aboutToUpload(withThisOne);
		// Remembered before the upload: a PUT that timed out or was cancelled may still have landed.
		stagedKeys.add(key);
		try {
			bucket.within(http).put(key, image.bytes(), image.mimeType());
		}
		catch (EditException e) {
			// The service answered and refused: nothing was stored, and deleting with the same
			// (perhaps wrong) credentials would only fail again. Anything else may have landed.
			if (e.kind() == ErrorKind.STAGING) stagedKeys.remove(key);
			else interruptedUploads.add(key);
			throw e;
		}
		return bucket.presignGet(key, bucket.config().urlTtl());
	}

	@Override
	public List<String> objectKeys() {
		return stagedKeys();
	}

	/**
	 * An upload the client gave up on may land after its delete, when the server had the whole body
	 * and finishes storing it meanwhile (seen with many uploads cancelled at once): those keys are
	 * deleted once more after a moment. Deleting a missing key succeeds, so this costs one call.
	 */
	private void deleteLateLandings(S3Bucket cleaner) {
		List<String> keys;
		synchronized (interruptedUploads) {
			keys = new ArrayList<>(interruptedUploads);
			interruptedUploads.clear();
		}
		if (keys.isEmpty()) return;
		try {
			Thread.sleep(LATE_LANDING_WAIT.toMillis());
		}
		catch (InterruptedException e) {
			Thread.currentThread().interrupt();
		}
		for (String key : keys) {
			try {
				cleaner.delete(key);
			}
			catch (EditException e) {
				// The first delete succeeded; a later run's sweep takes what still landed.
			}
		}
	}

	/** The keys staged and not yet deleted, oldest first. */
	public List<String> stagedKeys() {
		synchronized (stagedKeys) {
			return Collections.unmodifiableList(new ArrayList<>(stagedKeys));
		}
	}

	/**
	 * Deletes every staged object, each up to {@value #DELETE_ATTEMPTS} times with back-off when the
	 * service fails or cannot be reached. Runs on its own limits, not the edit's: a cancelled or
	 * timed-out edit must still clean up.
	 *
	 * @throws EditException ({@link ErrorKind#STAGING}) naming the keys left behind
	 */
	@Override
	public void close() throws EditException {
		S3Bucket cleaner = bucket.withRetry(DELETE_RETRY);
		List<String> leftBehind = new ArrayList<>();
		EditException lastFailure = null;
		for (String key : stagedKeys()) {
			try {
				cleaner.delete(key);
				stagedKeys.remove(key);
			}
			catch (EditException e) {
				leftBehind.add(key);
				lastFailure = e;
			}
		}
		deleteLateLandings(cleaner);
		if (lastFailure == null) return;
		boolean one = leftBehind.size() == 1;
		throw new EditException(ErrorKind.STAGING, leftBehind.size() + " staged input image" + (one ? " was" : "s were") +
			" not deleted from the bucket " + bucket.config().bucket() + ": " + String.join(", ", leftBehind) + ". Delete " +
			(one ? "it" : "them") + " by hand, or leave " + (one ? "it" : "them") + " to a later run, which deletes staged " +
			"objects older than a day. Last error: " + lastFailure.getMessage(), lastFailure);
	}

	/**
	 * Deletes objects that staging wrote under the prefix more than {@code olderThan} ago, left by a
	 * run that crashed before its {@link #close()}. Best effort, for the start of a run: the result
	 * says what could not be done rather than failing the edit.
	 */
	public SweepReport sweepStale(Duration olderThan) {
		Instant cutoff = clock.instant().minus(olderThan);
		String prefix = bucket.config().prefix();
		String folder = prefix.isEmpty() ? "" : prefix + "/";
		List<String> deleted = new ArrayList<>();
		List<String> failed = new ArrayList<>();
		List<BucketObject> objects;
		try {
			objects = bucket.list(folder);
		}
		catch (EditException e) {
			return new SweepReport(deleted, failed, e.getMessage());
		}
		String problem = null;
		for (BucketObject object : objects) {
			String name = object.key().substring(folder.length());
			if (!STAGED_NAME.matcher(name).matches() || !object.lastModified().isBefore(cutoff)) continue;
			try {
				bucket.delete(object.key());
				deleted.add(object.key());
			}
			catch (EditException e) {
				failed.add(object.key());
				problem = e.getMessage();
			}
		}
		return new SweepReport(deleted, failed, problem);
	}
}
