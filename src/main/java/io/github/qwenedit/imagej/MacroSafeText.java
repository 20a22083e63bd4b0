package io.github.qwenedit.imagej;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;

/**
 * Free text typed into the dialog is recorded into a macro option string such as
 * {@code negativeprompt=[...] instruction=[...]}. ImageJ reads an option by finding the first
 * {@code key=} not preceded by a letter, and a value in brackets ends at the first unmatched
 * {@code ]}. Text that would replay differently from what was typed is refused before any call.
 */
final class MacroSafeText {

	/**
	 * Option keys recorded after the negative prompt: both Edit Images and its batch record the
	 * instruction last (see the README's macro lines).
	 */
	private static final List<String> KEYS_AFTER_NEGATIVE_PROMPT = List.of("instruction");

	private MacroSafeText() {}

	/** The free text of both recorded edit commands, checked before any call. */
	static void checkInstructionAndNegativePrompt(String instruction, String negativePrompt) throws EditException {
		check("negative prompt", negativePrompt == null ? "" : negativePrompt, KEYS_AFTER_NEGATIVE_PROMPT);
		check("instruction", instruction == null ? "" : instruction, List.of());
	}

	/**
	 * @param label the field's name as the dialog shows it
	 * @param laterKeys the (lower-case) option keys recorded after this field; a {@code key=} among
	 *          them inside the text would take their place on replay
	 */
	static void check(String label, String text, List<String> laterKeys) throws EditException {
		int depth = 0;
		for (int i = 0; i < text.length(); i++) {
			char c = text.charAt(i);
			if (c == '[') depth++;
			else if (c == ']' && --depth < 0) break;
		}
		if (depth != 0) {
			throw new EditException(ErrorKind.INVALID_INPUT, "The " + label + " has unbalanced square brackets [ ]; " +
				"a recorded macro would cut it short. Close every [ with a ] or remove them.");
		}
		if (!text.contains(" ") && text.startsWith("'")) {
			throw new EditException(ErrorKind.INVALID_INPUT, "The " + label + " is one word in single quotes; a " +
				"recorded macro would drop the quotes. Add a word or remove the quotes.");
		}
		for (String key : laterKeys) {
			Matcher m = Pattern.compile("(?<![A-Za-z])" + Pattern.quote(key) + "=", Pattern.CASE_INSENSITIVE).matcher(text);
			if (m.find()) {
				throw new EditException(ErrorKind.INVALID_INPUT, "The " + label + " contains \"" + m.group() +
					"\", which a recorded macro would read as the '" + key + "' option. Put a space before the = sign.");
			}
		}
	}
}
