package io.github.qwenedit.provider.comfyui;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

	private final ComfyUiProvider provider;
	/** The server this edit's inputs went to, chosen at the first upload; null before. */
	private volatile ComfyUiProvider.Server server;
	/** Each input uploaded, by the name {@code LoadImage} takes, kept to upload it again to another server. */
	private final Map<String, InputImage> staged = Collections.synchronizedMap(new LinkedHashMap<>());
	/** Where the inputs are, as {@code server: names}, for the notice. */
	private final List<String> uploaded = Collections.synchronizedList(new ArrayList<>());

	ComfyUiUploadStaging(ComfyUiProvider provider) {
		this.provider = provider;
	}

	@Override
	public StagingRoute route() {
		return StagingRoute.PROVIDER_UPLOAD;
	}

	/**
	 * Uploads to the server chosen for this edit; a server that cannot be reached hands the edit to
	 * another, where the inputs uploaded so far go again.
	 *
	 * @return the file's name as {@code LoadImage} takes it: {@code qwen-image-edit/<random>.png}
	 */
	@Override
	public String stage(InputImage image, Http http, UploadListener beforeUpload) throws EditException {
		if (server == null) server = provider.assign();
		// A random name: nothing of the image's title or path reaches the server's folders.
		String fileName = UUID.randomUUID() + "." + image.extension();
		for (int tries = 0;; tries++) {
			try {
				String name = upload(server, image, fileName, http);
				staged.put(name, image);
				provider.staged(name, this);
				return name;
			}
			catch (ComfyUiProvider.Unreached e) {
				moveOrFail(e, tries, http);
			}
		}
	}

	private void moveOrFail(ComfyUiProvider.Unreached e, int tries, Http http) throws EditException {
		Optional<ComfyUiProvider.Server> other = tries >= 3 ? Optional.empty() : provider.handOver(server);
		if (!other.isPresent()) throw e.failure;
		moveTo(other.get(), http);
	}

	/** The server this edit's inputs are on. */
	ComfyUiProvider.Server server() {
		return server;
	}

	/**
	 * Uploads every input of this edit again to {@code to} (the server that had them was lost before
	 * it took the prompt), under the same names, and makes it this edit's server.
	 */
	ComfyUiProvider.Server moveTo(ComfyUiProvider.Server to, Http http) throws EditException {
		server = to;
		List<Map.Entry<String, InputImage>> all;
		synchronized (staged) {
			all = new ArrayList<>(staged.entrySet());
		}
		for (int tries = 0;; tries++) {
			try {
				for (Map.Entry<String, InputImage> e : all) {
					String name = e.getKey();
					String again = upload(server, e.getValue(), name.substring(name.lastIndexOf('/') + 1), http);
					if (!again.equals(name)) {
						throw new EditException(ErrorKind.PROVIDER_FAILURE, "The ComfyUI server at " + server.shownAddress +
							" stored an input under another name (" + again + ") than the plugin gave it, so the edit " +
							"cannot be moved to it.");
					}
				}
				return server;
			}
			catch (ComfyUiProvider.Unreached e) {
				moveOrFail(e, tries, http);
			}
		}
	}

	private String upload(ComfyUiProvider.Server on, InputImage image, String fileName, Http http) throws EditException,
		ComfyUiProvider.Unreached
	{
		RequestBody body = new MultipartBody.Builder().setType(MultipartBody.FORM)
			.addFormDataPart("image", fileName, RequestBody.create(image.bytes(), MediaType.get(image.mimeType())))
			.addFormDataPart("subfolder", SUBFOLDER)
			.addFormDataPart("type", "input")
			// The name is new, so this only spares the server its hash comparison with an older file.
			.addFormDataPart("overwrite", "true")
			.build();
		HttpReply reply;
		try {
			reply = http.send(on.request("upload/image").post(body).build(), CallKind.CREATE, CALL_TIMEOUT, "ComfyUI upload");
		}
		catch (EditException e) {
			// An upload broken off is as safe to make again elsewhere as one never sent: no prompt was queued.
			if (e.kind() == ErrorKind.NETWORK) throw new ComfyUiProvider.Unreached(e);
			throw e;
		}
		if (!reply.isSuccessful()) {
			EditException refused = provider.error(on, reply, "ComfyUI did not take the input image");
			if (ComfyUiProvider.gatewayGone(reply)) throw new ComfyUiProvider.Unreached(refused);
			throw refused;
		}
		JsonNode answer = Json.parse(reply.body(), "ComfyUI upload");
		String name = Json.text(answer, "name");
		String subfolder = answer.path("subfolder").asText("");
		if (name == null || name.isEmpty()) {
			throw new EditException(ErrorKind.PROVIDER_FAILURE, "ComfyUI took the input image but did not say its name, " +
				"so no workflow can load it.");
		}
		String loadImageName = subfolder.isEmpty() ? name : subfolder + "/" + name;
		uploaded.add(on.shownAddress + " " + loadImageName);
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
			List<String> names = new ArrayList<>();
			java.util.Set<String> servers = new java.util.LinkedHashSet<>();
			for (String entry : uploaded) {
				int space = entry.indexOf(' ');
				servers.add(entry.substring(0, space));
				names.add(entry.substring(space + 1));
			}
			return Optional.of("The input " + (names.size() == 1 ? "image stays" : "images stay") + " in the ComfyUI " +
				"server's input folder" + (servers.size() > 1 ? " (on " + String.join(" and ", servers) + ")" : "") + " as " +
				String.join(", ", names) + " (ComfyUI has no way to delete them remotely; empty input/" + SUBFOLDER +
				" on the server when you wish).");
		}
	}

	/** Nothing can be deleted (see {@link #notice()}); the edit no longer counts on its server. */
	@Override
	public void close() {
		synchronized (staged) {
			staged.keySet().forEach(provider::unstaged);
		}
		ComfyUiProvider.Server held = server;
		if (held != null) provider.release(held);
	}
}
