package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import ij.ImagePlus;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.PixelDojoEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;

/**
 * How often the plugin asks a provider about a running job, counted by the emulators: within
 * PixelDojo's request limit, and, for an edit like one done before, few requests that still notice
 * the end soon.
 */
class PollScheduleEditTest {

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	/**
	 * PixelDojo documents 60 requests a minute per key: one edit polled every half second would be
	 * twice that, 13 status requests in 6.5 s.
	 */
	@Test
	void pixelDojoIsAskedAboutAJobAtMostEveryTwoSeconds() throws Exception {
		try (PixelDojoEmulator pixeldojo = new PixelDojoEmulator("pd-key").credits(10)
			.processingDelay(Duration.ofMillis(6500)))
		{
			Map<String, String> env = bed.env("PIXELDOJO_API_KEY", "pd-key", "PIXELDOJO_BASE_URL", pixeldojo);
			// Three outputs: a kind of edit no other test runs, so nothing was learned about it yet.
			Map<String, Object> in = EditCommandRunner.inputs(pattern("cells.tif", 480, 400), "pixeldojo", "qwen-image-2.0",
				"remove the scale bar");
			in.put("outputs", 3);
			try (EditCommandRunner runner = new EditCommandRunner(env)) {
				EditCommandRunner.Run run = runner.run(in);
				assertFalse(run.failed(), run.failure());
				assertEquals(3, run.results().size());
			}
			long statusRequests = pixeldojo.requestCount("/api/v1/jobs/" + pixeldojo.lastJob().id);
			assertTrue(statusRequests >= 1 && statusRequests <= 4, statusRequests + " status requests in 6.5 s");
			assertEquals(0, pixeldojo.rateLimitedCount());
		}
	}

	/**
	 * Later edits of the same kind are looked at within the span in which the earlier one ended, more
	 * closely each time: the third is seen done with fewer status requests than the half-second
	 * polling of the first.
	 */
	@Test
	void anEditLikeAnEarlierOneIsFollowedWithFewerStatusRequests() throws Exception {
		try (EachLabsEmulator eachlabs = new EachLabsEmulator("el-key").processingDelay(Duration.ofMillis(2250))) {
			Map<String, String> env = bed.env("EACHLABS_API_KEY", "el-key", "EACHLABS_BASE_URL", eachlabs);
			ImagePlus cells = pattern("cells.tif", 480, 400);
			long[] statusRequests = new long[3];
			try (EditCommandRunner runner = new EditCommandRunner(env)) {
				for (int i = 0; i < 3; i++) {
					Map<String, Object> in = EditCommandRunner.inputs(cells, "eachlabs", EachLabsEmulator.MODEL, "x");
					in.put("outputs", 5); // a kind of edit no other test runs
					EditCommandRunner.Run run = runner.run(in);
					assertFalse(run.failed(), run.failure());
					statusRequests[i] = eachlabs.requestCount("/v1/prediction/" + eachlabs.lastJob().id);
				}
			}
			assertTrue(statusRequests[0] >= 4, "first edit: " + statusRequests[0] + " status requests");
			assertTrue(statusRequests[2] <= 3 && statusRequests[2] < statusRequests[0],
				"third edit: " + statusRequests[2] + " status requests, second " + statusRequests[1] + ", first " +
					statusRequests[0]);
		}
	}
}
