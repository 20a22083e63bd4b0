package io.github.qwenedit.provider;

import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.http.RetryPolicy;

/**
 * The HTTP status rules every provider shares, after it has looked for its own error codes. Each
 * message says what to do next.
 */
public final class ProviderErrors {

	private ProviderErrors() {}

	/**
	 * @param service the provider's display name
	 * @param keyVariable the environment variable of its key, named in the 401 message
	 * @param detail the provider's own explanation, or null
	 */
	public static EditException fromStatus(HttpReply reply, String service, String keyVariable, String detail) {
		int code = reply.code();
		String said = detail == null || detail.isBlank() ? "" : " " + service + " said: " + clip(detail);
		if (code == 401 || code == 403) {
			return new EditException(ErrorKind.UNAUTHORIZED, service + " refused the API key (HTTP " + code +
				"). Check " + keyVariable + " in the environment or in Plugins > Qwen Image Edit > Settings." + said);
		}
		if (code == 402) {
			return new EditException(ErrorKind.INSUFFICIENT_CREDIT, "Your " + service +
				" account is out of credit. Top it up on the provider's website, then run the edit again." + said);
		}
		if (code == 404) {
			return new EditException(ErrorKind.NOT_FOUND, service + " answered 'not found' (HTTP 404): check the model" +
				" and the configured base URL." + said);
		}
		if (code == 429) {
			Duration wait = reply.retryAfter().orElse(null);
			boolean aLongWait = wait != null && wait.compareTo(RetryPolicy.LONGEST_RETRY_AFTER) >= 0;
			return new EditException(ErrorKind.RATE_LIMITED, service + " is limiting the rate of requests" +
				(wait == null ? "" : " and asks to wait " + RetryPolicy.describeWait(wait)) +
				(aLongWait ? ". Run the edit again later." : ". Wait a moment and run the edit again.") + said, wait, null);
		}
		if (code == 400 || code == 413 || code == 422) {
			return new EditException(ErrorKind.INVALID_INPUT, service + " did not accept the request (HTTP " + code +
				")." + said);
		}
		if (code >= 500) {
			return new EditException(ErrorKind.PROVIDER_FAILURE, service + " had an internal problem (HTTP " + code +
				"). Try again in a few minutes." + said);
		}
		return new EditException(ErrorKind.PROVIDER_FAILURE, service + " answered with an unexpected HTTP " + code +
			"." + said);
	}

	/**
	 * What an error answer says, in the shapes job APIs use: {@code {"error": "text"}},
	 * {@code {"error": {"code", "message"}}} or {@code {"message": "text"}}. Empty when the body is
	 * not JSON: the status alone must then say enough.
	 */
	public static final class ErrorBody {
		private final String code;
		private final String message;

		private ErrorBody(String code, String message) {
			this.code = code;
			this.message = message;
		}

		public static ErrorBody of(HttpReply reply, String service) {
			try {
				return of(Json.parse(reply.body(), service));
			}
			catch (EditException notJson) {
				return new ErrorBody(null, null);
			}
		}

		/** The same reading of an answer already parsed, such as a job status that reports a failure. */
		public static ErrorBody of(JsonNode json) {
			JsonNode error = json.path("error");
			if (error.isObject()) return new ErrorBody(Json.text(error, "code"), Json.text(error, "message"));
			String message = error.isTextual() && !error.asText().isBlank() ? error.asText() : Json.text(json, "message");
			return new ErrorBody(Json.text(json, "code"), message);
		}

		/** A machine-readable code such as {@code insufficient_credits}, or null. */
		public String code() {
			return code;
		}

		/** The provider's own sentence, or null. */
		public String message() {
			return message;
		}
	}

	/** Provider texts can be long or contain markup; a sentence or two is enough for the user. */
	public static String clip(String text) {
		String flat = text.replaceAll("\\s+", " ").trim();
		return flat.length() <= 300 ? flat : flat.substring(0, 297) + "...";
	}
}
