package io.github.qwenedit.imagej;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.prefs.Preferences;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.fixtures.TestImages;

/**
 * The test suite remembers dialog values as Fiji does, through Java's preferences; they must land in
 * the build folder, not in the preferences the user's own Fiji reads (under their home folder).
 */
class TestPreferencesTest {

	@Test
	void valuesTheCommandsRememberAreWrittenInsideTheBuildFolder() throws Exception {
		Path root = Path.of(System.getProperty("java.util.prefs.userRoot", System.getProperty("user.home")))
			.toAbsolutePath().normalize();
		assertTrue(root.startsWith(Path.of("target").toAbsolutePath()), "Java preferences of the tests live in " + root);
		String key = "sk-prefs-test-3333";
		try (DashScopeEmulator dashscope = new DashScopeEmulator(key);
			EditCommandRunner runner = new EditCommandRunner(Map.of("DASHSCOPE_API_KEY", key, "DASHSCOPE_BASE_URL",
				dashscope.baseUrl())))
		{
			Map<String, Object> inputs = EditCommandRunner.inputs(TestImages.pattern("prefs.tif", 64, 64),
				"dashscope", "qwen-image-2.0", "remember me");
			inputs.put("seed", "4242");
			assertFalse(runner.run(inputs).failed());
		}
		Preferences.userRoot().flush();
		try (Stream<Path> files = Files.walk(root)) {
			assertTrue(files.anyMatch(p -> p.toString().contains("io/github/qwenedit")), "remembered values under " + root);
		}
	}
}
