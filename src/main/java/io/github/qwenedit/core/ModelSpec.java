package io.github.qwenedit.core;

/**
 * What one model of one provider accepts. Validation reads these facts so that a wrong choice is
 * refused before any paid call, with a sentence that says which values are allowed.
 */
public final class ModelSpec {

	public static final String USD = "USD";
	public static final String CNY = "CNY";
	/** A provider's own prepaid unit (PixelDojo), with no dollar value the plugin can know. */
	public static final String CREDIT = "credit";

	private final String id;
	private final int maxOutputs;
	private final SizeRule sizeRule;
	private final boolean negativePrompt;
	private final boolean promptExtend;
	private final boolean watermark;
	private final int maxImages;
	private final double priceAmount;
	private final String priceCurrency;
	private final boolean sizeOnlyWithOneOutput;
	private final long maxImageBytes;
	private final boolean defaultSizeFollowsInput;
	private final boolean selfHosted;
	private final int inputMinSide;

	private ModelSpec(Builder b) {
		this.id = b.id;
		this.maxOutputs = b.maxOutputs;
		this.sizeRule = b.sizeRule;
		this.negativePrompt = b.negativePrompt;
		this.promptExtend = b.promptExtend;
		this.watermark = b.watermark;
		this.maxImages = b.maxImages;
		this.priceAmount = b.priceAmount;
		this.priceCurrency = b.priceCurrency;
		this.sizeOnlyWithOneOutput = b.sizeOnlyWithOneOutput;
		this.maxImageBytes = b.maxImageBytes;
		this.defaultSizeFollowsInput = b.defaultSizeFollowsInput;
		this.selfHosted = b.selfHosted;
		this.inputMinSide = b.inputMinSide;
	}

	private ModelSpec(String id, ModelSpec same) {
		this.id = id;
		this.maxOutputs = same.maxOutputs;
		this.sizeRule = same.sizeRule;
		this.negativePrompt = same.negativePrompt;
		this.promptExtend = same.promptExtend;
		this.watermark = same.watermark;
		this.maxImages = same.maxImages;
		this.priceAmount = same.priceAmount;
		this.priceCurrency = same.priceCurrency;
		this.sizeOnlyWithOneOutput = same.sizeOnlyWithOneOutput;
		this.maxImageBytes = same.maxImageBytes;
		this.defaultSizeFollowsInput = same.defaultSizeFollowsInput;
		this.selfHosted = same.selfHosted;
		this.inputMinSide = same.inputMinSide;
	}

	/** This model's limits and options under another name, such as a file of it on the lab's own server. */
	public ModelSpec named(String otherId) {
		return new ModelSpec(otherId, this);
	}

	/**
	 * The shortest side the cloud models take for an input: DashScope documents 384–3072 px per side
	 * (docs/providers.md §1.3), and the other services pass the images on to the same models.
	 */
	public static final int DEFAULT_INPUT_MIN_SIDE = 384;

	/**
	 * The shortest side an input image is brought to before it is sent; a smaller one is scaled up.
	 * The lab's own ComfyUI takes any size, so its models set a small one and nothing is scaled up
	 * (or stretched) for it.
	 */
	public int inputMinSide() {
		return inputMinSide;
	}

	/** Whether the model runs on the user's own server, where an edit has no price per image. */
	public boolean selfHosted() {
		return selfHosted;
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

	/** List price per output image in US dollars, for estimates; 0 when unknown or listed in another currency. */
	public double pricePerImageUsd() {
		return USD.equals(priceCurrency) ? priceAmount : 0;
	}

	/** List price per output image in {@link #priceCurrency()}; 0 when none is published. */
	public double priceAmount() {
		return priceAmount;
	}

	/** {@link #USD}, {@link #CNY} or {@link #CREDIT}; empty when no price is published. */
	public String priceCurrency() {
		return priceCurrency;
	}

	/** List price of {@code outputs} images, when it is published in US dollars. */
	public java.util.OptionalDouble estimatedCostUsd(int outputs) {
		double usd = pricePerImageUsd();
		return usd > 0 ? java.util.OptionalDouble.of(usd * outputs) : java.util.OptionalDouble.empty();
	}

	/**
	 * List price of {@code outputs} images in US dollars, a price in yuan converted at {@code rate};
	 * empty when no price is published or it is in credits, which have no dollar value.
	 */
	public java.util.OptionalDouble estimatedCostUsd(int outputs, UsdPerCny rate) {
		if (priceAmount <= 0) return java.util.OptionalDouble.empty();
		if (USD.equals(priceCurrency)) return java.util.OptionalDouble.of(priceAmount * outputs);
		if (CNY.equals(priceCurrency)) return java.util.OptionalDouble.of(priceAmount * rate.value() * outputs);
		return java.util.OptionalDouble.empty();
	}

	/**
	 * The estimate of {@code outputs} images for the status bar and the shell, such as "$0.070",
	 * "$0.062 (0.440354 CNY at 0.14 USD per CNY (...))" or "2 credits (no dollar price)".
	 */
	public String describeCost(int outputs, UsdPerCny rate) {
		java.util.OptionalDouble usd = estimatedCostUsd(outputs, rate);
		if (usd.isPresent()) {
			String dollars = String.format(java.util.Locale.ROOT, "$%.3f", usd.getAsDouble());
			if (!pricedInCny()) return dollars;
			return dollars + " (" + java.math.BigDecimal.valueOf(priceAmount).multiply(java.math.BigDecimal.valueOf(outputs))
				.stripTrailingZeros().toPlainString() + " CNY at " + rate.describe() + ")";
		}
		if (CREDIT.equals(priceCurrency) && priceAmount > 0) {
			double credits = priceAmount * outputs;
			return java.math.BigDecimal.valueOf(credits).stripTrailingZeros().toPlainString() +
				(credits == 1 ? " credit" : " credits") + " (no dollar price)";
		}
		if (selfHosted) return "none per image (your own server)";
		return "unknown (no list price for this model)";
	}

	/** Whether an estimate of this model depends on the yuan-to-dollar rate. */
	public boolean pricedInCny() {
		return CNY.equals(priceCurrency) && priceAmount > 0;
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
		private double priceAmount;
		private String priceCurrency = "";
		private boolean sizeOnlyWithOneOutput;
		private long maxImageBytes;
		private boolean defaultSizeFollowsInput = true;
		private boolean selfHosted;
		private int inputMinSide = DEFAULT_INPUT_MIN_SIDE;

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
			return price(value, USD);
		}

		/** A list price per output image in {@link #USD}, {@link #CNY} or {@link #CREDIT}. */
		public Builder price(double amount, String currency) {
			priceAmount = amount;
			priceCurrency = currency;
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

		public Builder inputMinSide(int value) {
			inputMinSide = value;
			return this;
		}

		public Builder selfHosted(boolean value) {
			selfHosted = value;
			return this;
		}

		public ModelSpec build() {
			return new ModelSpec(this);
		}
	}
}
