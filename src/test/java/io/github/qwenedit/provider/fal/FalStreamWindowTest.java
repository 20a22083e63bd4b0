package io.github.qwenedit.provider.fal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.provider.JobPoller;
import okhttp3.HttpUrl;

/** A job that outlasts one status stream: the stream is opened again at once, and the progress shown stays fresh. */
class FalStreamWindowTest {

	@Test
	void aLongJobIsFollowedThroughSuccessiveStreamsWithoutPolling() throws Exception {
		try (FalEmulator fal = new FalEmulator("k").processingDelay(Duration.ofMillis(1600))) {
			FalProvider provider = new FalProvider(fal.baseUrl(), fal.baseUrl(), fal.baseUrl(), "k", Duration.ofMillis(400));
			BufferedImage image = new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB);
			ByteArrayOutputStream png = new ByteArrayOutputStream();
			ImageIO.write(image, "png", png);
			EditRequest request = new EditRequest(List.of(InputImage.png(png.toByteArray(), 64, 48, "in")), "x",
				EditOptions.builder("fal-ai/qwen-image-2/edit").build());
			// The emulator reads data URIs too, which spares a server for the input here.
			String input = "data:image/png;base64," + Base64.getEncoder().encodeToString(png.toByteArray());
			Http http = new Http(RetryPolicy.DEFAULT, new Cancellation(), Deadline.after(Duration.ofSeconds(30)),
				Set.of(Http.hostKey(HttpUrl.get(fal.baseUrl()))));
			List<String> progress = new ArrayList<>();
			JobState state = JobPoller.awaitFinal(provider, provider.submit(request, List.of(input), http), http,
				(message, fraction) -> progress.add(message));
			assertEquals(JobState.Status.SUCCEEDED, state.status(), String.valueOf(state.error()));
			assertEquals(1, state.outputUrls().size());
			String job = "/fal-ai/qwen-image-2/requests/" + fal.lastJob().id;
			assertTrue(fal.requestCount(job + "/status/stream") >= 3, "streams: " + fal.requestCount(job + "/status/stream"));
			assertEquals(0, fal.requestCount(job + "/status"), "polled although the streams worked");
			assertTrue(progress.size() >= 3, "progress was not refreshed between streams: " + progress);
		}
	}
}
