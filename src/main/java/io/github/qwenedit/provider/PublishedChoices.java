package io.github.qwenedit.provider;

import java.util.ArrayList;
import java.util.List;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ImageSize;

/**
 * What a model's published schema lets the Edit Images dialog offer in place of the built-in table:
 * the output sizes it lists, and how many outputs one edit may ask for.
 */
public final class PublishedChoices {

	private final List<String> sizes;
	private final int maxOutputs;

	private PublishedChoices(List<String> sizes, int maxOutputs) {
		this.sizes = List.copyOf(sizes);
		this.maxOutputs = maxOutputs;
	}

	/**
	 * @param sizeField the field whose enum lists sizes as {@code W*H}, or null when the provider's sizes
	 *          are not such a list
	 * @param countField the field that takes the number of outputs
	 * @param builtInMaxOutputs the built-in table's limit, kept when the schema sets no maximum
	 */
	public static PublishedChoices of(PublishedSchema schema, String sizeField, String countField, int builtInMaxOutputs) {
		List<String> sizes = new ArrayList<>();
		if (sizeField != null) {
			for (String value : schema.allowedValues(sizeField)) {
				try {
					// Only values the plugin would send as they are: the schema checks them verbatim.
					if (ImageSize.parse(value).toString().equals(value)) sizes.add(value);
				}
				catch (EditException notAPixelSize) {
					// A preset name ("auto", say) is no size the dialog can offer as W*H.
				}
			}
		}
		return new PublishedChoices(sizes, Math.max(1, schema.maxOutputs(countField, builtInMaxOutputs)));
	}

	/** The sizes the schema lists, as {@code W*H}; empty when it lists none (any the built-in table allows). */
	public List<String> sizes() {
		return sizes;
	}

	public int maxOutputs() {
		return maxOutputs;
	}
}
