package io.github.qwenedit.provider;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.Json;
import okhttp3.HttpUrl;
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

	/**
	 * The answer to a create the provider took (a 2xx status). Taken means a job may exist and be
	 * charged, so an answer that cannot be read (cut short, not JSON) is not "no job": the failure
	 * says so, and the journal keeps the entry.
	 */
	public static JsonNode acceptedAnswer(HttpReply reply, String service) throws EditException {
		try {
			return Json.parse(reply.body(), service);
		}
		catch (EditException unreadable) {
			throw withoutHandle(unreadable, service);
		}
	}

	/**
	 * A create the provider took (a 2xx status) whose answer lacks what finds the job again (its id,
	 * its links): the job may run and be charged, and nothing can fetch it.
	 */
	public static EditException withoutHandle(EditException failure, String service) {
		return failure.followedBy(service + " took the request, so a job may have been created and charged that cannot " +
			"be fetched without its id.").leaving(EditException.Charge.UNIDENTIFIED_JOB, null, List.of());
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

	/**
	 * A link a provider gave for its own job (status, cancel), when it may be called with the key: only
	 * on the host the user configured, or a subdomain or parent of it (api.example.com and example.com).
	 * Anything else would hand the key to another service, so the caller builds the documented path instead.
	 */
	public static Optional<HttpUrl> onConfiguredHost(HttpUrl base, String link) {
		HttpUrl url = link == null ? null : HttpUrl.parse(link);
		if (url == null) return Optional.empty();
		String host = url.host().toLowerCase(Locale.ROOT);
		String configured = base.host().toLowerCase(Locale.ROOT);
		boolean related = host.equals(configured) || isSubdomain(host, configured) || isSubdomain(configured, host);
		return related ? Optional.of(url) : Optional.empty();
	}

	private static boolean isSubdomain(String host, String of) {
		return of.contains(".") && !Character.isDigit(of.charAt(of.length() - 1)) && host.endsWith("." + of);
	}

	/**
	 * The output links in a provider's answer: one link, or an array of links or of objects with a
	 * {@code url}; providers use all three shapes, sometimes for the same model.
	 */
	public static List<String> links(JsonNode output) {
		List<String> urls = new ArrayList<>();
		if (output == null || output.isNull()) return urls;
		if (output.isTextual()) urls.add(output.asText());
		for (JsonNode item : output) {
			if (item.isTextual()) urls.add(item.asText());
			else if (item.hasNonNull("url")) urls.add(item.get("url").asText());
		}
		return urls;
	}

	/**
	 * A status word the provider's documentation does not have (or none: a gateway's 200 with an error
	 * body, say) says nothing of the job, which the provider took and may finish and charge for: it is
	 * a status that cannot be read, for the poller to end the polling with, never the job's failure.
	 */
	public static EditException unknownStatus(String service, String status) {
		return new EditException(ErrorKind.PROVIDER_FAILURE, service + " answered with a status this plugin does not " +
			"know (\"" + ProviderErrors.clip(status) + "\").");
	}
}
