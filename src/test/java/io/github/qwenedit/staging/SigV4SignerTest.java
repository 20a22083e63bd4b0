package io.github.qwenedit.staging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.Hashing;
import okhttp3.HttpUrl;

/**
 * Reproduces AWS's published examples from the S3 API reference: "Signature Calculations for the
 * Authorization Header: Transferring Payload in a Single Chunk" and "Authenticating Requests: Using
 * Query Parameters".
 */
class SigV4SignerTest {

	private static final Instant MAY_24_2013 = Instant.parse("2013-05-24T00:00:00Z");
	private static final SigV4Signer EXAMPLE = new SigV4Signer("AKIAIOSFODNN7EXAMPLE",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", Optional.empty(), "us-east-1");

	private static HttpUrl url(String pathAndQuery) {
		return HttpUrl.get("https://examplebucket.s3.amazonaws.com" + pathAndQuery);
	}

	/** A GET without body, as AWS's examples sign it: with the hash of the empty payload. */
	private static SigV4Signer.Signed exampleGet(String pathAndQuery, Map<String, String> headers) {
		return EXAMPLE.signHeaders("GET", url(pathAndQuery), headers, SigV4Signer.EMPTY_PAYLOAD_SHA256, MAY_24_2013);
	}

	@Test
	void getObjectWithRangeMatchesAwsExample() {
		SigV4Signer.Signed signed = exampleGet("/test.txt", Map.of("Range", "bytes=0-9 "));

		assertEquals("GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n" +
			"x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n" +
			"x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" +
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", signed.canonicalRequest);
		assertEquals("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" +
			"7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972", signed.stringToSign);
		assertEquals("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", signed.signature);
	}

	@Test
	void authorizationHeaderIsSpelledAsAwsShowsIt() {
		Map<String, String> headers = EXAMPLE.authorizationHeaders("GET", url("/test.txt"), Map.of("Range", "bytes=0-9"),
			SigV4Signer.EMPTY_PAYLOAD_SHA256, MAY_24_2013);

		assertEquals("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
			"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
			"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", headers.get("Authorization"));
		assertEquals("20130524T000000Z", headers.get("x-amz-date"));
		assertEquals(SigV4Signer.EMPTY_PAYLOAD_SHA256, headers.get("x-amz-content-sha256"));
		assertFalse(headers.containsKey("x-amz-security-token"));
	}

	@Test
	void putObjectWithSignedPayloadMatchesAwsExample() {
		byte[] body = "Welcome to Amazon S3.".getBytes(StandardCharsets.UTF_8);
		Map<String, String> headers = new LinkedHashMap<>();
		headers.put("Date", "Fri, 24 May 2013 00:00:00 GMT");
		headers.put("x-amz-storage-class", "REDUCED_REDUNDANCY");

		SigV4Signer.Signed signed = EXAMPLE.signHeaders("PUT", url("/test$file.text"), headers,
			Hashing.sha256Hex(body), MAY_24_2013);

		assertEquals("PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n" +
			"host:examplebucket.s3.amazonaws.com\n" +
			"x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n" +
			"x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n" +
			"date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" +
			"44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", signed.canonicalRequest);
		assertEquals("98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd", signed.signature);
	}

	@Test
	void getBucketLifecycleSignsAnEmptyQueryValue() {
		SigV4Signer.Signed signed = exampleGet("/?lifecycle", Map.of());

		assertEquals("lifecycle=", signed.canonicalQuery);
		assertEquals("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543", signed.signature);
	}

	@Test
	void listObjectsSortsTheQueryParameters() {
		SigV4Signer.Signed signed = exampleGet("/?max-keys=2&prefix=J", Map.of());

		assertEquals("max-keys=2&prefix=J", signed.canonicalQuery);
		assertEquals("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", signed.signature);
	}

	@Test
	void presignedGetMatchesAwsExample() {
		SigV4Signer.Signed signed = EXAMPLE.signQuery("GET", url("/test.txt"), Duration.ofSeconds(86400), MAY_24_2013);

		assertEquals("GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256" +
			"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
			"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n" +
			"host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD", signed.canonicalRequest);
		assertEquals("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", signed.signature);

		assertEquals("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
			"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
			"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
			"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
			EXAMPLE.presignedUrl("GET", url("/test.txt"), Duration.ofSeconds(86400), MAY_24_2013));
	}

	@Test
	void sessionTokenIsSignedInTheHeaderAndInTheQuery() {
		SigV4Signer withToken = new SigV4Signer("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			Optional.of("FwoGZXIvYXdzE+token/value=="), "us-east-1");

		Map<String, String> headers = withToken.authorizationHeaders("GET", url("/test.txt"), Map.of(),
			SigV4Signer.EMPTY_PAYLOAD_SHA256, MAY_24_2013);
		assertEquals("FwoGZXIvYXdzE+token/value==", headers.get("x-amz-security-token"));
		assertTrue(headers.get("Authorization").contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;" +
			"x-amz-security-token,"), headers.get("Authorization"));

		String link = withToken.presignedUrl("GET", url("/test.txt"), Duration.ofMinutes(15), MAY_24_2013);
		assertTrue(link.contains("&X-Amz-Security-Token=FwoGZXIvYXdzE%2Btoken%2Fvalue%3D%3D&"), link);
		assertFalse(link.contains("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
			"the token must change the signature");
	}

	@Test
	void pathIsEncodedOnceSegmentBySegmentKeepingSlashes() {
		HttpUrl url = HttpUrl.get("http://127.0.0.1:9000/bucket/a%20b/c+d/%C3%A9~x.png");

		assertEquals("/bucket/a%20b/c%2Bd/%C3%A9~x.png", SigV4Signer.canonicalUri(url));
		assertEquals("127.0.0.1:9000", SigV4Signer.hostHeader(url));
		assertEquals("/", SigV4Signer.canonicalUri(HttpUrl.get("https://b.s3.amazonaws.com")));
	}

	@Test
	void presignedLifetimeIsBetweenOneSecondAndSevenDays() {
		assertThrows(IllegalArgumentException.class,
			() -> EXAMPLE.presignedUrl("GET", url("/x"), Duration.ofDays(7).plusSeconds(1), MAY_24_2013));
		assertThrows(IllegalArgumentException.class,
			() -> EXAMPLE.presignedUrl("GET", url("/x"), Duration.ZERO, MAY_24_2013));
		assertTrue(EXAMPLE.presignedUrl("GET", url("/x"), Duration.ofDays(7), MAY_24_2013).contains("X-Amz-Expires=604800"));
	}

	@Test
	void describingTheSignerRevealsNoSecret() {
		assertFalse(EXAMPLE.toString().contains("wJalrXUtnFEMI"));
		assertFalse(EXAMPLE.toString().contains("AKIAIOSFODNN7EXAMPLE"));
	}
}
