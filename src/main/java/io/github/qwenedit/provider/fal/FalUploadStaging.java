package io.github.qwenedit.provider.fal;

import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

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
 * fal's own storage, for users without a bucket, done as fal's official client does
 * (https://github.com/fal-ai/fal-js/blob/main/libs/client/src/storage.ts): POST the content type and a
 * file name to {@code /storage/upload/initiate?storage_type=fal-cdn-v3} on the REST host with the key,
 * PUT the bytes to the {@code upload_url} it returns, and give the model the {@code file_url}. Neither
 * that client nor fal's Python client offers a delete, so each upload asks, in the
 * {@code X-Fal-Object-Lifecycle} header the same client sends, to expire after an hour.
 */
final class FalUploadStaging implements Staging {

	/** An hour covers any edit; the client's own "1h" preset. */
	static final long RETENTION_SECONDS = 3600;
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);
	private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");

	private final HttpUrl initiate;
	private final String key;
	private int uploads;

	FalUploadStaging(HttpUrl restBase, String key) {
		this.initiate = restBase.newBuilder().addPathSegments("storage/upload/initiate")
			.addQueryParameter("storage_type", "fal-cdn-v3").build();
		this.key = key;
	}

	@Override
	public StagingRoute route() {
		return StagingRoute.PROVIDER_UPLOAD;
	}

	@Override
	public String stage(InputImage image, Http http, UploadListener beforeUpload) throws EditException {
		// A random name: nothing about the image's title or path reaches fal.
		String fileName = UUID.randomUUID() + "." + image.extension();
		ObjectNode ask = Json.object().put("content_type", image.mimeType()).put("file_name", fileName);
		ObjectNode lifecycle = Json.object().put("expiration_duration_seconds", RETENTION_SECONDS)
			.put("allow_io_storage", true);
		HttpReply reply = http.send(new Request.Builder().url(initiate).header("Authorization", "Key " + key)
			.header("X-Fal-Object-Lifecycle", new String(Json.bytes(lifecycle), java.nio.charset.StandardCharsets.UTF_8))
			.post(RequestBody.create(Json.bytes(ask), JSON)).build(), CallKind.IDEMPOTENT, CALL_TIMEOUT, "fal.ai upload");
		if (!reply.isSuccessful()) {
			throw ProviderErrors.fromStatus(reply, "fal.ai upload", FalProvider.KEY_VARIABLE,
				ProviderErrors.ErrorBody.of(reply, "fal.ai upload").message());
		}
		JsonNode answer = Json.parse(reply.body(), "fal.ai upload");
		String putUrl = Json.text(answer, "upload_url");
		String fileUrl = Json.text(answer, "file_url");
		HttpUrl target = putUrl == null ? null : HttpUrl.parse(putUrl);
		if (target == null || fileUrl == null) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, "fal.ai's upload service sent no upload link. " +
				"Configure a bucket instead (staging 'bucket').");
		}
		// The upload link is signed by itself; the key goes only to the REST host.
		HttpReply stored = http.send(new Request.Builder().url(target)
			.put(RequestBody.create(image.bytes(), MediaType.get(image.mimeType()))).build(), CallKind.IDEMPOTENT,
			CALL_TIMEOUT, "fal.ai upload");
		if (!stored.isSuccessful()) {
			throw new EditException(ErrorKind.STAGING, "fal.ai's storage refused the upload (HTTP " + stored.code() +
				"). Try again, or configure a bucket (staging 'bucket').");
		}
		uploads++;
		return fileUrl;
	}

	/** Nothing can be deleted: fal's clients have no delete call; {@link #notice()} says so. */
	@Override
	public void close() {}

	/** Said only when something was uploaded; the links themselves are never shown. */
	@Override
	public Optional<String> notice() {
		if (uploads == 0) return Optional.empty();
		String them = uploads == 1 ? "it" : "them";
		return Optional.of("The input " + (uploads == 1 ? "image was" : "images were") + " uploaded to fal.ai's " +
			"storage, which has no delete call: anyone with the link can read " + them + " until fal.ai removes " + them +
			" (asked for after " + RETENTION_SECONDS / 60 + " minutes; fal.ai's default is at least 7 days). " +
			"Configure a bucket to keep inputs under your control.");
	}
}
