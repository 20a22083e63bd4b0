package io.github.qwenedit.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.fixtures.PngBytes;

import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/** The emulator holds PixelDojo's contract: the key, a schema without unknown fields, and a rate limit. */
class PixelDojoEmulatorTest {

	private static final String KEY = "pd_emulator_key";
	private final OkHttpClient client = new OkHttpClient.Builder().callTimeout(10, TimeUnit.SECONDS).build();

	private Response run(PixelDojoEmulator emulator, String key, String extraField) throws Exception {
		String body = "{\"prompt\":\"x\",\"image\":[\"" + PngBytes.smallPngDataUri() + "\"]" + extraField + "}";
		Request request = new Request.Builder().url(emulator.baseUrl() + PixelDojoEmulator.RUN_PATH)
			.header("Authorization", "Bearer " + key).post(RequestBody.create(body, MediaType.get("application/json")))
			.build();
		return client.newCall(request).execute();
	}

	@Test
	void documentedFieldsAreAcceptedAndUnknownOnesRefused() throws Exception {
		try (PixelDojoEmulator emulator = new PixelDojoEmulator(KEY)) {
			try (Response ok = run(emulator, KEY, ",\"model\":\"qwen-image-2.0-pro\",\"n\":1,\"seed\":3,\"size\":\"1024*1024\"")) {
				assertEquals(202, ok.code());
			}
			// The page's own example sends aspect_ratio, which this model's schema does not have (docs/providers.md §3.2).
			try (Response refused = run(emulator, KEY, ",\"aspect_ratio\":\"1:1\"")) {
				assertEquals(422, refused.code());
				assertTrue(refused.body().string().contains("aspect_ratio"));
			}
			try (Response wrongKey = run(emulator, "pd_other", "")) {
				assertEquals(401, wrongKey.code());
			}
			assertEquals(1, emulator.jobs().size());
		}
	}

	@Test
	void requestsBeyondTheRateLimitAreRefusedWithRetryAfter() throws Exception {
		try (PixelDojoEmulator emulator = new PixelDojoEmulator(KEY).rateLimit(2, Duration.ofMinutes(1))) {
			for (int i = 0; i < 2; i++) {
				try (Response ok = run(emulator, KEY, "")) {
					assertEquals(202, ok.code());
				}
			}
			try (Response limited = run(emulator, KEY, "")) {
				assertEquals(429, limited.code());
				assertNotNull(limited.header("Retry-After"));
				assertTrue(Integer.parseInt(limited.header("Retry-After")) >= 1);
				assertEquals("2", limited.header("X-RateLimit-Limit"));
			}
			assertEquals(1, emulator.rateLimitedCount());
			assertEquals(2, emulator.jobs().size());
		}
	}
}
