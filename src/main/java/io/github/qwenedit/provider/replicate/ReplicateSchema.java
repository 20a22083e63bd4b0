package io.github.qwenedit.provider.replicate;

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
import okhttp3.Request;

/**
 * Replicate describes a model at {@code GET /v1/models/{owner}/{name}}: its
 * {@code latest_version.openapi_schema} is the OpenAPI document of the version that runs, with the
 * input at {@code components.schemas.Input} (https://replicate.com/docs/reference/http#models.get).
 */
final class ReplicateSchema {

	private ReplicateSchema() {}

	static Optional<PublishedSchema> read(Request.Builder authorised, Http http, String service) throws EditException {
		HttpReply reply = http.send(PublishedSchemas.withoutKeepAlive(authorised).get().build(), CallKind.IDEMPOTENT,
			PublishedSchemas.READ_TIME, service);
		if (!reply.isSuccessful()) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, service + " answered HTTP " + reply.code());
		}
		return parse(Json.parse(reply.body(), service));
	}

	static Optional<PublishedSchema> parse(JsonNode model) {
		JsonNode document = model.path("latest_version").path("openapi_schema");
		return PublishedSchema.of(document.path("components").path("schemas").path("Input"), document);
	}
}
