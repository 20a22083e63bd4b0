package io.github.qwenedit.imagej;

import java.awt.Rectangle;
import java.awt.Robot;
import java.awt.image.BufferedImage;
import java.io.File;
import java.util.Map;

import javax.imageio.ImageIO;

import ij.IJ;
import ij.ImageJ;
import ij.ImagePlus;
import ij.WindowManager;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.fixtures.TestImages;

/**
 * A real ImageJ 1.x session on a real display: opens an image, runs Edit Images against the
 * DashScope emulator, and checks that the results open as windows with their titles and
 * provenance. Prints one line per check, saves a screenshot, and exits 0 only if all passed.
 * {@link ResultWindowsTest} runs it in its own JVM under a display.
 */
public final class ResultWindowsDemo {

	private ResultWindowsDemo() {}

	public static void main(String[] args) throws Exception {
		File screenshot = new File(args[0]);
		int failures = 0;
		ImageJ ij = new ImageJ();
		String key = "sk-window-test-3c4d";
		try (DashScopeEmulator dashscope = new DashScopeEmulator(key);
			EditCommandRunner runner = new EditCommandRunner(Map.of("DASHSCOPE_API_KEY", key, "DASHSCOPE_BASE_URL",
				dashscope.baseUrl())))
		{
			ImagePlus source = TestImages.pattern("cells.tif", 480, 400);
			source.show();
			IJ.wait(300);
			Map<String, Object> in = EditCommandRunner.inputs(source, "dashscope", "qwen-image-2.0", "render as a watercolour");
			in.put("outputs", 2);
			EditCommandRunner.Run run = runner.run(in);
			failures += check(!run.failed(), "the edit succeeded: " + run.failure());
			for (int i = 1; i <= 2; i++) {
				String title = "AI-edit " + i + " of cells.tif";
				ImagePlus window = null;
				for (int tries = 0; tries < 100 && window == null; tries++) {
					window = WindowManager.getImage(title);
					if (window == null) IJ.wait(50);
				}
				failures += check(window != null && window.getWindow() != null && window.getWindow().isShowing(),
					"a window titled '" + title + "' is showing");
				if (window != null) {
					failures += check("qwen-image-2.0".equals(window.getProp(Provenance.MODEL)), "'" + title + "' carries its model");
					failures += check(String.valueOf(window.getProperty("Info")).startsWith("AI-generated image"),
						"'" + title + "' says it is AI-generated in its Info");
				}
			}
			failures += check(WindowManager.getImageCount() == 3, "exactly the source and two results are open, not " +
				WindowManager.getImageCount());
			tile(source);
			IJ.wait(500);
			Rectangle screen = new Rectangle(java.awt.Toolkit.getDefaultToolkit().getScreenSize());
			BufferedImage shot = new Robot().createScreenCapture(screen);
			screenshot.getParentFile().mkdirs();
			ImageIO.write(shot, "png", screenshot);
			failures += check(screenshot.isFile(), "screenshot saved to " + screenshot);
		}
		finally {
			ij.exitWhenQuitting(false);
		}
		System.out.println(failures == 0 ? "ALL CHECKS PASSED" : failures + " CHECKS FAILED");
		System.exit(failures == 0 ? 0 : 1);
	}

	private static void tile(ImagePlus source) {
		int x = 10;
		for (int id : WindowManager.getIDList()) {
			ImagePlus imp = WindowManager.getImage(id);
			if (imp.getWindow() != null) {
				imp.getWindow().setLocation(x, 120);
				x += imp.getWindow().getWidth() + 10;
			}
		}
	}

	private static int check(boolean ok, String what) {
		System.out.println((ok ? "ok: " : "FAILED: ") + what);
		return ok ? 0 : 1;
	}
}
