package io.github.qwenedit.provider;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.Cancellation;

/**
 * The provider counts a request when it arrives: a place granted in the window and used only later
 * (a journal entry written to disk in between) must count from when the request goes out, or the
 * next request is let through too early and refused with 429.
 */
class RequestWindowTest {

	private static final Duration WINDOW = Duration.ofMillis(400);
	private static final Duration BETWEEN_GRANT_AND_SEND = Duration.ofMillis(300);

	@Test
	void aPlaceCountsFromWhenItsRequestGoesOutNotFromItsGrant() throws Exception {
		RequestWindow oneAtATime = new RequestWindow(1, WINDOW);
		Cancellation cancellation = new Cancellation();
		RequestWindow.Place first = oneAtATime.acquire(cancellation);
		Thread.sleep(BETWEEN_GRANT_AND_SEND.toMillis());
		long sent = System.nanoTime();
		first.sendingNow();
		oneAtATime.acquire(cancellation);
		Duration afterTheSend = Duration.ofNanos(System.nanoTime() - sent);
		// Waits only ever come out longer on a busy machine, so a lower bound holds there too.
		assertTrue(afterTheSend.compareTo(WINDOW) >= 0, "the next request went out " + afterTheSend.toMillis() +
			" ms after the first, inside the provider's window of " + WINDOW.toMillis() + " ms");
	}
}
