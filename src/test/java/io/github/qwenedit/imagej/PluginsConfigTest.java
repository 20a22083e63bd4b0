package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** ImageJ 1.x reads plugins.config from the jar root to build the submenu and its help entry. */
class PluginsConfigTest {

	@Test
	void isPackagedAtTheRootWithASeparatorAndAHelpEntry() throws IOException, ClassNotFoundException {
		List<String> entries = new ArrayList<>();
		try (InputStream in = PluginsConfigTest.class.getResourceAsStream("/plugins.config")) {
			assertNotNull(in, "plugins.config is not on the class path root");
			for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
				if (!line.isBlank() && !line.startsWith("#")) entries.add(line.trim());
			}
		}
		assertEquals(2, entries.size());
		for (String entry : entries) {
			assertTrue(entry.startsWith("Plugins>Qwen Image Edit, \""), entry);
		}
		assertTrue(entries.get(0).contains("\"-\""), "the first entry must be the separator that creates the submenu");
		String help = entries.get(1);
		assertTrue(help.contains("ij.plugin.BrowserLauncher(\"https://"), help);
		Class.forName("ij.plugin.BrowserLauncher");
	}
}
