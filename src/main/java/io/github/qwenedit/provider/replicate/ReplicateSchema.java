package io.github.qwenedit.provider.replicate;

import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.provider.PublishedSchema;

/**
 * Replicate describes a model at {@code GET /v1/models/{owner}/{name}}: its
 * {@code latest_version.openapi_schema} is the OpenAPI document of the version that runs, with the
 * input at {@code components.schemas.Input} (https://replicate.com/docs/reference/http#models.get).
 */
final class ReplicateSchema {

	private ReplicateSchema() {}

	static Optional<PublishedSchema> parse(JsonNode model) {
		JsonNode document = model.path("latest_version").path("openapi_schema");
		return PublishedSchema.of(document.path("components").path("schemas").path("Input"), document);
	}
}
