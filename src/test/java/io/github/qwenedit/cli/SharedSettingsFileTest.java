package io.github.qwenedit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ij.io.FileSaver;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.SettingsStore;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.fixtures.TestImages;

/**
 * A key written into the plain settings file, which other users of the machine may read, is not
 * used: the edit stops before any call with a sentence naming the setting and the file (never the
 * key), and entering the key again through the settings store moves it to the owner-only file.
 */
class SharedSettingsFileTest {

	private static final String KEY = "sk-shared-file-5e2b";

	@TempDir
	Path work;

	@Test
	void aKeyInTheWorldReadableSettingsFileIsNotUsed() throws Exception {
		try (DashScopeEmulator dashscope = new DashScopeEmulator(KEY)) {
			Path config = Files.createDirectories(work.resolve("config"));
			Path shared = config.resolve(Configuration.SETTINGS_FILE);
			Files.writeString(shared, "DASHSCOPE_API_KEY=" + KEY + "\nDASHSCOPE_BASE_URL=" + dashscope.baseUrl()
				.replace(":", "\\:") + "\n");
			Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rw-r--r--"));
			Path in = Files.createDirectories(work.resolve("in"));
			new FileSaver(TestImages.pattern("cell", 400, 400)).saveAsTiff(in.resolve("cell.tif").toString());
			String[] args = { "--provider", "dashscope", "--instruction", "remove the scale bar", "--output",
				work.resolve("out").toString(), in.toString() };

			Outcome refused = QwenEditCliRunner.run(Map.of(), config, args);
			assertEquals(2, refused.code(), refused.out() + refused.err());
			assertTrue(refused.err().contains("DASHSCOPE_API_KEY in " + shared + " is not used, because other users can " +
				"read that file"), refused.err());
			assertFalse((refused.out() + refused.err()).contains(KEY), "the key was shown");
			assertEquals(0, dashscope.requests().size(), "a call was made with the key from the shared file");

			// With the key in the environment as well the edit runs, and the exposed copy is pointed out.
			Outcome warned = QwenEditCliRunner.run(Map.of("DASHSCOPE_API_KEY", KEY), config, args);
			assertEquals(0, warned.code(), warned.out() + warned.err());
			assertTrue(warned.err().contains("DASHSCOPE_API_KEY in " + shared + " not used, because other users can read " +
				"that file: remove that line"), warned.err());
			assertFalse((warned.out() + warned.err()).contains(KEY), "the key was shown");

			new SettingsStore(config).update(Map.of("DASHSCOPE_API_KEY", KEY));
			assertFalse(Files.readString(shared).contains("DASHSCOPE_API_KEY"), "the stray copy stayed in the shared file");
			assertTrue(Files.readString(shared).contains("DASHSCOPE_BASE_URL"), "a plain setting was lost");
			args[5] = work.resolve("out-after-settings").toString();
			Outcome edited = QwenEditCliRunner.run(Map.of(), config, args);
			assertEquals(0, edited.code(), edited.out() + edited.err());
			assertEquals(2, dashscope.edits().size());
			assertFalse(edited.err().contains("not used"), edited.err());
		}
	}
}
