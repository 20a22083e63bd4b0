package io.github.qwenedit.staging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;

class BucketConfigTest {

	private static final String SECRET = "bucket-secret-u7Tq2Nc9";
	private static final String TOKEN = "bucket-session-token-Zp4";

	private static Map<String, String> env(String bucket) {
		Map<String, String> env = new LinkedHashMap<>();
		env.put("QWEN_EDIT_BUCKET", bucket);
		env.put("AWS_ACCESS_KEY_ID", "AKIDCONFIGTEST");
		env.put("AWS_SECRET_ACCESS_KEY", SECRET);
		return env;
	}

	private static BucketConfig config(Map<String, String> env) throws EditException {
		return BucketConfig.from(Configuration.of(env)).orElseThrow();
	}

	private static BucketConfig config(String bucket, String... moreSettings) throws EditException {
		Map<String, String> env = env(bucket);
		for (int i = 0; i + 1 < moreSettings.length; i += 2) {
			env.put(moreSettings[i], moreSettings[i + 1]);
		}
		return config(env);
	}

	private static EditException refused(Map<String, String> env) {
		return assertThrows(EditException.class, () -> BucketConfig.from(Configuration.of(env)));
	}

	@Test
	void noBucketMeansNoBucketStagingEvenWithoutCredentials() throws Exception {
		assertEquals(Optional.empty(), BucketConfig.from(Configuration.of(Map.of())));
		assertEquals(Optional.empty(), BucketConfig.from(Configuration.of(Map.of("AWS_REGION", "eu-west-1"))));
	}

	@Test
	void bucketAndNestedPrefixAreReadWithSlashesNormalised() throws Exception {
		BucketConfig config = config("s3://lab-images/fiji//staging/inputs/");

		assertEquals("lab-images", config.bucket());
		assertEquals("fiji/staging/inputs", config.prefix());
		assertEquals("s3://lab-images/fiji/staging/inputs", config.location());
		assertEquals("fiji/staging/inputs/x.png", config.keyFor("x.png"));
	}

	/** The day-old sweep deletes random-named objects under the prefix: at the root they are the user's own. */
	@Test
	void aBucketWithoutAFolderOfItsOwnIsRefused() {
		for (String bucket : new String[] { "s3://lab-images", "s3://lab-images/", "S3://lab-images//" }) {
			EditException e = refused(env(bucket));
			assertEquals(ErrorKind.INVALID_INPUT, e.kind(), bucket);
			assertTrue(e.getMessage().startsWith("QWEN_EDIT_BUCKET must name a folder used only by this plugin, such as " +
				"s3://lab-images/qwen-edit"), e.getMessage());
		}
	}

	@Test
	void malformedBucketSettingsNameTheSetting() {
		for (String bucket : new String[] { "lab-images/fiji", "https://lab-images/fiji", "s3://", "s3:///fiji",
			"s3://lab images/fiji", "s3://lab-images/../other" })
		{
			EditException e = refused(env(bucket));
			assertEquals(ErrorKind.INVALID_INPUT, e.kind(), bucket);
			assertTrue(e.getMessage().contains("QWEN_EDIT_BUCKET"), e.getMessage());
		}
	}

	@Test
	void defaultsAreAwsInUsEast1WithVirtualHosts() throws Exception {
		BucketConfig config = config("s3://lab-images/fiji");

		assertEquals("us-east-1", config.region());
		assertEquals("https://s3.us-east-1.amazonaws.com/", config.endpoint().toString());
		assertFalse(config.pathStyle());
		assertEquals("https://lab-images.s3.us-east-1.amazonaws.com/", config.bucketUrl().toString());
		assertEquals("https://lab-images.s3.us-east-1.amazonaws.com/fiji/x.png",
			config.objectUrl("fiji/x.png").toString());
		assertEquals(Duration.ofSeconds(900), config.urlTtl());
		assertEquals(Set.of(), config.plainHttpHosts());
	}

	@Test
	void regionPicksTheAwsEndpoint() throws Exception {
		BucketConfig config = config("s3://lab-images/fiji", "AWS_REGION", "eu-central-1");

		assertEquals("https://lab-images.s3.eu-central-1.amazonaws.com/", config.bucketUrl().toString());
		assertEquals("eu-central-1", config.region());
	}

	@Test
	void anyOtherEndpointUsesPathStyle() throws Exception {
		BucketConfig minio = config("s3://lab-images/fiji", "AWS_ENDPOINT_URL_S3", "http://localhost:9000");
		assertTrue(minio.pathStyle());
		assertEquals("http://localhost:9000/lab-images/fiji/x.png", minio.objectUrl("fiji/x.png").toString());

		BucketConfig r2 = config("s3://lab-images/fiji", "AWS_ENDPOINT_URL_S3", "https://0123abcd.r2.cloudflarestorage.com",
			"AWS_REGION", "auto");
		assertTrue(r2.pathStyle());
		assertEquals("https://0123abcd.r2.cloudflarestorage.com/lab-images", r2.bucketUrl().toString());

		BucketConfig gcs = config("s3://lab_images/fiji", "AWS_ENDPOINT_URL", "https://storage.googleapis.com");
		assertTrue(gcs.pathStyle());
	}

	@Test
	void theS3EndpointSettingWinsOverTheGeneralOne() throws Exception {
		BucketConfig config = config("s3://lab-images/fiji", "AWS_ENDPOINT_URL", "https://general.example",
			"AWS_ENDPOINT_URL_S3", "https://s3-only.example");

		assertEquals("s3-only.example", config.endpoint().host());
		assertEquals("general.example", config("s3://lab-images/fiji", "AWS_ENDPOINT_URL", "https://general.example")
			.endpoint().host());
	}

	@Test
	void explicitAddressingOverridesTheDefault() throws Exception {
		BucketConfig pathOnAws = config("s3://lab-images/fiji", "QWEN_EDIT_S3_ADDRESSING", "path");
		assertEquals("https://s3.us-east-1.amazonaws.com/lab-images/x.png", pathOnAws.objectUrl("x.png").toString());

		BucketConfig virtualOnMinio = config("s3://lab-images/fiji", "AWS_ENDPOINT_URL_S3", "http://minio.lab:9000",
			"QWEN_EDIT_S3_ADDRESSING", "Virtual");
		assertEquals("http://lab-images.minio.lab:9000/x.png", virtualOnMinio.objectUrl("x.png").toString());
		assertEquals(Set.of("lab-images.minio.lab:9000"), virtualOnMinio.plainHttpHosts());

		EditException e = refused(withSetting(env("s3://lab-images/fiji"), "QWEN_EDIT_S3_ADDRESSING", "dns"));
		assertEquals(ErrorKind.INVALID_INPUT, e.kind());
		assertTrue(e.getMessage().contains("QWEN_EDIT_S3_ADDRESSING must be path or virtual"), e.getMessage());
	}

	@Test
	void dottedBucketOnAwsHttpsUsesPathStyleBecauseTheCertificateCoversOneLabel() throws Exception {
		assertTrue(config("s3://lab.images.example/fiji").pathStyle());
	}

	@Test
	void plainHttpIsAllowedOnlyToTheConfiguredHost() throws Exception {
		assertEquals(Set.of("127.0.0.1:9000"),
			config("s3://b/p", "AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000").plainHttpHosts());
		assertEquals(Set.of(), config("s3://b/p", "AWS_ENDPOINT_URL_S3", "https://127.0.0.1:9000").plainHttpHosts());
	}

	@Test
	void endpointMustBeAnAddressWithoutPath() {
		assertTrue(refused(withSetting(env("s3://b/p"), "AWS_ENDPOINT_URL_S3", "minio:9000")).getMessage()
			.contains("AWS_ENDPOINT_URL_S3 must be an http(s) address"));
		assertTrue(refused(withSetting(env("s3://b/p"), "AWS_ENDPOINT_URL_S3", "https://gw.example/s3")).getMessage()
			.contains("without a path"));
	}

	@Test
	void linkLifetimeIsBetweenOneSecondAndSevenDays() throws Exception {
		assertEquals(Duration.ofSeconds(1), config("s3://b/p", "QWEN_EDIT_URL_TTL_SECONDS", "1").urlTtl());
		assertEquals(Duration.ofDays(7), config("s3://b/p", "QWEN_EDIT_URL_TTL_SECONDS", "604800").urlTtl());
		for (String ttl : new String[] { "0", "-5", "604801", "ten" }) {
			EditException e = refused(withSetting(env("s3://b/p"), "QWEN_EDIT_URL_TTL_SECONDS", ttl));
			assertEquals(ErrorKind.INVALID_INPUT, e.kind(), ttl);
			assertTrue(e.getMessage().startsWith("QWEN_EDIT_URL_TTL_SECONDS must be"), e.getMessage());
		}
	}

	@Test
	void bucketWithoutCredentialsSaysWhichVariablesToSet() {
		Map<String, String> env = env("s3://lab-images/fiji");
		env.remove("AWS_SECRET_ACCESS_KEY");

		EditException e = refused(env);

		assertEquals(ErrorKind.STAGING, e.kind());
		assertTrue(e.getMessage().contains("s3://lab-images/fiji"), e.getMessage());
		assertTrue(e.getMessage().contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), e.getMessage());
		assertFalse(e.getMessage().contains("AKIDCONFIGTEST"), e.getMessage());
	}

	@Test
	void settingsFileIsReadWhenTheEnvironmentIsSilent() throws Exception {
		Map<String, String> stored = env("s3://from-file/p");
		BucketConfig config = BucketConfig.from(Configuration.of(Map.of("QWEN_EDIT_BUCKET", "s3://from-env/q"), stored))
			.orElseThrow();

		assertEquals("from-env", config.bucket());
		assertEquals("q", config.prefix());
	}

	@Test
	void descriptionShowsNoCredential() throws Exception {
		BucketConfig config = config("s3://lab-images/fiji", "AWS_SESSION_TOKEN", TOKEN);

		String described = config.toString();

		assertTrue(described.contains("s3://lab-images/fiji"), described);
		assertTrue(described.contains("temporary credentials"), described);
		for (String secret : new String[] { SECRET, TOKEN, "AKIDCONFIGTEST" }) {
			assertFalse(described.contains(secret), described);
		}
		assertFalse(config.signer().toString().contains(SECRET));
	}

	@Test
	void objectKeysAreEncodedAsTheSignatureExpects() throws Exception {
		BucketConfig config = config("s3://b/p", "AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000");

		assertEquals("/b/p/a%20b%2Bc%24%C3%A9.png", config.objectUrl("p/a b+c$é.png").encodedPath());
		assertThrows(IllegalArgumentException.class, () -> config.objectUrl("p/../q.png"));
		assertThrows(IllegalArgumentException.class, () -> config.objectUrl("p//q.png"));
	}

	private static Map<String, String> withSetting(Map<String, String> env, String name, String value) {
		env.put(name, value);
		return env;
	}
}
