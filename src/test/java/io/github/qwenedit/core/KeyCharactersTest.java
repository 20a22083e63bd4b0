package io.github.qwenedit.core;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A key or header that cannot travel is refused naming where, never what, of the secret. */
class KeyCharactersTest {

	@Test
	void aPastedInvisibleCharacterIsNamedAndAVisibleOneOnlyPlaced() {
		EditException invisible = assertThrows(EditException.class, () -> Configuration.checkSendableInHeader("SOME_KEY",
			"sk-abc\u200bdef"));
		assertTrue(invisible.getMessage().contains("U+200B, an invisible one, at position 7 of 10"),
			invisible.getMessage());

		EditException visible = assertThrows(EditException.class, () -> Configuration.checkSendableInHeader(
			"COMFYUI_AUTH_HEADER", "Authorization: Basic p\u00e4ssw\u00d6rd"));
		assertTrue(visible.getMessage().contains("one that is not plain ASCII at position 23 of"), visible.getMessage());
		assertFalse(visible.getMessage().contains("U+00E4") || visible.getMessage().contains("\u00e4") ||
			visible.getMessage().contains("ssw"), "a part of the secret was shown: " + visible.getMessage());

		assertDoesNotThrow(() -> Configuration.checkSendableInHeader("SOME_KEY", "sk-plain\tascii"));
	}
}
