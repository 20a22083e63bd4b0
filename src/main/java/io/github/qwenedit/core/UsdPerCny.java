package io.github.qwenedit.core;

import java.util.Locale;
import java.util.Optional;

/**
 * The rate at which list prices in yuan (DashScope's, by region) become the dollar estimates the
 * plugin shows. It is the user's to set: exchange rates move, and the default is only a round
 * figure, dated, so that every estimate can say which rate it used.
 */
public final class UsdPerCny {

	public static final String VARIABLE = "QWEN_EDIT_USD_PER_CNY";
	/** About 7.1 yuan to the dollar, the order of the 2025 rates; a round value, not a live quote. */
	public static final double DEFAULT_VALUE = 0.14;
	public static final String DEFAULT_TAKEN = "2026-12-05";
	public static final UsdPerCny DEFAULT = new UsdPerCny(DEFAULT_VALUE, false);

	private final double value;
	private final boolean configured;

	private UsdPerCny(double value, boolean configured) {
		this.value = value;
		this.configured = configured;
	}

	/** The configured rate, or the default; a value that is no positive number is refused before anything is sent. */
	public static UsdPerCny from(Configuration config) throws EditException {
		Optional<String> text = config.get(VARIABLE);
		if (!text.isPresent()) return DEFAULT;
		try {
			double v = Double.parseDouble(text.get());
			if (v > 0 && !Double.isInfinite(v)) return new UsdPerCny(v, true);
		}
		catch (NumberFormatException e) {
			// told below, in the same sentence as a zero or negative rate
		}
		throw new EditException(ErrorKind.INVALID_INPUT, VARIABLE + " must be a positive number of US dollars per " +
			"yuan, such as " + DEFAULT_VALUE + ", not \"" + text.get() + "\".");
	}

	public double value() {
		return value;
	}

	/** For the status bar and provenance, such as "0.14 USD per CNY (default of 2026-12-05)". */
	public String describe() {
		return String.format(Locale.ROOT, "%s USD per CNY (%s)", plain(value),
			configured ? "set in " + VARIABLE : "default of " + DEFAULT_TAKEN + ", set " + VARIABLE + " to change it");
	}

	private static String plain(double v) {
		return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
	}
}
