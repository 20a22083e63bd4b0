package io.github.qwenedit.imagej;

import java.io.File;
import java.util.Map;

import ij.IJ;
import ij.ImagePlus;

/**
 * Fiji running one Edit Images command with an output folder, in a process of its own that a test
 * can kill mid-edit as a crash would. Configured by the environment, as Fiji is.
 * Arguments: image file, output folder, provider, model, instruction.
 */
public final class InteractiveEditProcess {

	private InteractiveEditProcess() {}

	public static void main(String[] args) throws Exception {
		System.setProperty("java.awt.headless", "true");
		ImagePlus image = IJ.openImage(args[0]);
		int code;
		try (EditCommandRunner fiji = new EditCommandRunner(System.getenv())) {
			Map<String, Object> inputs = EditCommandRunner.inputs(image, args[2], args[3], args[4]);
			inputs.put("outputFolder", new File(args[1]));
			EditCommandRunner.Run run = fiji.run(inputs);
			System.out.println(run.failed() ? "failed: " + run.failure() : "done");
			code = run.failed() ? 1 : 0;
		}
		System.exit(code);
	}
}
