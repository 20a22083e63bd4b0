package io.github.qwenedit.core;

import java.util.Collections;
import java.util.List;

/** The downloaded images and the provenance that applies to all of them. */
public final class EditResult {

	private final List<OutputImage> images;
	private final Provenance provenance;
	private final List<String> warnings;
	private final PhaseTimes times;

	public EditResult(List<OutputImage> images, Provenance provenance, List<String> warnings, PhaseTimes times) {
		this.images = Collections.unmodifiableList(List.copyOf(images));
		this.provenance = provenance;
		this.warnings = List.copyOf(warnings);
		this.times = times;
	}

	/** How long each phase of the edit took. */
	public PhaseTimes times() {
		return times;
	}

	/** Problems that did not spoil the result, such as a staged object that could not be deleted. */
	public List<String> warnings() {
		return warnings;
	}

	public List<OutputImage> images() {
		return images;
	}

	/** Provenance shared by every output; add {@link Provenance#OUTPUT_INDEX} per image. */
	public Provenance provenance() {
		return provenance.copy();
	}

	/** Provenance for output {@code index} (1-based), with that image's own hash. */
	public Provenance provenanceOf(int index) {
		return provenance.copy()
			.put(Provenance.OUTPUT_INDEX, index + " of " + images.size())
			.put(Provenance.OUTPUT_SHA256, images.get(index - 1).sha256());
	}
}
