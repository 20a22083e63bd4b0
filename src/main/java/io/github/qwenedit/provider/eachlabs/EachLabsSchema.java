package io.github.qwenedit.provider.eachlabs;

import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.provider.PublishedSchema;
import io.github.qwenedit.provider.PublishedSchemas;
import okhttp3.HttpUrl;
import okhttp3.Request;

/**
 * each::labs describes each model at {@code GET /v1/model?slug=...} with its input's JSON Schema in
 * {@code request_schema} (https://docs.eachlabs.ai/api/models/get-model; docs/providers.md §2.2).
 */
final class EachLabsSchema {

	private EachLabsSchema() {}

	static HttpUrl address(HttpUrl base, String slug) {
		return base.newBuilder().addPathSegments("v1/model").addQueryParameter("slug", slug).build();
	}

	static Optional<PublishedSchema> read(Request.Builder authorised, Http http, String service) throws EditException {
		HttpReply reply = http.send(PublishedSchemas.withoutKeepAlive(authorised).get().build(), CallKind.IDEMPOTENT,
			PublishedSchemas.READ_TIME, service);
		if (!reply.isSuccessful()) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, service + " answered HTTP " + reply.code());
		}
		return parse(Json.parse(reply.body(), service));
	}

	/** Some answers are wrapped in {@code data}; the schema may also come as a JSON string. */
	static Optional<PublishedSchema> parse(JsonNode answer) throws EditException {
		JsonNode model = answer.has("request_schema") ? answer : answer.path("data");
		JsonNode schema = model.get("request_schema");
		if (schema != null && schema.isTextual()) schema = Json.parse(schema.asText().getBytes(
			java.nio.charset.StandardCharsets.UTF_8), "eachlabs");
		return PublishedSchema.of(schema);
	}
}
