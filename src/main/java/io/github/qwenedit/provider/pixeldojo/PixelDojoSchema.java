package io.github.qwenedit.provider.pixeldojo;

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
 * PixelDojo serves each model's request-body JSON Schema at {@code GET /api/v1/models/{apiId}/schema}
 * and the same schema as {@code requestSchema} in {@code GET /api/v1/models/{apiId}}
 * (https://pixeldojo.ai/api-docs ; https://pixeldojo.ai/api-platform/documentation, the SDK's
 * {@code getModelSchema}). Both shapes are read.
 */
final class PixelDojoSchema {

	private PixelDojoSchema() {}

	static Optional<PublishedSchema> read(Request.Builder authorised, Http http, String service) throws EditException {
		HttpReply reply = http.send(PublishedSchemas.withoutKeepAlive(authorised).get().build(), CallKind.IDEMPOTENT,
			PublishedSchemas.READ_TIME, service);
		if (!reply.isSuccessful()) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, service + " answered HTTP " + reply.code());
		}
		return parse(Json.parse(reply.body(), service));
	}

	static Optional<PublishedSchema> parse(JsonNode answer) {
		Optional<PublishedSchema> schema = PublishedSchema.of(answer);
		if (schema.isPresent()) return schema;
		schema = PublishedSchema.of(answer.path("requestSchema"));
		return schema.isPresent() ? schema : PublishedSchema.of(answer.path("schema"));
	}
}
