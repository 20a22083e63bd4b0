package io.github.qwenedit.core;

/**
 * What one model of one provider accepts. Validation reads these facts so that a wrong choice is
 * refused before any paid call, with a sentence that says which values are allowed.
 */
public final class ModelSpec {

	private final String id;
	private final int maxOutputs;
	private final SizeRule sizeRule;
	private final boolean negativePrompt;
	private final boolean promptExtend;
	private final boolean watermark;
	private final int maxImages;
	private final double pricePerImageUsd;
	private final boolean sizeOnlyWithOneOutput;
	private final long maxImageBytes;
	private final boolean defaultSizeFollowsInput;

	private ModelSpec(Builder b) {
		this.id = b.id;
		this.maxOutputs = b.maxOutputs;
		this.sizeRule = b.sizeRule;
		this.negativePrompt = b.negativePrompt;
		this.promptExtend = b.promptExtend;
		this.watermark = b.watermark;
		this.maxImages = b.maxImages;
		this.pricePerImageUsd = b.pricePerImageUsd;
		this.sizeOnlyWithOneOutput = b.sizeOnlyWithOneOutput;
		this.maxImageBytes = b.maxImageBytes;
		this.defaultSizeFollowsInput = b.defaultSizeFollowsInput;
	}

	public static Builder builder(String id) {
		return new Builder(id);
	}

	public String id() {
		return id;
	}

	public int maxOutputs() {
		return maxOutputs;
	}

	public SizeRule sizeRule() {
		return sizeRule;
	}

	public boolean supportsNegativePrompt() {
		return negativePrompt;
	}

	public boolean supportsPromptExtend() {
		return promptExtend;
	}

	public boolean supportsWatermark() {
		return watermark;
	}

	public int maxImages() {
		return maxImages;
	}

	/** List price per output image in US dollars, for estimates; 0 when unknown. */
	public double pricePerImageUsd() {
		return pricePerImageUsd;
	}

	/** List price of {@code outputs} images, when the price is known. */
	public java.util.OptionalDouble estimatedCostUsd(int outputs) {
		return pricePerImageUsd > 0 ? java.util.OptionalDouble.of(pricePerImageUsd * outputs) : java.util.OptionalDouble.empty();
	}

	/** Some model versions refuse a custom size together with more than one output. */
	public boolean sizeOnlyWithOneOutput() {
		return sizeOnlyWithOneOutput;
	}

	/**
	 * The largest file the provider takes for each input image, whatever route it travels; 0 when the
	 * provider documents no such limit.
	 */
	public long maxImageBytes() {
		return maxImageBytes;
	}

	/**
	 * Whether the model, asked for no size, answers at the input's size. When it does not (fal's
	 * qwen-image-edit-plus falls back to a 1024×1024 square), "as input" must be sent as a size.
	 */
	public boolean defaultSizeFollowsInput() {
		return defaultSizeFollowsInput;
	}

	public static final class Builder {
		private final String id;
		private int maxOutputs = 1;
		private SizeRule sizeRule = SizeRule.notCustomisable();
		private boolean negativePrompt = true;
		private boolean promptExtend = true;
		private boolean watermark = true;
		private int maxImages = EditRequest.MAX_IMAGES;
		private double pricePerImageUsd;
		private boolean sizeOnlyWithOneOutput;
		private long maxImageBytes;
		private boolean defaultSizeFollowsInput = true;

		private Builder(String id) {
			this.id = id;
		}

		public Builder maxOutputs(int value) {
			maxOutputs = value;
			return this;
		}

		public Builder sizeRule(SizeRule value) {
			sizeRule = value;
			return this;
		}

		public Builder negativePrompt(boolean value) {
			negativePrompt = value;
			return this;
		}

		public Builder promptExtend(boolean value) {
			promptExtend = value;
			return this;
		}

		public Builder watermark(boolean value) {
			watermark = value;
			return this;
		}

		public Builder maxImages(int value) {
			maxImages = value;
			return this;
		}

		public Builder pricePerImageUsd(double value) {
			pricePerImageUsd = value;
			return this;
		}

		public Builder sizeOnlyWithOneOutput(boolean value) {
			sizeOnlyWithOneOutput = value;
			return this;
		}

		public Builder maxImageBytes(long value) {
			maxImageBytes = value;
			return this;
		}

		public Builder defaultSizeFollowsInput(boolean value) {
			defaultSizeFollowsInput = value;
			return this;
		}

		public ModelSpec build() {
			return new ModelSpec(this);
		}
	}
}
