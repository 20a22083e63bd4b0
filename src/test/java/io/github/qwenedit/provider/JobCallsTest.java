package io.github.qwenedit.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.github.qwenedit.http.Json;
import okhttp3.HttpUrl;

/** The shared readings of job answers: whose links get the key, and where the output links are. */
class JobCallsTest {

	@ParameterizedTest
	@CsvSource({
		"https://api.eachlabs.ai/, https://api.eachlabs.ai/v1/prediction/1/cancel, true",
		"https://pixeldojo.ai/, https://www.pixeldojo.ai/api/v1/jobs/1, true",
		"https://api.eachlabs.ai/, https://eachlabs.ai/v1/prediction/1/cancel, true",
		"https://pixeldojo.ai/, https://pixeldojo.ai.evil.example/api/v1/jobs/1, false",
		"https://pixeldojo.ai/, https://evilpixeldojo.ai/api/v1/jobs/1, false",
		"https://api.eachlabs.ai/, https://cdn.eachlabs.ai/x, false",
		"http://127.0.0.1:4000/, http://127.0.0.1:5000/jobs/1, true",
		"http://127.0.0.1:4000/, http://localhost:4000/jobs/1, false",
		"http://10.0.0.1:4000/, http://0.10.0.0.1:4000/jobs/1, false",
		"https://pixeldojo.ai/, not a link, false" })
	void theKeyGoesOnlyToTheConfiguredService(String base, String link, boolean trusted) {
		assertEquals(trusted, JobCalls.onConfiguredHost(HttpUrl.get(base), link).isPresent(), link);
	}

	@Test
	void outputLinksComeInThreeShapes() throws Exception {
		assertEquals(List.of("https://a/1.png"), JobCalls.links(Json.MAPPER.readTree("\"https://a/1.png\"")));
		assertEquals(List.of("https://a/1.png", "https://a/2.png"),
			JobCalls.links(Json.MAPPER.readTree("[\"https://a/1.png\", {\"url\": \"https://a/2.png\"}]")));
		assertTrue(JobCalls.links(Json.MAPPER.readTree("null")).isEmpty());
		assertTrue(JobCalls.links(null).isEmpty());
	}
}
