package io.github.qwenedit.provider.pixeldojo;

import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.provider.PublishedSchema;

/**
 * PixelDojo serves each model's request-body JSON Schema at {@code GET /api/v1/models/{apiId}/schema}
 * and the same schema as {@code requestSchema} in {@code GET /api/v1/models/{apiId}}
 * (https://pixeldojo.ai/api-docs ; https://pixeldojo.ai/api-platform/documentation, the SDK's
 * {@code getModelSchema}). Both shapes are read.
 */
final class PixelDojoSchema {

	private PixelDojoSchema() {}

	static Optional<PublishedSchema> parse(JsonNode answer) {
		Optional<PublishedSchema> schema = PublishedSchema.of(answer);
		if (schema.isPresent()) return schema;
		schema = PublishedSchema.of(answer.path("requestSchema"));
		return schema.isPresent() ? schema : PublishedSchema.of(answer.path("schema"));
	}
}
