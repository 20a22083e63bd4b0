package io.github.qwenedit.staging;

import static io.github.qwenedit.fixtures.QuickRetries.FAST_RETRY;
import static io.github.qwenedit.fixtures.SecretLeaks.assertRevealsNothing;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.http.Http;
import okhttp3.Request;
import okhttp3.Response;

/** Staging against a real S3-compatible server (s3proxy) that checks signatures and expiry. */
class S3StagingTest {

	private static final Pattern STAGED_KEY = Pattern.compile(
		"staging/inputs/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.png");

	private static S3TestServer s3;
	private static byte[] png;

	@BeforeAll
	static void startServer() throws Exception {
		s3 = S3TestServer.start();
		png = png(7, 5);
	}

	@AfterAll
	static void stopServer() {
		if (s3 != null) s3.close();
	}

	@BeforeEach
	void emptyBucket() {
		s3.clear();
	}

	@Test
	void stagedImageIsReadableThroughItsLinkAndGoneAfterClose() throws Exception {
		S3Staging staging = staging(s3.env());

		String link = staging.stage(image("cells.tif"), http());

		Fetched fetched = fetch(link);
		assertEquals(200, fetched.code);
		assertArrayEquals(png, fetched.body);
		assertEquals("image/png", fetched.contentType);
		assertEquals(1, s3.countObjects(s3.prefix()));

		staging.close();
		assertEquals(0, s3.countObjects(s3.prefix()));
		assertEquals(List.of(), staging.stagedKeys());
	}

	@Test
	void keysAreRandomUnderThePrefixAndCarryNothingOfTheImage() throws Exception {
		S3Staging staging = staging(s3.env());
		staging.stage(image("patient-0042 biopsy.tif"), http());
		staging.stage(image("patient-0042 biopsy.tif"), http());

		List<String> keys = s3.keys("");
		assertEquals(2, keys.size());
		for (String key : keys) {
			assertTrue(STAGED_KEY.matcher(key).matches(), key);
			assertFalse(key.contains("patient") || key.contains("biopsy"), key);
		}
		assertEquals(keys, sorted(staging.stagedKeys()));
		staging.close();
	}

	@Test
	void linkWithAChangedSignatureIsRefused() throws Exception {
		S3Staging staging = staging(s3.env());
		String link = staging.stage(image("a"), http());
		int at = link.indexOf("X-Amz-Signature=") + "X-Amz-Signature=".length();
		String tampered = link.substring(0, at) + (link.charAt(at) == '0' ? '1' : '0') + link.substring(at + 1);

		assertEquals(403, fetch(tampered).code);
		assertEquals(200, fetch(link).code);
		staging.close();
	}

	@Test
	void linkPointedAtAnotherObjectIsRefused() throws Exception {
		S3Staging staging = staging(s3.env());
		String first = staging.stage(image("a"), http());
		String second = staging.stage(image("b"), http());
		String secondKeyPath = second.substring(0, second.indexOf('?'));
		String borrowed = secondKeyPath + first.substring(first.indexOf('?'));

		assertEquals(403, fetch(borrowed).code);
		staging.close();
	}

	@Test
	void linkStopsWorkingWhenItsLifetimeEnds() throws Exception {
		Map<String, String> env = s3.env();
		env.put(BucketConfig.URL_TTL_SECONDS, "1");
		S3Staging staging = staging(env);
		String link = staging.stage(image("a"), http());
		assertEquals(200, fetch(link).code);

		int code = 200;
		long until = System.nanoTime() + Duration.ofSeconds(6).toNanos();
		while (code == 200 && System.nanoTime() < until) {
			Thread.sleep(250);
			code = fetch(link).code;
		}
		assertEquals(403, code, "an expired link must be refused");
		staging.close();
	}

	/**
	 * s3proxy 2.9.0 refuses {@code x-amz-security-token} (501), as some S3-compatible services do; the
	 * token's signing is proven in SigV4SignerTest and S3ErrorRepliesTest.
	 */
	@Test
	void serviceThatRefusesSessionTokensSaysWhatToChange() throws Exception {
		EditException e = stagingFails(BucketConfig.SESSION_TOKEN, "session/token+with=odd chars");

		assertTrue(e.getMessage().contains("(HTTP 501, NotImplemented)"), e.getMessage());
		assertTrue(e.getMessage().contains("unset AWS_SESSION_TOKEN"), e.getMessage());
		assertRevealsNothing(e, "session/token");
	}

	@Test
	void wrongSecretIsReportedAsWrongCredentialsAndNeverShown() throws Exception {
		EditException e = stagingFails(BucketConfig.SECRET_ACCESS_KEY, "wrong-secret-9f8e7d6c5b4a");

		assertEquals(ErrorKind.STAGING, e.kind());
		assertTrue(e.getMessage().contains("SignatureDoesNotMatch"), e.getMessage());
		assertTrue(e.getMessage().contains("AWS_SECRET_ACCESS_KEY"), e.getMessage());
		assertRevealsNothing(e, "wrong-secret-9f8e7d6c5b4a", s3.secretAccessKey(), "X-Amz-Signature");
	}

	@Test
	void unknownAccessKeyIsReportedAsWrongCredentials() throws Exception {
		EditException e = stagingFails(BucketConfig.ACCESS_KEY_ID, "AKIDNOBODYHASTHIS");

		assertTrue(e.getMessage().contains("InvalidAccessKeyId"), e.getMessage());
		assertTrue(e.getMessage().contains("AWS_ACCESS_KEY_ID"), e.getMessage());
		assertRevealsNothing(e, s3.secretAccessKey());
	}

	@Test
	void missingBucketIsNamed() throws Exception {
		EditException e = stagingFails(BucketConfig.BUCKET, "s3://no-such-bucket-here/inputs");

		assertEquals(ErrorKind.STAGING, e.kind());
		assertTrue(e.getMessage().contains("no bucket named no-such-bucket-here"), e.getMessage());
	}

	@Test
	void computerClockFarOffIsReportedAsSuch() throws Exception {
		Clock anHourAhead = Clock.offset(Clock.systemUTC(), Duration.ofHours(1));
		S3Bucket bucket = new S3Bucket(s3.bucketConfig(), FAST_RETRY, anHourAhead);

		EditException e = assertThrows(EditException.class, () -> bucket.put(s3.prefix() + "/x.txt", new byte[1], "text/plain"));

		assertTrue(e.getMessage().contains("fix the computer's clock"), e.getMessage());
	}

	@Test
	void closeDeletesEveryStagedObject() throws Exception {
		S3Staging staging = staging(s3.env());
		for (int i = 0; i < 3; i++) {
			staging.stage(image("image " + i), http());
		}
		assertEquals(3, s3.countObjects(s3.prefix()));

		staging.close();
		assertEquals(0, s3.countObjects(""));
		staging.close();
	}

	@Test
	void closeStillDeletesAfterTheEditWasCancelledAndItsDeadlinePassed() throws Exception {
		S3Staging staging = staging(s3.env());
		Cancellation cancellation = new Cancellation();
		Http http = new Http(FAST_RETRY, cancellation, Deadline.after(Duration.ofSeconds(3)), Set.of());
		staging.stage(image("a"), http);
		cancellation.cancel();

		EditException cancelled = assertThrows(EditException.class, () -> staging.stage(image("b"), http));
		assertEquals(ErrorKind.CANCELLED, cancelled.kind());

		Http expired = new Http(FAST_RETRY, new Cancellation(), Deadline.after(Duration.ZERO), Set.of());
		EditException timedOut = assertThrows(EditException.class, () -> staging.stage(image("c"), expired));
		assertEquals(ErrorKind.TIMED_OUT, timedOut.kind());

		staging.close();
		assertEquals(0, s3.countObjects(""));
	}

	@Test
	void sweepDeletesOnlyStaleStagedObjects() throws Exception {
		S3Bucket bucket = new S3Bucket(s3.bucketConfig(), FAST_RETRY, Clock.systemUTC());
		S3Staging earlierRun = new S3Staging(bucket, Clock.systemUTC());
		earlierRun.stage(image("old 1"), http());
		earlierRun.stage(image("old 2"), http());
		bucket.put(s3.prefix() + "/notes-the-user-keeps.txt", new byte[] { 1 }, "text/plain");
		bucket.put("elsewhere/0b5c4a9e-6a1f-4b8e-9c3d-2e7f1a0b9c8d.png", new byte[] { 1 }, "image/png");
		Instant between = Instant.now();
		// S3 listings may round LastModified to the second: keep the fresh objects clearly after.
		Thread.sleep(1100);
		S3Staging thisRun = new S3Staging(bucket, Clock.fixed(between.plus(S3Staging.STALE_AFTER), ZoneOffset.UTC));
		String fresh = keyOf(thisRun.stage(image("fresh"), http()));

		SweepReport report = thisRun.sweepStale(S3Staging.STALE_AFTER);

		assertTrue(report.succeeded(), report.describe());
		assertEquals(sorted(earlierRun.stagedKeys()), sorted(report.deletedKeys()));
		assertEquals(List.of("elsewhere/0b5c4a9e-6a1f-4b8e-9c3d-2e7f1a0b9c8d.png", fresh,
			s3.prefix() + "/notes-the-user-keeps.txt"), s3.keys(""));
		assertTrue(report.describe().startsWith("Deleted 2 stale staged objects"), report.describe());
		thisRun.close();
	}

	@Test
	void sweepReportsAFailureInsteadOfThrowing() throws Exception {
		Map<String, String> env = s3.env();
		env.put(BucketConfig.SECRET_ACCESS_KEY, "not-the-secret");

		SweepReport report = staging(env).sweepStale(S3Staging.STALE_AFTER);

		assertFalse(report.succeeded());
		assertTrue(report.describe().contains("AWS_SECRET_ACCESS_KEY"), report.describe());
	}

	@Test
	void listingFollowsContinuationTokens() throws Exception {
		S3Bucket bucket = new S3Bucket(s3.bucketConfig(), FAST_RETRY, Clock.systemUTC());
		Instant before = Instant.now().minusSeconds(5);
		for (int i = 0; i < 5; i++) {
			bucket.put(s3.prefix() + "/" + i + ".txt", new byte[i], "text/plain");
		}

		List<BucketObject> listed = bucket.list(s3.prefix() + "/", 2);

		assertEquals(5, listed.size());
		for (int i = 0; i < 5; i++) {
			assertEquals(s3.prefix() + "/" + i + ".txt", listed.get(i).key());
			assertEquals(i, listed.get(i).size());
			assertTrue(listed.get(i).lastModified().isAfter(before), listed.get(i).toString());
		}
		assertEquals(0, bucket.list("nothing-here/").size());
	}

	@Test
	void keysWithCharactersThatNeedEncodingRoundTrip() throws Exception {
		S3Bucket bucket = new S3Bucket(s3.bucketConfig(), FAST_RETRY, Clock.systemUTC());
		String key = s3.prefix() + "/odd name+plus=eq&amp (1) é.png";

		bucket.put(key, png, "image/png");
		assertArrayEquals(png, fetch(bucket.presignGet(key, Duration.ofMinutes(1))).body);
		assertEquals(List.of(key), s3.keys(""));
		assertEquals(key, bucket.list(s3.prefix() + "/odd name").get(0).key());
		bucket.delete(key);
		assertEquals(0, s3.countObjects(""));
	}

	@Test
	void selfCheckPassesAndLeavesNothingBehind() throws Exception {
		String result = new S3Bucket(s3.bucketConfig()).selfCheck();

		assertTrue(result.startsWith("The bucket s3://qwen-edit-test/staging/inputs works"), result);
		assertEquals(0, s3.countObjects(""));
	}

	@Test
	void selfCheckWithWrongCredentialsSaysWhatToFix() throws Exception {
		Map<String, String> env = s3.env();
		env.put(BucketConfig.SECRET_ACCESS_KEY, "not-the-secret");
		BucketConfig config = BucketConfig.from(Configuration.of(env)).orElseThrow();

		EditException e = assertThrows(EditException.class, () -> new S3Bucket(config, FAST_RETRY, Clock.systemUTC()).selfCheck());

		assertTrue(e.getMessage().contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), e.getMessage());
	}

	@Test
	void deletingAnObjectThatIsAlreadyGoneSucceeds() throws Exception {
		new S3Bucket(s3.bucketConfig(), FAST_RETRY, Clock.systemUTC()).delete(s3.prefix() + "/never-existed.png");
	}

	@Test
	void differentImagesGetDifferentLinks() throws Exception {
		S3Staging staging = staging(s3.env());
		assertNotEquals(staging.stage(image("a"), http()), staging.stage(image("a"), http()));
		staging.close();
	}

	// --- helpers

	/** Stages one image with {@code setting} changed, which must fail; nothing may be left behind. */
	private static EditException stagingFails(String setting, String value) throws Exception {
		Map<String, String> env = s3.env();
		env.put(setting, value);
		S3Staging staging = staging(env);
		EditException e = assertThrows(EditException.class, () -> staging.stage(image("a"), http()));
		staging.close();
		assertEquals(0, s3.countObjects(""));
		return e;
	}

	private static S3Staging staging(Map<String, String> env) throws EditException {
		BucketConfig config = BucketConfig.from(Configuration.of(env)).orElseThrow();
		return new S3Staging(new S3Bucket(config, FAST_RETRY, Clock.systemUTC()), Clock.systemUTC());
	}

	/**
	 * The edit's Http allows no plain http host: staging must still reach the http endpoint the
	 * user configured for the bucket.
	 */
	private static Http http() {
		return new Http(FAST_RETRY, new Cancellation(), Deadline.after(Duration.ofSeconds(30)), Set.of());
	}

	private static InputImage image(String title) {
		return InputImage.png(png, 7, 5, title);
	}

	private static byte[] png(int width, int height) throws IOException {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		image.setRGB(1, 1, 0x3366ff);
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		ImageIO.write(image, "png", out);
		return out.toByteArray();
	}

	private static String keyOf(String link) {
		String path = okhttp3.HttpUrl.get(link).encodedPath();
		return path.substring(("/" + S3TestServer.BUCKET + "/").length());
	}

	private static List<String> sorted(List<String> keys) {
		List<String> copy = new ArrayList<>(keys);
		copy.sort(null);
		return copy;
	}

	static final class Fetched {
		final int code;
		final byte[] body;
		final String contentType;

		Fetched(int code, byte[] body, String contentType) {
			this.code = code;
			this.body = body;
			this.contentType = contentType;
		}
	}

	/** Fetches a link as a provider would: a plain GET, no credentials. */
	static Fetched fetch(String link) throws IOException {
		try (Response response = Http.sharedClient().newCall(new Request.Builder().url(link).get().build()).execute()) {
			return new Fetched(response.code(), response.body().bytes(), response.header("Content-Type"));
		}
	}
}
