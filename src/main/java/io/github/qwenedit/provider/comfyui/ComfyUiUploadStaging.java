package io.github.qwenedit.provider.comfyui;

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
import io.github.qwenedit.staging.Staging;
import io.github.qwenedit.staging.StagingRoute;
import okhttp3.MediaType;
import okhttp3.MultipartBody;
import okhttp3.RequestBody;

/**
 * Inputs go to the ComfyUI server itself, never to a bucket or a public link: {@code POST /upload/image},
 * multipart with the file in {@code image} and the form fields {@code subfolder}, {@code type=input} and
 * {@code overwrite}; the answer {@code {"name", "subfolder", "type"}} names the file as a
 * {@code LoadImage} node takes it (https://github.com/comfyanonymous/ComfyUI/blob/master/server.py,
 * {@code image_upload}). ComfyUI has no route that deletes an input file (server.py has none), so the
 * uploads stay in the server's {@code input/qwen-image-edit/} folder under random names, and
 * {@link #notice()} says so.
 */
final class ComfyUiUploadStaging implements Staging {

	static final String SUBFOLDER = "qwen-image-edit";
	private static final Duration CALL_TIMEOUT = Duration.ofSeconds(120);

	private final ComfyUiProvider server;
	private final List<String> uploaded = Collections.synchronizedList(new ArrayList<>());

	ComfyUiUploadStaging(ComfyUiProvider server) {
		this.server = server;
	}

	@Override
	public StagingRoute route() {
		return StagingRoute.PROVIDER_UPLOAD;
	}

	/** @return the file's name as {@code LoadImage} takes it: {@code qwen-image-edit/<random>.png} */
	@Override
	public String stage(InputImage image, Http http) throws EditException {
		// A random name: nothing of the image's title or path reaches the server's folders.
		String fileName = UUID.randomUUID() + "." + image.extension();
		RequestBody body = new MultipartBody.Builder().setType(MultipartBody.FORM)
			.addFormDataPart("image", fileName, RequestBody.create(image.bytes(), MediaType.get(image.mimeType())))
			.addFormDataPart("subfolder", SUBFOLDER)
			.addFormDataPart("type", "input")
			// The name is new, so this only spares the server its hash comparison with an older file.
			.addFormDataPart("overwrite", "true")
			.build();
		HttpReply reply = http.send(server.request("upload/image").post(body).build(), CallKind.CREATE, CALL_TIMEOUT,
			"ComfyUI upload");
		if (!reply.isSuccessful()) throw server.error(reply, "ComfyUI did not take the input image");
		JsonNode answer = Json.parse(reply.body(), "ComfyUI upload");
		String name = Json.text(answer, "name");
		String subfolder = answer.path("subfolder").asText("");
		if (name == null || name.isEmpty()) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, "ComfyUI took the input image but did not say its name, " +
				"so no workflow can load it.");
		}
		String loadImageName = subfolder.isEmpty() ? name : subfolder + "/" + name;
		uploaded.add(loadImageName);
		return loadImageName;
	}

	/** Nothing to delete: ComfyUI has no delete route for inputs, so no journal needs the names. */
	@Override
	public List<String> objectKeys() {
		return List.of();
	}

	@Override
	public Optional<String> notice() {
		synchronized (uploaded) {
			if (uploaded.isEmpty()) return Optional.empty();
			return Optional.of("The input " + (uploaded.size() == 1 ? "image stays" : "images stay") + " in the ComfyUI " +
				"server's input folder as " + String.join(", ", uploaded) + " (ComfyUI has no way to delete them " +
				"remotely; empty input/" + SUBFOLDER + " on the server when you wish).");
		}
	}

	@Override
	public void close() {
		// Nothing can be deleted; see notice().
	}
}
