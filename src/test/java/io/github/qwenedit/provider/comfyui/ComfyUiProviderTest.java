package io.github.qwenedit.provider.comfyui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.emulator.ComfyUiEmulator;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.RetryPolicy;

/** What the provider does with a job of another server, and with the auth header's shape. */
class ComfyUiProviderTest {

	@Test
	void aJobQueuedOnAnotherServerIsNotAskedOfThisOneAndNamesWhereItIs() throws Exception {
		try (ComfyUiEmulator now = new ComfyUiEmulator(); ComfyUiEmulator before = new ComfyUiEmulator()) {
			ComfyUiProvider provider = new ComfyUiProvider(now.baseUrl(), null);
			JobHandle job = new JobHandle("0b7f5a9e-1c2d-4e3f-8a9b-0c1d2e3f4a5b", before.baseUrl() + "/history/" +
				"0b7f5a9e-1c2d-4e3f-8a9b-0c1d2e3f4a5b", null, null);
			Http http = new Http(RetryPolicy.DEFAULT, new Cancellation(), Deadline.after(Duration.ofSeconds(10)),
				Set.of("127.0.0.1:" + java.net.URI.create(now.baseUrl()).getPort()));
			EditException e = assertThrows(EditException.class, () -> provider.poll(job, http));
			assertEquals(ErrorKind.INVALID_INPUT, e.kind());
			assertTrue(e.getMessage().contains("set COMFYUI_BASE_URL to " + before.baseUrl() + "/"), e.getMessage());
			assertEquals(0, now.requests().size(), "the other server was asked about the job");
		}
	}

	/**
	 * An answer to /history that is not a history (a proxy's JSON page, an array) was taken for "the
	 * server does not hold the prompt": a prompt that had run was reported lost, dropped from the
	 * journal and queued again by the next run. It is a reply that cannot be read, which the poller
	 * asks again and a journal keeps; only ComfyUI's own {} means the prompt is not there.
	 */
	@Test
	void aHistoryAnswerThatIsNoHistoryIsUnreadableNotAPromptLost() throws Exception {
		String id = "5d0c6f1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f";
		java.util.concurrent.atomic.AtomicReference<String> history = new java.util.concurrent.atomic.AtomicReference<>();
		com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
			new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
		server.createContext("/", exchange -> {
			String path = exchange.getRequestURI().getPath();
			byte[] body = (path.startsWith("/history/") ? history.get()
				: "{\"queue_running\": [], \"queue_pending\": []}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
			exchange.getResponseHeaders().add("Content-Type", "application/json");
			exchange.sendResponseHeaders(200, body.length);
			exchange.getResponseBody().write(body);
			exchange.close();
		});
		server.start();
		try {
			String base = "http://127.0.0.1:" + server.getAddress().getPort();
			ComfyUiProvider provider = new ComfyUiProvider(base, null);
			JobHandle job = new JobHandle(id, base + "/history/" + id, null, null);
			Http http = new Http(new RetryPolicy(1, Duration.ZERO, Duration.ZERO), new Cancellation(),
				Deadline.after(Duration.ofSeconds(10)), Set.of("127.0.0.1:" + server.getAddress().getPort()));
			for (String odd : new String[] { "[1, 2, 3]", "{\"error\": \"log in first\"}", "{\"" + id + "\": 7}" }) {
				history.set(odd);
				EditException e = assertThrows(EditException.class, () -> provider.poll(job, http), odd);
				assertEquals(ErrorKind.PROVIDER_FAILURE, e.kind(), odd);
			}
			history.set("{}");
			assertEquals(io.github.qwenedit.core.JobState.Status.FAILED, provider.poll(job, http).status(),
				"ComfyUI's own answer for a prompt it does not hold");
		}
		finally {
			server.stop(0);
		}
	}

	@Test
	void anAuthHeaderWithoutANameIsRefusedWithoutShowingIt() {
		EditException e = assertThrows(EditException.class, () -> new ComfyUiProvider("http://127.0.0.1:8188",
			"Bearer only-a-token-4c1a"));
		assertEquals(ErrorKind.UNAUTHORIZED, e.kind());
		assertTrue(e.getMessage().contains("COMFYUI_AUTH_HEADER") && !e.getMessage().contains("only-a-token-4c1a"),
			e.getMessage());
	}
}
