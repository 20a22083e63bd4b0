package io.github.qwenedit.provider;

import java.time.Duration;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import okhttp3.Request;

/**
 * Checks an API key without starting (or paying for) a job: an authenticated call that the
 * provider answers with 401/403 for a wrong key and with something else, such as "not found" for
 * a job id that does not exist, for a good one.
 */
public final class KeyCheck {

	private KeyCheck() {}

	/** @return a sentence for the user when the key was accepted */
	public static String probe(Http http, Request request, String service, String keyVariable) throws EditException {
		HttpReply reply = http.send(request, CallKind.IDEMPOTENT, Duration.ofSeconds(30), service);
		int code = reply.code();
		boolean keyAccepted = reply.isSuccessful() || code == 400 || code == 404 || code == 405 || code == 422;
		if (!keyAccepted) throw ProviderErrors.fromStatus(reply, service, keyVariable, null);
		return service + " accepted the key in " + keyVariable + ".";
	}
}
