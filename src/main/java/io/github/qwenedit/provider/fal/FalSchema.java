package io.github.qwenedit.provider.fal;

import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.provider.PublishedSchema;
import io.github.qwenedit.provider.PublishedSchemas;
import okhttp3.HttpUrl;
import okhttp3.Request;

/**
 * fal publishes each endpoint's queue API as an OpenAPI document at
 * {@code https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=<endpoint>}, linked as "Schema"
 * from each model's page under https://fal.ai/models (docs/providers.md §6.2). The
 * submit is the path's {@code post}; its request body refers to the input's schema under
 * {@code components.schemas}. The document is public: it is asked for without the key, which goes
 * only to the queue and REST hosts.
 */
final class FalSchema {

	static final String PATH = "api/openapi/queue/openapi.json";
	static final String ENDPOINT_PARAMETER = "endpoint_id";

	private FalSchema() {}

	static HttpUrl address(HttpUrl schemaBase, String model) {
		return schemaBase.resolve(PATH).newBuilder().addQueryParameter(ENDPOINT_PARAMETER, model).build();
	}

	static Optional<PublishedSchema> read(HttpUrl schemaBase, String model, Http http, String service)
		throws EditException
	{
		return parse(PublishedSchemas.fetch(new Request.Builder().url(address(schemaBase, model)), http, service), model);
	}

	/** The input schema the submit of {@code model} takes, or empty when the document names none. */
	static Optional<PublishedSchema> parse(JsonNode document, String model) {
		JsonNode submit = document.path("paths").path("/" + model).path("post");
		if (submit.isMissingNode()) submit = firstSubmit(document.path("paths"));
		String ref = submit.path("requestBody").path("content").path("application/json").path("schema").path("$ref")
			.asText(null);
		if (ref == null || !ref.startsWith("#/")) return Optional.empty();
		return PublishedSchema.of(document.at(ref.substring(1)), document);
	}

	/** The only operation of the document with a request body: the queue's other calls are reads. */
	private static JsonNode firstSubmit(JsonNode paths) {
		for (Iterator<Map.Entry<String, JsonNode>> it = paths.fields(); it.hasNext();) {
			JsonNode post = it.next().getValue().path("post");
			if (post.has("requestBody")) return post;
		}
		return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
	}
}
