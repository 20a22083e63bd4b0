package io.github.qwenedit.engine;

import java.util.List;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.OptionText;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.registry.ProviderRegistry;
import io.github.qwenedit.staging.StagingChoice;

/**
 * What the user asked of an edit or a batch, read once from what they typed (the Edit Images
 * dialog, its batch, a recorded macro line or the shell command): the provider, the instruction,
 * the options and how the images reach the provider. Text that cannot be read is refused with one
 * sentence before any image is read or anything is sent. Ranges that depend on the model (size,
 * seed, number of outputs) are checked by {@link io.github.qwenedit.core.RequestValidator} when the
 * edit runs, against the model's own limits. {@link Editing} runs it. Immutable.
 */
public final class EditSpecification {

	private final ProviderDescriptor provider;
	private final String instruction;
	private final EditOptions options;
	private final StagingChoice staging;

	private EditSpecification(ProviderDescriptor provider, String instruction, EditOptions options,
		StagingChoice staging)
	{
		this.provider = provider;
		this.instruction = instruction;
		this.options = options;
		this.staging = staging;
	}

	/** What the user typed for the provider {@code providerId}; everything else has its default until given. */
	public static Text of(String providerId) {
		return new Text(providerId);
	}

	public ProviderDescriptor provider() {
		return provider;
	}

	/** Empty when none was given. */
	public String instruction() {
		return instruction;
	}

	public EditOptions options() {
		return options;
	}

	public StagingChoice staging() {
		return staging;
	}

	/**
	 * Refuses image 3 without image 2: it would reach the model as its image 2, where the instruction
	 * speaks of image 3. Each front end names the two as its user knows them.
	 */
	public static void requireImage2ForImage3(boolean image2Given, boolean image3Given, String image2, String image3)
		throws EditException
	{
		if (image3Given && !image2Given) {
			throw new EditException(ErrorKind.INVALID_INPUT, image3 + " needs " + image2 + " as well.");
		}
	}

	/** The request of one edit of {@code images} (image 1 first). */
	public EditRequest request(List<InputImage> images) {
		return new EditRequest(images, instruction, options);
	}

	/** The user's input as text, before it is read. */
	public static final class Text {
		private final String provider;
		private String model;
		private String instruction = "";
		private String negativePrompt = "";
		private String size;
		private String seed;
		private int outputs = 1;
		private boolean promptExtend = true;
		private boolean watermark;
		private String staging;

		private Text(String provider) {
			this.provider = provider;
		}

		/** The model's id; none means the provider's default model. */
		public Text model(String id) {
			model = id;
			return this;
		}

		public Text instruction(String text) {
			instruction = text == null ? "" : text;
			return this;
		}

		public Text negativePrompt(String text) {
			negativePrompt = text == null ? "" : text;
			return this;
		}

		/** {@code width*height}, or {@value OptionText#AS_INPUT} (or nothing) to leave it to the model. */
		public Text size(String text) {
			size = text;
			return this;
		}

		/** A whole number, or {@value OptionText#RANDOM_SEED} (or nothing) for a random seed. */
		public Text seed(String text) {
			seed = text;
			return this;
		}

		public Text outputs(int count) {
			outputs = count;
			return this;
		}

		public Text promptExtend(boolean on) {
			promptExtend = on;
			return this;
		}

		public Text watermark(boolean on) {
			watermark = on;
			return this;
		}

		/** {@code auto}, {@code bucket}, {@code inline} or {@code provider_upload}; nothing means auto. */
		public Text staging(String text) {
			staging = text;
			return this;
		}

		/**
		 * The specification, or the first problem of what was typed as one sentence: an unknown
		 * provider, a seed that is no whole number, a size that is not {@code width*height}, an
		 * unknown staging route.
		 */
		public EditSpecification parse() throws EditException {
			ProviderDescriptor descriptor = ProviderRegistry.get(provider);
			Long seedNumber = OptionText.seed(seed).orElse(null);
			ImageSize outputSize = OptionText.size(size).orElse(null);
			StagingChoice route = StagingChoice.parse(staging);
			EditOptions options = EditOptions.builder(model == null ? descriptor.defaultModel() : model)
				.size(outputSize)
				.outputs(outputs)
				.seed(seedNumber)
				.negativePrompt(negativePrompt)
				.promptExtend(promptExtend)
				.watermark(watermark)
				.build();
			return new EditSpecification(descriptor, instruction, options, route);
		}
	}
}
