package io.github.qwenedit.http;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;

/**
 * A result link that answered 403 or 404: providers keep outputs only for hours, so a result
 * fetched late (after a crash) is gone rather than broken, and recovery tells the user so.
 */
public final class ExpiredLinkException extends EditException {

	private static final long serialVersionUID = 1L;

	ExpiredLinkException(String message) {
		super(ErrorKind.PROVIDER_FAILURE, message);
	}
}
