package io.github.qwenedit.provider;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.Json;

/**
 * Reads each model's published input schema once per program run, on the first edit that needs it,
 * within {@link #READ_TIME}, and remembers the answer (or that there was none) for the same provider,
 * model and address. A schema that cannot be read never fails an edit: the built-in table is used,
 * and the edit says so once.
 */
public final class PublishedSchemas {

	/** Short enough that an edit is hardly slower when the provider does not answer. */
	public static final Duration READ_TIME = Duration.ofSeconds(4);

	private static final ConcurrentMap<String, Optional<PublishedSchema>> READ = new ConcurrentHashMap<>();

	/** The call that fetches and parses one provider's schema document. */
	public interface Reader {
		/** The schema, or empty when the answer holds none. */
		Optional<PublishedSchema> read(Http http) throws EditException;
	}

	/** What one look-up found, and the sentence for the log when it was read just now and failed. */
	public static final class Lookup {
		private final Optional<PublishedSchema> schema;
		private final Optional<String> notice;

		Lookup(Optional<PublishedSchema> schema, Optional<String> notice) {
			this.schema = schema;
			this.notice = notice;
		}

		public Optional<PublishedSchema> schema() {
			return schema;
		}

		public Optional<String> notice() {
			return notice;
		}
	}

	private PublishedSchemas() {}

	/**
	 * The schema for {@code model} at {@code serviceAddress}, read with {@code reader} the first time.
	 * Only cancelling the edit throws; any other failure means "use the built-in table".
	 */
	public static Lookup lookup(String service, String model, String serviceAddress, Http http, Reader reader)
		throws EditException
	{
		String key = key(service, model, serviceAddress);
		Optional<PublishedSchema> known = READ.get(key);
		if (known != null) return new Lookup(known, Optional.empty());
		Optional<PublishedSchema> schema;
		String reason;
		try {
			schema = reader.read(http.forShortRead(READ_TIME));
			reason = "its answer held no input schema";
		}
		catch (EditException e) {
			if (e.kind() == ErrorKind.CANCELLED) throw e;
			schema = Optional.empty();
			reason = e.kind() == ErrorKind.TIMED_OUT ? "no answer within " + READ_TIME.toSeconds() + " s" : e.getMessage();
		}
		Optional<PublishedSchema> earlier = READ.putIfAbsent(key, schema);
		if (earlier != null || schema.isPresent()) return new Lookup(earlier != null ? earlier : schema, Optional.empty());
		return new Lookup(schema, Optional.of("Could not read " + service + "'s published schema for " + model +
			" (" + reason + "); its options were checked against the plugin's built-in table instead, for the rest " +
			"of this session."));
	}

	/**
	 * The schema request closes its connection after the answer: the paid create that follows would
	 * otherwise go out on that kept-alive connection, and OkHttp silently resends a request whose reused
	 * connection breaks (https://square.github.io/okhttp/5.x/okhttp/okhttp3/-ok-http-client/-builder/retry-on-connection-failure.html),
	 * which for a create could start a second paid job.
	 */
	private static okhttp3.Request.Builder withoutKeepAlive(okhttp3.Request.Builder request) {
		return request.header("Connection", "close");
	}

	/** The JSON document a provider serves at {@code authorised}'s address, read as every schema is read. */
	public static JsonNode fetch(okhttp3.Request.Builder authorised, Http http, String service) throws EditException {
		HttpReply reply = http.send(withoutKeepAlive(authorised).get().build(), CallKind.IDEMPOTENT, READ_TIME, service);
		if (!reply.isSuccessful()) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, service + " answered HTTP " + reply.code());
		}
		return Json.parse(reply.body(), service);
	}

	/** The schema read earlier for {@code model}, without any call. */
	public static Optional<PublishedSchema> known(String service, String model, String serviceAddress) {
		Optional<PublishedSchema> known = READ.get(key(service, model, serviceAddress));
		return known == null ? Optional.empty() : known;
	}

	private static String key(String service, String model, String serviceAddress) {
		return service + "\n" + model + "\n" + serviceAddress;
	}
}
