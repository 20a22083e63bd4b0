package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.EditException;

class MacroSafeTextTest {

	@Test
	void balancedBracketsQuotesAndNewlinesAreKept() {
		assertDoesNotThrow(() -> MacroSafeText.check("instruction",
			"put [the cell [from image 2]] into \"image 1\",\nkeep x=5 as is", List.of()));
	}

	@Test
	void unbalancedBracketsAreRefused() {
		EditException e = assertThrows(EditException.class, () -> MacroSafeText.check("instruction", "remove ] this", List.of()));
		assertTrue(e.getMessage().contains("unbalanced"));
		assertThrows(EditException.class, () -> MacroSafeText.check("instruction", "[open", List.of()));
	}

	@Test
	void aLaterKeyInsideTheTextIsRefused() {
		EditException e = assertThrows(EditException.class,
			() -> MacroSafeText.check("negative prompt", "blurry instruction=[paint it red]", List.of("instruction")));
		assertTrue(e.getMessage().contains("instruction="));
		// Preceded by a letter, ImageJ does not read it as the key.
		assertDoesNotThrow(() -> MacroSafeText.check("negative prompt", "noinstruction=1", List.of("instruction")));
	}
}
