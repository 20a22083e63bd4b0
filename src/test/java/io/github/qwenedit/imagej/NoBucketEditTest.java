package io.github.qwenedit.imagej;

import static io.github.qwenedit.fixtures.EditedResults.assertEditedPixels;
import static io.github.qwenedit.fixtures.SecretLeaks.assertKeyNowhere;
import static io.github.qwenedit.fixtures.TestImages.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.scijava.module.Module;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ij.ImagePlus;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.emulator.ReplicateEmulator;

/**
 * A user with only a fal or Replicate key edits with no bucket at all: the inputs go to the
 * provider's own storage (fal's upload service, Replicate's Files API), and what can be deleted is
 * deleted once the job has ended, however it ended. ({@link ProviderTestBed} fails any test that
 * leaves a Replicate file behind.)
 */
class NoBucketEditTest {

	private static final String FAL_KEY = "fal-no-bucket-3e7a:secret";
	private static final String TOKEN = "r8_no_bucket_5d2c";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	private final FalEmulator fal = bed.serve(new FalEmulator(FAL_KEY).processingDelay(Duration.ofMillis(200)));
	private final ReplicateEmulator replicate = bed.serve(new ReplicateEmulator(TOKEN).processingDelay(Duration.ofMillis(200)));

	private Map<String, String> falEnv() {
		Map<String, String> env = ProviderTestBed.envWithoutBucket("FAL_KEY", FAL_KEY, "FAL_QUEUE_BASE_URL", fal);
		env.put("FAL_REST_BASE_URL", fal.baseUrl());
		return env;
	}

	private Map<String, String> replicateEnv() {
		return ProviderTestBed.envWithoutBucket("REPLICATE_API_TOKEN", TOKEN, "REPLICATE_BASE_URL", replicate);
	}

	/** Noise: far too large to travel inside a Replicate request (256 kB), as most real images are. */
	private static ImagePlus noise() {
		ij.process.ColorProcessor noise = new ij.process.ColorProcessor(480, 400);
		java.util.Random random = new java.util.Random(11);
		for (int i = 0; i < 480 * 400; i++) noise.set(i, random.nextInt(0x1000000));
		return new ImagePlus("noise.tif", noise);
	}

	@Test
	void falWithoutABucketUploadsToFalStorageAskingForTheShortestLife() throws Exception {
		ImagePlus cells = pattern("cells.tif", 480, 400);
		try (EditCommandRunner runner = new EditCommandRunner(falEnv())) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(cells, "fal", "fal-ai/qwen-image-2/edit", "sharpen"));
			assertFalse(run.failed(), run.failure());
			AsyncJobEmulator.Job job = fal.lastJob();
			String link = job.request.json().path("image_urls").get(0).asText();
			assertTrue(link.startsWith(fal.baseUrl() + "/files/"), link);
			assertFalse(link.contains("cells"), "the image's title reached fal: " + link);
			assertEquals(1, fal.storedFileCount());
			assertEquals(1, fal.requestCount("/storage/upload/initiate"));
			assertEquals("storage_type=fal-cdn-v3", fal.requests("/storage/upload/initiate").get(0).query());
			JsonNode lifecycle = new ObjectMapper().readTree(fal.askedLifecycles().get(0));
			assertEquals(3600, lifecycle.path("expiration_duration_seconds").asLong());
			// The upload link is signed by itself: the key goes to the REST host only.
			assertNull(fal.requests().stream().filter(r -> r.path().startsWith("/storage-upload/")).findFirst().get()
				.header("Authorization"));
			ImagePlus result = run.results().get(0);
			assertEditedPixels(result, job.inputs().get(0).image(), 0);
			assertEquals("provider upload", result.getProp(Provenance.STAGING));
			String note = result.getProp(Provenance.STAGING_NOTE);
			assertTrue(note != null && note.contains("fal.ai") && note.contains("60 minutes") && note.contains("7 days"), note);
			assertKeyNowhere(run, runner, FAL_KEY);
		}
	}

	@Test
	void replicateWithoutABucketUsesTheFilesApiAndDeletesTheFileAfterTheJob() throws Exception {
		try (EditCommandRunner runner = new EditCommandRunner(replicateEnv())) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(noise(), "replicate", "qwen-image-edit-plus", "x"));
			assertFalse(run.failed(), run.failure());
			AsyncJobEmulator.Job job = replicate.lastJob();
			String link = job.request.json().path("input").path("image").get(0).asText();
			assertTrue(link.startsWith(replicate.baseUrl() + "/v1/files/"), link);
			assertFalse(job.inputs().get(0).fromDataUri());
			assertTrue(job.request.bodyLength() < 4096, "the image travelled inside the request");
			assertEquals(1, replicate.filesCreated());
			assertEquals(0, replicate.filesLeft(), "the uploaded file was not deleted");
			assertEquals(1, replicate.requests().stream()
				.filter(r -> r.method().equals("DELETE") && r.path().startsWith("/v1/files/")).count());
			ImagePlus result = run.results().get(0);
			assertEditedPixels(result, job.inputs().get(0).image(), 0);
			assertEquals("provider upload", result.getProp(Provenance.STAGING));
			assertNull(result.getProp(Provenance.STAGING_NOTE), "a deleted upload needs no note");
			assertKeyNowhere(run, runner, TOKEN);
		}
	}

	/**
	 * The delete comes when the job has ended, however long it ran: its time limit starts then, not at
	 * the upload (a job longer than the 30 s a cleanup is given).
	 */
	@Test
	void aReplicateFileIsDeletedAfterAJobLongerThanTheCleanupTime() throws Exception {
		replicate.longestWait(Duration.ofMillis(50)).processingDelay(Duration.ofSeconds(32));
		try (EditCommandRunner runner = new EditCommandRunner(replicateEnv())) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(noise(), "replicate", "qwen-image-edit-plus", "x"));
			assertFalse(run.failed(), run.failure());
			assertEquals(1, replicate.filesCreated());
			assertEquals(0, replicate.filesLeft(), "the file of a long job was not deleted: " + runner.log());
		}
	}

	@Test
	void aReplicateFailedEditLeavesNoFileBehind() throws Exception {
		replicate.jobsEndWith(AsyncJobEmulator.Phase.FAILED, "CUDA out of memory");
		try (EditCommandRunner runner = new EditCommandRunner(replicateEnv())) {
			String failed = runner.run(EditCommandRunner.inputs(noise(), "replicate", "qwen-image-edit-plus", "x")).failure();
			assertTrue(failed.contains("CUDA out of memory"), failed);
			assertEquals(1, replicate.filesCreated());
			assertEquals(0, replicate.filesLeft(), "a failed edit left its upload behind");
		}
	}

	@Test
	void aReplicateCancelledEditLeavesNoFileBehind() throws Exception {
		replicate.longestWait(Duration.ofMillis(50)).jobsNeverFinish();
		try (EditCommandRunner runner = new EditCommandRunner(replicateEnv())) {
			Future<Module> running = runner.start(EditCommandRunner.inputs(noise(), "replicate", "qwen-image-edit-plus", "x"));
			long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
			while ((replicate.jobs().isEmpty() || replicate.requestCount("/v1/predictions/" + replicate.lastJob().id) == 0) &&
				System.nanoTime() < until)
			{
				Thread.sleep(20);
			}
			assertEquals(1, replicate.filesLeft(), "the input was not uploaded before the job ran");
			assertEquals(1, runner.editService().cancelAll());
			EditCommandRunner.Run run = new EditCommandRunner.Run(running.get(30, TimeUnit.SECONDS));
			assertTrue(run.failed());
			assertTrue(replicate.lastJob().cancelRequested());
			assertEquals(0, replicate.filesLeft(), "a cancelled edit left its upload behind");
		}
	}

	/** An upload fal cannot delete outlives a failed edit too: the failure says how long it stays. */
	@Test
	void aFalFailedEditSaysHowLongTheUploadStays() throws Exception {
		fal.jobsEndWith(AsyncJobEmulator.Phase.FAILED, "The model failed");
		try (EditCommandRunner runner = new EditCommandRunner(falEnv())) {
			String failed = runner.run(EditCommandRunner.inputs(pattern("c.tif", 400, 400), "fal", "fal-ai/qwen-image-2/edit",
				"x")).failure();
			assertTrue(failed.contains("The model failed. The input image was uploaded"), failed);
			assertTrue(failed.contains("fal.ai's storage") && failed.contains("60 minutes"), failed);
			assertEquals(1, fal.storedFileCount());
		}
	}

	/**
	 * {@code FAL_REST_BASE_URL} is an address the user configured, so plain http is allowed to it as
	 * to the other base URLs: here it names the emulator by another host name than the queue's, and
	 * the upload reaches it only because it was configured.
	 */
	@Test
	void aConfiguredPlainHttpRestHostIsUsedForTheUpload() throws Exception {
		Map<String, String> env = falEnv();
		env.put("FAL_REST_BASE_URL", fal.baseUrl().replace("127.0.0.1", "localhost"));
		try (EditCommandRunner runner = new EditCommandRunner(env)) {
			EditCommandRunner.Run run = runner.run(EditCommandRunner.inputs(pattern("c.tif", 400, 400), "fal",
				"fal-ai/qwen-image-2/edit", "x"));
			assertFalse(run.failed(), run.failure());
			assertEquals("localhost:" + URI.create(fal.baseUrl()).getPort(),
				fal.requests("/storage/upload/initiate").get(0).header("Host"));
		}
	}

	/**
	 * PixelDojo documents its input only as an array of links and no upload or data-URI route
	 * (https://pixeldojo.ai/api-platform/qwen-image-2-edit): without a bucket the edit is refused
	 * before anything is sent, with what to configure.
	 */
	@Test
	void pixelDojoWithoutABucketIsRefusedBeforeAnythingIsSent() throws Exception {
		io.github.qwenedit.emulator.PixelDojoEmulator pixeldojo = bed.serve(
			new io.github.qwenedit.emulator.PixelDojoEmulator("pd_no_bucket_1c4f"));
		try (EditCommandRunner runner = new EditCommandRunner(ProviderTestBed.envWithoutBucket("PIXELDOJO_API_KEY",
			"pd_no_bucket_1c4f", "PIXELDOJO_BASE_URL", pixeldojo)))
		{
			String refused = runner.run(EditCommandRunner.inputs(pattern("c.tif", 400, 400), "pixeldojo", "qwen-image-2.0",
				"x")).failure();
			assertTrue(refused.contains("needs a bucket") && refused.contains("QWEN_EDIT_BUCKET"), refused);
			assertEquals(0, pixeldojo.requests().size());
		}
	}

	/**
	 * Replicate: "only the uploader's predictions can read them". A prediction made with another
	 * account's token fails to read the file; the owner's reads it.
	 */
	@Test
	void aReplicateFileIsReadOnlyByPredictionsOfItsUploader() throws Exception {
		String other = "r8_other_account_9f1b";
		replicate.alsoAccept(other);
		HttpClient client = HttpClient.newHttpClient();
		java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
		javax.imageio.ImageIO.write(pattern("p", 64, 64).getBufferedImage(), "png", png);
		String boundary = "b0undary";
		java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
		body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"content\"; filename=\"a.png\"\r\n" +
			"Content-Type: image/png\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
		body.write(png.toByteArray());
		body.write(("\r\n--" + boundary + "--\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
		HttpResponse<String> created = client.send(HttpRequest.newBuilder(URI.create(replicate.baseUrl() + "/v1/files"))
			.header("Authorization", "Bearer " + TOKEN).header("Content-Type", "multipart/form-data; boundary=" + boundary)
			.POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
		assertEquals(201, created.statusCode(), created.body());
		JsonNode file = new ObjectMapper().readTree(created.body());
		String link = file.path("urls").path("get").asText();
		for (String token : new String[] { other, TOKEN }) {
			HttpResponse<String> prediction = client.send(HttpRequest.newBuilder(URI.create(replicate.baseUrl() +
				"/v1/models/qwen/qwen-image-edit-plus/predictions")).header("Authorization", "Bearer " + token)
				.header("Prefer", "wait=10").POST(HttpRequest.BodyPublishers.ofString("{\"input\":{\"prompt\":\"x\",\"image\":[\"" +
					link + "\"]}}")).build(), HttpResponse.BodyHandlers.ofString());
			String status = new ObjectMapper().readTree(prediction.body()).path("status").asText();
			assertEquals(token.equals(TOKEN) ? "succeeded" : "failed", status, prediction.body());
		}
		HttpResponse<String> othersList = client.send(HttpRequest.newBuilder(URI.create(replicate.baseUrl() + "/v1/files"))
			.header("Authorization", "Bearer " + other).build(), HttpResponse.BodyHandlers.ofString());
		assertEquals(0, new ObjectMapper().readTree(othersList.body()).path("results").size());
		HttpResponse<String> deleted = client.send(HttpRequest.newBuilder(URI.create(link)).header("Authorization",
			"Bearer " + TOKEN).DELETE().build(), HttpResponse.BodyHandlers.ofString());
		assertEquals(204, deleted.statusCode());
		assertEquals(0, replicate.filesLeft());
	}
}
