package io.github.qwenedit.provider.eachlabs;

import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.http.CallKind;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.HttpReply;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.provider.ProviderErrors;
import io.github.qwenedit.staging.Staging;
import io.github.qwenedit.staging.StagingRoute;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * eachlabs' own storage, for users without a bucket: presign, then PUT
 * (https://docs.eachlabs.ai/api/uploads/presign-upload). The API offers no delete, so each upload
 * asks for the shortest retention it allows instead.
 */
final class EachLabsUploadStaging implements Staging {

	/** An hour covers any edit; eachlabs keeps uploads 180 days unless told otherwise. */
	static final long RETENTION_SECONDS = 3600;
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

	private final HttpUrl presign;
	private final String apiKey;
	private int uploads;

	EachLabsUploadStaging(HttpUrl presign, String apiKey) {
		this.presign = presign;
		this.apiKey = apiKey;
	}

	@Override
	public StagingRoute route() {
		return StagingRoute.PROVIDER_UPLOAD;
	}

	@Override
	public String stage(InputImage image, Http http, UploadListener beforeUpload) throws EditException {
		ObjectNode ask = Json.object().put("content_type", image.mimeType()).put("file_type", "image")
			.put("expires_in_seconds", RETENTION_SECONDS);
		HttpReply reply = http.send(new Request.Builder().url(presign).header("X-API-Key", apiKey)
			.post(RequestBody.create(Json.bytes(ask), EachLabsProvider.JSON)).build(), CallKind.IDEMPOTENT, CALL_TIMEOUT,
			"eachlabs upload");
		if (!reply.isSuccessful()) {
			throw ProviderErrors.fromStatus(reply, "eachlabs upload", EachLabsProvider.KEY_VARIABLE,
				ProviderErrors.ErrorBody.of(reply, "eachlabs upload").message());
		}
		JsonNode answer = Json.parse(reply.body(), "eachlabs upload");
		String putUrl = Json.text(answer, "presigned_url");
		String publicUrl = Json.text(answer, "public_url");
		HttpUrl target = putUrl == null ? null : HttpUrl.parse(putUrl);
		if (target == null || publicUrl == null) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, "eachlabs' upload service sent no upload link. " +
				"Configure a bucket instead (staging 'bucket').");
		}
		Request.Builder put = new Request.Builder().url(target)
			.put(RequestBody.create(image.bytes(), MediaType.get(image.mimeType())));
		JsonNode required = answer.path("required_headers");
		for (Iterator<Map.Entry<String, JsonNode>> it = required.fields(); it.hasNext();) {
			Map.Entry<String, JsonNode> h = it.next();
			put.header(h.getKey(), h.getValue().asText());
		}
		HttpReply stored = http.send(put.build(), CallKind.IDEMPOTENT, CALL_TIMEOUT, "eachlabs upload");
		if (!stored.isSuccessful()) {
			throw new EditException(ErrorKind.STAGING, "eachlabs' storage refused the upload (HTTP " + stored.code() +
				"). Try again, or configure a bucket (staging 'bucket').");
		}
		uploads++;
		return publicUrl;
	}

	/**
	 * Nothing can be deleted: the upload API has no delete call (docs/providers.md §2.1), so uploads are
	 * asked to expire after {@link #RETENTION_SECONDS} instead, and {@link #notice()} says so.
	 */
	@Override
	public void close() {}

	/** Said only when something was uploaded; the links themselves are never shown. */
	@Override
	public Optional<String> notice() {
		if (uploads == 0) return Optional.empty();
		return Optional.of("The input " + (uploads == 1 ? "image was" : "images were") + " uploaded to eachlabs' " +
			"storage, which has no delete call: anyone with the link can read " + (uploads == 1 ? "it" : "them") +
			" until eachlabs removes " + (uploads == 1 ? "it" : "them") + " (asked for after " + RETENTION_SECONDS / 60 +
			" minutes; eachlabs' default is 180 days). Configure a bucket to keep inputs under your control.");
	}
}
