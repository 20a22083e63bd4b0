package io.github.qwenedit.core;

import java.util.Objects;
import java.util.Optional;

/** The user's choices for one edit, other than the images and the instruction. Immutable. */
public final class EditOptions {

	private final String model;
	private final ImageSize size;
	private final int outputs;
	private final String negativePrompt;
	private final Long seed;
	private final boolean promptExtend;
	private final boolean watermark;

	private EditOptions(Builder b) {
		this.model = Objects.requireNonNull(b.model, "model");
		this.size = b.size;
		this.outputs = b.outputs;
		this.negativePrompt = b.negativePrompt == null ? "" : b.negativePrompt;
		this.seed = b.seed;
		this.promptExtend = b.promptExtend;
		this.watermark = b.watermark;
	}

	public static Builder builder(String model) {
		return new Builder(model);
	}

	public Builder toBuilder() {
		return new Builder(model).size(size).outputs(outputs).negativePrompt(negativePrompt).seed(seed)
			.promptExtend(promptExtend).watermark(watermark);
	}

	public String model() {
		return model;
	}

	/** Empty means "as the input image": the provider decides. */
	public Optional<ImageSize> size() {
		return Optional.ofNullable(size);
	}

	public int outputs() {
		return outputs;
	}

	/** Empty string when none was given. */
	public String negativePrompt() {
		return negativePrompt;
	}

	/** Empty means a random seed chosen by the provider. */
	public Optional<Long> seed() {
		return Optional.ofNullable(seed);
	}

	public boolean promptExtend() {
		return promptExtend;
	}

	public boolean watermark() {
		return watermark;
	}

	public static final class Builder {
		private String model;
		private ImageSize size;
		private int outputs = 1;
		private String negativePrompt = "";
		private Long seed;
		private boolean promptExtend = true;
		private boolean watermark;

		private Builder(String model) {
			this.model = model;
		}

		public Builder model(String value) {
			this.model = value;
			return this;
		}

		public Builder size(ImageSize value) {
			this.size = value;
			return this;
		}

		public Builder outputs(int value) {
			this.outputs = value;
			return this;
		}

		public Builder negativePrompt(String value) {
			this.negativePrompt = value;
			return this;
		}

		public Builder seed(Long value) {
			this.seed = value;
			return this;
		}

		public Builder promptExtend(boolean value) {
			this.promptExtend = value;
			return this;
		}

		public Builder watermark(boolean value) {
			this.watermark = value;
			return this;
		}

		public EditOptions build() {
			return new EditOptions(this);
		}
	}
}
