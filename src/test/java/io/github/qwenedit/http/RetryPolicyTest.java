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

	/** Odd values neither loop tightly nor outlast every deadline (nor overflow a long). */
	@Test
	void retryAfterIsHeldBetweenOneSecondAndOneHour() {
		Duration hour = RetryPolicy.LONGEST_RETRY_AFTER;
		Duration second = RetryPolicy.SHORTEST_RETRY_AFTER;
		assertEquals(Duration.ofHours(1), hour);
		assertEquals(Duration.ofSeconds(1), second);
		assertEquals(Optional.of(hour), RetryPolicy.parseRetryAfter("999999"));
		assertEquals(Optional.of(hour), RetryPolicy.parseRetryAfter("Infinity"));
		assertEquals(Optional.of(hour), RetryPolicy.parseRetryAfter("1e308"));
		assertEquals(Optional.of(second), RetryPolicy.parseRetryAfter("-5"));
		assertEquals(Optional.of(second), RetryPolicy.parseRetryAfter("-Infinity"));
		assertEquals(Optional.of(second), RetryPolicy.parseRetryAfter("0"));
		assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter("NaN"));
		String aYearAhead = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusYears(1));
		assertEquals(Optional.of(hour), RetryPolicy.parseRetryAfter(aYearAhead));
		String aYearAgo = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).minusYears(1));
		assertEquals(Optional.of(second), RetryPolicy.parseRetryAfter(aYearAgo));
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
