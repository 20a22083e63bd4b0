package io.github.qwenedit.imagej;

import java.io.File;
import java.util.Map;

import org.scijava.Cancelable;
import org.scijava.module.Module;

import ij.IJ;
import ij.ImagePlus;
import io.github.qwenedit.fixtures.BatchTestData;

/**
 * Fiji running Edit Images (Batch) over every plane of a stack opened from a TIFF, in a process of
 * its own that a test can kill halfway as a crash would. Configured by the environment, as Fiji is.
 * Arguments: stack file, output folder, provider, model, instruction.
 */
public final class BatchCommandProcess {

	private BatchCommandProcess() {}

	public static void main(String[] args) throws Exception {
		System.setProperty("java.awt.headless", "true");
		ImagePlus stack = IJ.openImage(args[0]);
		int code;
		try (EditCommandRunner fiji = new EditCommandRunner(System.getenv())) {
			Module batch = fiji.runCommand(EditImagesBatchCommand.class, stackInputs(stack, new File(args[1]), args[2],
				args[3], args[4]));
			code = ((EditImagesBatchCommand) batch.getDelegateObject()).exitCode();
			System.out.println(code == 0 ? "done" : "failed: " + ((Cancelable) batch).getCancelReason());
		}
		System.exit(code);
	}

	/** The inputs of a batch over every plane of {@code stack}, assembled into a stack of results. */
	public static Map<String, Object> stackInputs(ImagePlus stack, File output, String provider, String model,
		String instruction)
	{
		Map<String, Object> inputs = BatchTestData.batchInputsWithDefaultOptions();
		inputs.put("batchSource", EditImagesBatchCommand.ACTIVE_STACK);
		inputs.put("image", stack);
		inputs.put("outputFolder", output);
		inputs.put("provider", provider);
		inputs.put("model", model);
		inputs.put("concurrency", 10);
		inputs.put("maxCost", 0.0);
		inputs.put("assembleStack", true);
		inputs.put("instruction", instruction);
		return inputs;
	}
}
