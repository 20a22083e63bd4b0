package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.scijava.module.Module;

import ij.ImagePlus;
import io.github.qwenedit.emulator.ComfyUiEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;

/**
 * The sampler's steps of a ComfyUI prompt, read from the server's WebSocket, reach Fiji's status bar
 * while the server works; a server without the WebSocket, or one whose socket drops mid-run, is
 * followed by polling as before, and the outcome always comes from the history.
 */
class ComfyUiProgressTest {

	private static final Pattern STEP = Pattern.compile("ComfyUI: step (\\d+) of (\\d+)");

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	private final ComfyUiEmulator comfy = bed.serve(new ComfyUiEmulator().processingDelay(Duration.ofSeconds(3)));
	private final ImagePlus cells = pattern("cells.tif", 320, 240);

	private Map<String, String> env() {
		Map<String, String> env = new HashMap<>();
		env.put("COMFYUI_BASE_URL", comfy.baseUrl());
		return env;
	}

	private Map<String, Object> inputs() {
		return EditCommandRunner.inputs(cells, "comfyui", "qwen-image-edit-2509", "remove the scale bar");
	}

	private static List<Integer> stepsShown(EditCommandRunner runner) {
		return runner.statusLines().stream().map(STEP::matcher).filter(Matcher::find).map(m -> {
			assertEquals("20", m.group(2), "the steps in all are the sampler's");
			return Integer.valueOf(m.group(1));
		}).distinct().collect(Collectors.toList());
	}

	@Test
	void theSamplersStepsAreShownInTheStatusBarWhileTheServerWorks() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs());
			assertFalse(run.failed(), run.failure());
			assertEquals(List.of(comfy.lastPrompt().clientId), comfy.socketClients(),
				"no WebSocket was opened under the prompt's client_id");
			List<Integer> steps = stepsShown(runner);
			assertTrue(steps.size() >= 3, "too few steps reached the status bar: " + runner.statusLines());
			for (int i = 1; i < steps.size(); i++) {
				assertTrue(steps.get(i) > steps.get(i - 1), "the steps went backwards: " + steps);
			}
			assertTrue(comfy.inHistory(comfy.lastPrompt().id));
			// The queue is asked only while the socket has not yet said that the prompt started: once at most,
			// however long it runs.
			assertTrue(comfy.requestCount("/queue") <= 1, "the queue was polled although the socket told how the prompt " +
				"ran: " + comfy.requestCount("/queue") + " times");
			assertTrue(comfy.requestCount("/history/" + comfy.lastPrompt().id) >= 1, "the outcome was not read from the history");
			assertEquals(1, run.results().size());
		}
	}

	@Test
	void aServerWithoutTheWebSocketIsFollowedByPollingAndCompletes() throws Exception {
		comfy.withoutWebSocket().processingDelay(Duration.ofMillis(800));
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			EditCommandRunner.Run run = runner.run(inputs());
			assertFalse(run.failed(), run.failure());
			assertEquals(1, run.results().size());
			assertTrue(comfy.requestCount("/ws") >= 1, "the WebSocket was never asked for");
			assertTrue(comfy.socketClients().isEmpty());
			assertTrue(stepsShown(runner).isEmpty(), runner.statusLines().toString());
			assertTrue(comfy.requestCount("/queue") >= 1, "the prompt was not followed through the queue");
		}
	}

	@Test
	void aSocketThatDropsMidRunLeavesThePromptToPollingAndItCompletes() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(env())) {
			Future<Module> running = runner.start(inputs());
			await(() -> !stepsShown(runner).isEmpty(), "a step is shown");
			int queueLooksBefore = comfy.requestCount("/queue");
			comfy.dropWebSockets();
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(60, TimeUnit.SECONDS));
			assertFalse(run.failed(), run.failure());
			assertEquals(1, run.results().size());
			assertEquals(1, comfy.prompts().size(), "the edit was queued again");
			assertTrue(comfy.requestCount("/queue") > queueLooksBefore, "the queue was not polled once the socket dropped");
		}
	}

	private static void await(BooleanSupplier condition, String what) throws InterruptedException {
		long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
		while (!condition.getAsBoolean()) {
			assertTrue(System.nanoTime() < until, "timed out waiting until " + what);
			Thread.sleep(20);
		}
	}
}
