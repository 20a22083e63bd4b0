package io.github.qwenedit.staging;

import java.util.Locale;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;

/** The user's preference for how images reach the provider; {@code AUTO} lets the plugin decide. */
public enum StagingChoice {
	/** The bucket when one is configured, otherwise the provider's own upload service, otherwise inline. */
	AUTO,
	BUCKET,
	INLINE,
	PROVIDER_UPLOAD;

	public static StagingChoice parse(String text) throws EditException {
		String t = text == null ? "" : text.trim().toUpperCase(Locale.ROOT).replace(' ', '_').replace('-', '_');
		if (t.isEmpty()) return AUTO;
		for (StagingChoice c : values()) {
			if (c.name().equals(t)) return c;
		}
		throw new EditException(ErrorKind.INVALID_INPUT, "Unknown staging \"" + text +
			"\": choose auto, bucket, inline or provider_upload.");
	}

	public String id() {
		return name().toLowerCase(Locale.ROOT);
	}
}
