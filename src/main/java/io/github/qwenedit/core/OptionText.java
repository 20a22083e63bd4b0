package io.github.qwenedit.core;

import java.util.Optional;

/**
 * The options a user types as text, read the same way by every front end: the Edit Images dialog,
 * the batch command and the shell command, and the macro lines that replay the first two. Ranges
 * are checked once, for every front end, by {@link RequestValidator}.
 */
public final class OptionText {

	/** The size that leaves the output size to the model (the size of the last input, mostly). */
	public static final String AS_INPUT = "as input";

	/** The seed that lets the provider choose one. */
	public static final String RANDOM_SEED = "-1";

	private OptionText() {}

	/** A seed, or empty for a random one ({@value #RANDOM_SEED} or nothing). */
	public static Optional<Long> seed(String text) throws EditException {
		if (text == null || text.isBlank() || text.trim().equals(RANDOM_SEED)) return Optional.empty();
		try {
			return Optional.of(Long.parseLong(text.trim()));
		}
		catch (NumberFormatException e) {
			throw new EditException(ErrorKind.INVALID_INPUT, "The seed must be a whole number between 0 and " +
				RequestValidator.MAX_SEED + ", or " + RANDOM_SEED + " for a random seed (it was \"" + text.trim() + "\").");
		}
	}

	/** A size written {@code width*height}, or empty for {@value #AS_INPUT} (or nothing). */
	public static Optional<ImageSize> size(String text) throws EditException {
		if (text == null || text.isBlank() || text.trim().equalsIgnoreCase(AS_INPUT)) return Optional.empty();
		return Optional.of(ImageSize.parse(text.trim()));
	}
}
