package io.github.qwenedit.provider;

import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.Json;
import okhttp3.Request;

/** The calls every job API makes the same way, each provider with its own auth and error shapes. */
public final class JobCalls {

	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

	/** Turns a provider's error answer into the plugin's vocabulary. */
	@FunctionalInterface
	public interface ErrorReading {
		EditException read(HttpReply reply);
	}

	private JobCalls() {}

	/** Reads a job's state (or result): an idempotent call whose JSON answer is returned. */
	public static JsonNode fetch(Http http, Request request, String service, ErrorReading errors) throws EditException {
		HttpReply reply = http.send(request, CallKind.IDEMPOTENT, CALL_TIMEOUT, service);
		if (!reply.isSuccessful()) throw errors.read(reply);
		return Json.parse(reply.body(), service);
	}

	/** Asks to stop a job; true only when the provider confirmed it. */
	public static boolean requestCancel(Http http, Request request, String service) {
		try {
			return http.send(request, CallKind.IDEMPOTENT, CALL_TIMEOUT, service).isSuccessful();
		}
		catch (EditException e) {
			return false;
		}
	}

	/** A status word the provider's documentation does not have: stop rather than poll for ever. */
	public static JobState unknownStatus(JobHandle job, String service, String status) {
		return JobState.failed(job, new EditException(ErrorKind.PROVIDER_FAILURE, service + " answered with a status " +
			"this plugin does not know (\"" + ProviderErrors.clip(status) + "\"), so the edit was stopped."));
	}
}
