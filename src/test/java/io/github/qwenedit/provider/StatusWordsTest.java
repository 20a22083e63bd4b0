package io.github.qwenedit.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;

/** One provider's status words turn into the plugin's states and messages, whatever their case. */
class StatusWordsTest {

	private static final JobHandle JOB = new JobHandle("job-1", "https://example.com/jobs/job-1", null, null);
	private static final JobState DONE = JobState.succeeded(JOB, List.of("https://example.com/out.png"), Map.of());
	private static final StatusWords WORDS = StatusWords.of("Example").queued("starting").running("processing")
		.succeeded("success").failed("failed", "error").cancelled("cancelled").expired("expired").build();

	@ParameterizedTest
	@CsvSource({ "starting,QUEUED", "processing,RUNNING", "PROCESSING,RUNNING", "' success ',SUCCEEDED", "failed,FAILED",
		"Error,FAILED", "cancelled,FAILED", "expired,FAILED" })
	void everyWordHasItsState(String word, JobState.Status expected) throws EditException {
		assertEquals(expected, WORDS.read(JOB, word, () -> DONE, null).status());
	}

	@Test
	void aQueuedJobKeepsItsPlaceInTheQueueAndOnlyQueuedOrRunningWordsAreUnfinished() throws EditException {
		assertEquals(3, WORDS.read(JOB, "starting", 3, () -> DONE, null).queuePosition().orElseThrow());
		assertTrue(WORDS.unfinished("Starting") && WORDS.unfinished("processing"));
		assertTrue(!WORDS.unfinished("success") && !WORDS.unfinished("failed") && !WORDS.unfinished("exploded") &&
			!WORDS.unfinished(null));
	}

	@Test
	void successIsBuiltByTheProvider() throws EditException {
		assertSame(DONE, WORDS.read(JOB, "success", () -> DONE, null));
	}

	@Test
	void failuresSayTheWordAndTheProvidersExplanation() throws EditException {
		EditException failed = WORDS.read(JOB, "error", () -> DONE, "out of memory").error().orElseThrow();
		assertEquals(ErrorKind.PROVIDER_FAILURE, failed.kind());
		assertEquals("Example reports that the edit failed (status \"error\"). Example said: out of memory",
			failed.getMessage());
		EditException cancelled = WORDS.read(JOB, "cancelled", () -> DONE, null).error().orElseThrow();
		assertEquals(ErrorKind.CANCELLED, cancelled.kind());
		assertTrue(cancelled.getMessage().contains("no result"), cancelled.getMessage());
		EditException expired = WORDS.read(JOB, "expired", () -> DONE, "  ").error().orElseThrow();
		assertEquals(ErrorKind.PROVIDER_FAILURE, expired.kind());
		assertTrue(expired.getMessage().endsWith("Run the edit again."), expired.getMessage());
	}

	/**
	 * An unknown word, or none (a gateway's 200 with an error body), says nothing of the job: it is a
	 * status that cannot be read, which ends the polling, not the job's failure.
	 */
	@Test
	void anUnknownOrMissingWordIsAStatusThatCannotBeRead() {
		EditException odd = assertThrows(EditException.class, () -> WORDS.read(JOB, "exploded", () -> DONE, null));
		assertEquals(ErrorKind.PROVIDER_FAILURE, odd.kind());
		assertTrue(odd.getMessage().contains("\"exploded\""), odd.getMessage());
		assertTrue(assertThrows(EditException.class, () -> WORDS.read(JOB, null, () -> DONE, null)).getMessage()
			.contains("\"none\""));
	}

	@Test
	void aWordCannotHaveTwoMeanings() {
		assertThrows(IllegalArgumentException.class, () -> StatusWords.of("Example").failed("done").succeeded("Done"));
	}
}
