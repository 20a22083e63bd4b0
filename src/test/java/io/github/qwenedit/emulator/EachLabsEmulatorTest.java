package io.github.qwenedit.emulator;

import static io.github.qwenedit.fixtures.PngBytes.smallPngDataUri;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/** The emulator enforces eachlabs' limits: 10 predictions in flight and 100 creates a minute per key. */
class EachLabsEmulatorTest {

	private static final String KEY = "el-key";
	private final OkHttpClient client = new OkHttpClient.Builder().callTimeout(10, TimeUnit.SECONDS).build();

	private int create(EachLabsEmulator emulator, String image) throws Exception {
		String body = "{\"model\":\"" + EachLabsEmulator.MODEL + "\",\"version\":\"0.0.1\",\"input\":{\"prompt\":\"x\"," +
			"\"image_urls\":[\"" + image + "\"]}}";
		Request request = new Request.Builder().url(emulator.baseUrl() + "/v1/prediction/").header("X-API-Key", KEY)
			.post(RequestBody.create(body, MediaType.get("application/json"))).build();
		try (Response response = client.newCall(request).execute()) {
			return response.code();
		}
	}

	@Test
	void theEleventhPredictionInFlightIsRefused() throws Exception {
		try (EachLabsEmulator emulator = new EachLabsEmulator(KEY).jobsNeverFinish()) {
			String image = smallPngDataUri();
			for (int i = 0; i < EachLabsEmulator.MAX_CONCURRENT; i++) {
				assertEquals(200, create(emulator, image));
			}
			assertEquals(429, create(emulator, image));
			assertEquals(EachLabsEmulator.MAX_CONCURRENT, emulator.maxConcurrentObserved());
		}
	}

	@Test
	void theHundredAndFirstCreateInAMinuteIsRefused() throws Exception {
		try (EachLabsEmulator emulator = new EachLabsEmulator(KEY)) {
			String image = smallPngDataUri();
			int accepted = 0;
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(50);
			while (accepted < EachLabsEmulator.MAX_CREATES_PER_MINUTE && System.nanoTime() < until) {
				int code = create(emulator, image);
				if (code == 200) accepted++;
				else Thread.sleep(5); // 10 in flight: wait for jobs to finish
			}
			assertEquals(EachLabsEmulator.MAX_CREATES_PER_MINUTE, accepted);
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
			while (emulator.jobs().stream().anyMatch(j -> !j.isFinal()) && System.nanoTime() < deadline) {
				Thread.sleep(5);
			}
			assertEquals(429, create(emulator, image));
			assertTrue(emulator.maxConcurrentObserved() <= EachLabsEmulator.MAX_CONCURRENT);
		}
	}
}
