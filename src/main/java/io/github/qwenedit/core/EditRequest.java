package io.github.qwenedit.core;

import java.util.Collections;
import java.util.List;
import java.util.Objects;

/** What the user asked for: 1–3 images (the first is "image 1"), an instruction and the options. */
public final class EditRequest {

	public static final int MAX_IMAGES = 3;

	private final List<InputImage> images;
	private final String instruction;
	private final EditOptions options;

	public EditRequest(List<InputImage> images, String instruction, EditOptions options) {
		this.images = Collections.unmodifiableList(List.copyOf(images));
		this.instruction = instruction == null ? "" : instruction;
		this.options = Objects.requireNonNull(options, "options");
	}

	public List<InputImage> images() {
		return images;
	}

	public String instruction() {
		return instruction;
	}

	public EditOptions options() {
		return options;
	}

	public EditRequest withImages(List<InputImage> newImages) {
		return new EditRequest(newImages, instruction, options);
	}
}
