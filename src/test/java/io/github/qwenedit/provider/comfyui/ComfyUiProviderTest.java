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

	@Test
	void anAuthHeaderWithoutANameIsRefusedWithoutShowingIt() {
		EditException e = assertThrows(EditException.class, () -> new ComfyUiProvider("http://127.0.0.1:8188",
			"Bearer only-a-token-4c1a"));
		assertEquals(ErrorKind.UNAUTHORIZED, e.kind());
		assertTrue(e.getMessage().contains("COMFYUI_AUTH_HEADER") && !e.getMessage().contains("only-a-token-4c1a"),
			e.getMessage());
	}
}
