package io.github.qwenedit.provider.eachlabs;

import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.provider.PublishedSchema;
import okhttp3.HttpUrl;

/**
 * each::labs describes each model at {@code GET /v1/model?slug=...} with its input's JSON Schema in
 * {@code request_schema} (https://docs.eachlabs.ai/api/models/get-model; docs/providers.md §2.2).
 */
final class EachLabsSchema {

	private EachLabsSchema() {}

	static HttpUrl address(HttpUrl base, String slug) {
		return base.newBuilder().addPathSegments("v1/model").addQueryParameter("slug", slug).build();
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
