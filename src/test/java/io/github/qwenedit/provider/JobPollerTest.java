package io.github.qwenedit.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class JobPollerTest {

	@Test
	void looksEveryHalfSecondForAMinuteThenBacksOffToFiveSeconds() {
		assertEquals(Duration.ofMillis(500), JobPoller.next(JobPoller.FIRST_LOOK, Duration.ofSeconds(1)));
		assertEquals(Duration.ofMillis(500), JobPoller.next(Duration.ofMillis(500), Duration.ofSeconds(59)));
		assertEquals(Duration.ofMillis(750), JobPoller.next(Duration.ofMillis(500), Duration.ofSeconds(61)));
		Duration interval = Duration.ofMillis(500);
		for (int i = 0; i < 20; i++) {
			interval = JobPoller.next(interval, Duration.ofMinutes(2));
		}
		assertEquals(Duration.ofSeconds(5), interval);
	}
}
