package io.github.qwenedit.core;

/**
 * The checks every request passes before any network call, so that a mistake costs nothing and
 * the message says what to change.
 */
public final class RequestValidator {

	public static final int MAX_INSTRUCTION_CHARS = 800;
	public static final int MAX_NEGATIVE_PROMPT_CHARS = 500;
	public static final long MAX_SEED = 2147483647L;

	private RequestValidator() {}

	public static void validate(EditRequest request, ModelSpec model) throws EditException {
		int images = request.images().size();
		if (images == 0) {
			throw invalid("No image to edit: open an image and make it the active window.");
		}
		if (images > model.maxImages()) {
			throw invalid(model.id() + " takes at most " + model.maxImages() + (model.maxImages() == 1 ? " image" : " images") +
				", but " + images + " were given: remove " + (images - model.maxImages()) + ".");
		}
		validateInstructionAndOptions(request.instruction(), request.options(), model);
	}

	/**
	 * The checks of {@link #validate} that do not depend on the images: a batch makes them once,
	 * before it asks to start, for the instruction and options every one of its edits sends.
	 */
	public static void validateInstructionAndOptions(String requested, EditOptions options, ModelSpec model)
		throws EditException
	{
		String instruction = requested == null ? "" : requested.strip();
		if (instruction.isEmpty()) {
			throw invalid("The instruction is empty: describe the edit, for example \"remove the scale bar\".");
		}
		int length = instruction.codePointCount(0, instruction.length());
		if (length > MAX_INSTRUCTION_CHARS) {
			throw invalid("The instruction has " + length + " characters; the limit is " + MAX_INSTRUCTION_CHARS +
				". Shorten it by " + (length - MAX_INSTRUCTION_CHARS) + ".");
		}
		String negative = options.negativePrompt();
		int negativeLength = negative.codePointCount(0, negative.length());
		if (negativeLength > MAX_NEGATIVE_PROMPT_CHARS) {
			throw invalid("The negative prompt has " + negativeLength + " characters; the limit is " +
				MAX_NEGATIVE_PROMPT_CHARS + ".");
		}
		if (!negative.isBlank() && !model.supportsNegativePrompt()) {
			throw invalid(model.id() + " does not take a negative prompt: leave it empty or choose another model.");
		}
		if (options.outputs() < 1 || options.outputs() > model.maxOutputs()) {
			throw invalid(model.maxOutputs() == 1 ? model.id() + " makes exactly 1 image per edit; set outputs to 1."
				: "The number of outputs must be between 1 and " + model.maxOutputs() + " for " + model.id() +
					" (it was " + options.outputs() + ").");
		}
		if (options.seed().isPresent()) {
			long seed = options.seed().get();
			if (seed < 0 || seed > MAX_SEED) {
				throw invalid("The seed must be between 0 and " + MAX_SEED + " (it was " + seed +
					"); use -1 or leave it empty for a random seed.");
			}
		}
		if (options.size().isPresent()) {
			model.sizeRule().check(model.id(), options.size().get());
			if (model.sizeOnlyWithOneOutput() && options.outputs() > 1) {
				throw invalid(model.id() + " takes a custom size only with 1 output: set outputs to 1, or the size to " +
					"'as input'.");
			}
		}
		if (options.watermark() && !model.supportsWatermark()) {
			throw invalid(model.id() + " cannot add a watermark: untick 'watermark' or choose another provider.");
		}
	}

	private static EditException invalid(String message) {
		return new EditException(ErrorKind.INVALID_INPUT, message);
	}
}
