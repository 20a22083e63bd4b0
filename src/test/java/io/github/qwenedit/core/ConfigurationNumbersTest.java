package io.github.qwenedit.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;

import org.junit.jupiter.api.Test;

/** A whole-number setting says what is wrong with a value in words that fit it. */
class ConfigurationNumbersTest {

	private static EditException refusal(String value) {
		Configuration config = Configuration.of(Map.of(Configuration.DOWNLOAD_CAP_MB, value));
		return assertThrows(EditException.class, () -> config.getInt(Configuration.DOWNLOAD_CAP_MB, 64));
	}

	@Test
	void aWholeNumberTooLargeIsCalledTooLargeNotANonNumber() {
		assertEquals(Configuration.DOWNLOAD_CAP_MB + " is too large: \"99999999999\" is over the largest value it can " +
			"take, 2147483647.", refusal("99999999999").getMessage());
	}

	@Test
	void somethingElseIsCalledNotAWholeNumber() {
		assertEquals(Configuration.DOWNLOAD_CAP_MB + " must be a whole number, not \"1.5\".", refusal("1.5").getMessage());
		assertEquals(ErrorKind.INVALID_INPUT, refusal("abc").kind());
	}

	@Test
	void spacesAroundANumberAreNoError() throws EditException {
		assertEquals(12, Configuration.of(Map.of(Configuration.DOWNLOAD_CAP_MB, " 12 ")).getInt(Configuration.DOWNLOAD_CAP_MB,
			64));
	}
}
