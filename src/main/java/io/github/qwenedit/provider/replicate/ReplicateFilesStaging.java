package io.github.qwenedit.provider.replicate;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;

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
import okhttp3.MultipartBody;
import okhttp3.Request;
import okhttp3.RequestBody;

/**
 * Replicate's Files API, for users without a bucket, as its official client uses it
 * (https://github.com/replicate/replicate-python/blob/main/replicate/file.py): {@code POST /v1/files}
 * as multipart with the bytes in the field {@code content} (file name and content type given), the
 * file's {@code urls.get} as the model's input, {@code DELETE /v1/files/{id}} once the job has ended.
 * Files expire after 24 hours and only predictions made with the uploader's token can read them
 * (https://sdks.replicate.com/resources/files/methods/create; the 24 hours are the file's {@code expires_at}).
 */
final class ReplicateFilesStaging implements Staging {

	/** How a Replicate file is named in a journal's staged keys, told apart from bucket keys. */
	static final String KEY_PREFIX = "replicate-file:";
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

	private final HttpUrl base;
	private final String token;
	private final List<String> fileIds = Collections.synchronizedList(new ArrayList<>());
	/** The edit's connection rules; deletes get a fresh cleanup deadline from it when the job has ended. */
	private volatile Http http;

	ReplicateFilesStaging(HttpUrl base, String token) {
		this.base = base;
		this.token = token;
	}

	/** The files an earlier run staged, as its journal names them, for deletion with {@link #close()}. */
	ReplicateFilesStaging(HttpUrl base, String token, List<String> journalKeys, Http http) {
		this(base, token);
		for (String key : journalKeys) {
			if (isFileKey(key)) fileIds.add(key.substring(KEY_PREFIX.length()));
		}
		this.http = http;
	}

	static boolean isFileKey(String key) {
		// Replicate's ids are lower-case letters and digits; anything else is no file of ours.
		return key.startsWith(KEY_PREFIX) && key.substring(KEY_PREFIX.length()).matches("[a-z0-9]{1,64}");
	}

	@Override
	public StagingRoute route() {
		return StagingRoute.PROVIDER_UPLOAD;
	}

	@Override
	public String stage(InputImage image, Http http, UploadListener beforeUpload) throws EditException {
		this.http = http;
		// A random name: nothing about the image's title or path reaches Replicate.
		String fileName = UUID.randomUUID() + "." + image.extension();
		RequestBody body = new MultipartBody.Builder().setType(MultipartBody.FORM)
			.addFormDataPart("content", fileName, RequestBody.create(image.bytes(), MediaType.get(image.mimeType())))
			.build();
		HttpReply reply = http.send(new Request.Builder().url(base.resolve("v1/files"))
			.header("Authorization", "Bearer " + token).post(body).build(), CallKind.CREATE, CALL_TIMEOUT,
			"Replicate upload");
		if (!reply.isSuccessful()) {
			throw ProviderErrors.fromStatus(reply, "Replicate upload", ReplicateProvider.KEY_VARIABLE,
				ProviderErrors.ErrorBody.of(reply, "Replicate upload").message());
		}
		JsonNode answer = Json.parse(reply.body(), "Replicate upload");
		String id = Json.text(answer, "id");
		String link = Json.text(answer.path("urls"), "get");
		if (id != null && isFileKey(KEY_PREFIX + id)) fileIds.add(id);
		if (link == null || id == null || !isFileKey(KEY_PREFIX + id)) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, "Replicate's Files API sent no usable link for the " +
				"upload. Configure a bucket instead (staging 'bucket').");
		}
		return link;
	}

	@Override
	public List<String> objectKeys() {
		List<String> keys = new ArrayList<>();
		synchronized (fileIds) {
			fileIds.forEach(id -> keys.add(KEY_PREFIX + id));
		}
		return keys;
	}

	/** Deletes every file staged; a file already gone (404) counts as deleted. */
	@Override
	public void close() throws EditException {
		List<String> ids;
		synchronized (fileIds) {
			ids = new ArrayList<>(fileIds);
		}
		if (ids.isEmpty()) return;
		List<String> left = new ArrayList<>();
		Http cleanup = http.forCleanup();
		for (String id : ids) {
			try {
				HttpReply reply = cleanup.send(new Request.Builder().url(base.resolve("v1/files/" + id))
					.header("Authorization", "Bearer " + token).delete().build(), CallKind.IDEMPOTENT, CALL_TIMEOUT,
					"Replicate upload");
				if (reply.isSuccessful() || reply.code() == 404) fileIds.remove(id);
				else left.add(id);
			}
			catch (EditException e) {
				left.add(id);
			}
		}
		if (!left.isEmpty()) {
			throw new EditException(ErrorKind.STAGING, "Replicate did not delete the uploaded input " +
				(left.size() == 1 ? "file " : "files ") + String.join(", ", left) + "; Replicate removes " +
				(left.size() == 1 ? "it" : "them") + " after 24 hours, readable only with your token until then.");
		}
	}

	@Override
	public Optional<String> notice() {
		return Optional.empty();
	}
}
