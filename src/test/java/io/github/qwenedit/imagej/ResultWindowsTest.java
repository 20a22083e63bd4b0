package io.github.qwenedit.imagej;

import io.github.qwenedit.ChildJvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * The results open as real windows in a real ImageJ 1.x under a display: $DISPLAY when there is
 * one, else an Xvfb this test starts (install it with {@code apt-get install xvfb}).
 */
class ResultWindowsTest {

	@Test
	void resultsOpenAsWindowsWithTheirTitlesAndProvenance() throws Exception {
		Path screenshot = Path.of("target", "screenshots", "result-windows.png");
		Files.deleteIfExists(screenshot);
		Process xvfb = null;
		String display = System.getenv("DISPLAY");
		try {
			if (display == null || display.isBlank()) {
				display = ":" + (90 + (int) (ProcessHandle.current().pid() % 100));
				xvfb = startXvfb(display);
			}
			ProcessBuilder pb = new ProcessBuilder(ChildJvm.JAVA, ChildJvm.PREFERENCES,
				"-Djava.awt.headless=false", "-cp", System.getProperty("java.class.path"), ResultWindowsDemo.class.getName(),
				screenshot.toString()).redirectErrorStream(true);
			pb.environment().put("DISPLAY", display);
			Process demo = pb.start();
			boolean finished = demo.waitFor(120, TimeUnit.SECONDS);
			String printed = new String(demo.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
			if (!finished) {
				demo.destroyForcibly();
				fail("ImageJ did not finish within 2 minutes:\n" + printed);
			}
			assertEquals(0, demo.exitValue(), printed);
			assertTrue(printed.contains("ALL CHECKS PASSED"), printed);
			assertTrue(Files.size(screenshot) > 1000, "no screenshot");
		}
		finally {
			if (xvfb != null) {
				xvfb.destroy();
				xvfb.waitFor(10, TimeUnit.SECONDS);
			}
		}
	}

	private static Process startXvfb(String display) throws IOException, InterruptedException {
		Process xvfb;
		try {
			xvfb = new ProcessBuilder("Xvfb", display, "-screen", "0", "1280x720x24", "-nolisten", "tcp")
				.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
		}
		catch (IOException e) {
			fail("This test needs a display: set DISPLAY, or install Xvfb (apt-get install xvfb). " + e.getMessage());
			return null;
		}
		Path socket = Path.of("/tmp/.X11-unix/X" + display.substring(1));
		for (int i = 0; i < 100 && !Files.exists(socket); i++) {
			Thread.sleep(50);
		}
		if (!xvfb.isAlive()) fail("Xvfb could not start on " + display + " (exit " + xvfb.exitValue() + ")");
		return xvfb;
	}
}
