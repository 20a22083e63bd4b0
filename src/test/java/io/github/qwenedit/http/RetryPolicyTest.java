package io.github.qwenedit.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class RetryPolicyTest {

	@Test
	void retryAfterInSecondsOrAsHttpDate() {
		assertEquals(Optional.of(Duration.ofSeconds(7)), RetryPolicy.parseRetryAfter("7"));
		String inAMinute = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(60));
		long seconds = RetryPolicy.parseRetryAfter(inAMinute).get().getSeconds();
		assertTrue(seconds > 50 && seconds <= 60, "seconds " + seconds);
		assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter("soon"));
		assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter(null));
	}

	@Test
	void backOffGrowsWithJitterUpToTheCap() {
		RetryPolicy p = new RetryPolicy(10, Duration.ofMillis(100), Duration.ofMillis(800));
		for (int i = 0; i < 50; i++) {
			long first = p.delayAfter(1, Optional.empty()).toMillis();
			long fifth = p.delayAfter(5, Optional.empty()).toMillis();
			assertTrue(first >= 50 && first <= 100, "first " + first);
			assertTrue(fifth >= 400 && fifth <= 800, "fifth " + fifth);
		}
		assertEquals(Duration.ofSeconds(3), p.delayAfter(1, Optional.of(Duration.ofSeconds(3))));
	}
}
