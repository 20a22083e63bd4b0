package io.github.qwenedit.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

class DashScopeEmulatorTest {

	private static final String KEY = "sk-emulator-test-key";
	private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

	private DashScopeEmulator dashscope;

	@BeforeEach
	void start() {
		dashscope = new DashScopeEmulator(KEY);
	}

	@AfterEach
	void stop() {
		dashscope.close();
	}

	// ---- the happy path ----

	@Test
	void editsADataUriIntoTwoServedPngsThatFollowTheFakeEditRule() throws Exception {
		BufferedImage input = gradient(40, 30);
		ObjectNode body = editBody("qwen-image-2.0", dataUri(png(input)));
		body.putObject("parameters").put("n", 2).put("seed", 42).put("watermark", false);

		HttpResponse<String> response = post(body, KEY);

		assertEquals(200, response.statusCode(), response.body());
		JsonNode answer = EmulatorServer.JSON.readTree(response.body());
		JsonNode content = answer.at("/output/choices/0/message/content");
		assertEquals(2, content.size());
		assertEquals("stop", answer.at("/output/choices/0/finish_reason").asText());
		assertEquals("assistant", answer.at("/output/choices/0/message/role").asText());
		assertEquals(40, answer.at("/usage/width").asInt());
		assertEquals(30, answer.at("/usage/height").asInt());
		assertEquals(2, answer.at("/usage/image_count").asInt());
		assertFalse(answer.path("request_id").asText().isEmpty());

		for (int i = 0; i < 2; i++) {
			HttpResponse<byte[]> link = get(content.get(i).get("image").asText());
			assertEquals(200, link.statusCode());
			assertEquals("image/png", link.headers().firstValue("Content-Type").orElse(""));
			BufferedImage output = ImageIO.read(new ByteArrayInputStream(link.body()));
			assertEquals(40, output.getWidth());
			assertEquals(30, output.getHeight());
			for (int y = 0; y < 30; y++) {
				for (int x = 0; x < 40; x++) {
					assertEquals(FakeEdit.expectedRgb(input, 40, 30, i, x, y), output.getRGB(x, y) & 0xFFFFFF);
				}
			}
			assertEquals(FakeEdit.markerRgb(i), output.getRGB(0, 0) & 0xFFFFFF);
			assertEquals(~input.getRGB(20, 15) & 0xFFFFFF, output.getRGB(20, 15) & 0xFFFFFF);
		}
		assertNotEquals(FakeEdit.markerRgb(0), FakeEdit.markerRgb(1));
	}

	@Test
	void recordsTheBodyTheHeadersAndTheDecodedInputs() throws Exception {
		BufferedImage first = gradient(24, 16);
		BufferedImage last = gradient(50, 20);
		ObjectNode body = editBody("qwen-image-edit-plus-2025-12-15", dataUri(png(first)), dataUri(png(last)));

		assertEquals(200, post(body, KEY).statusCode());

		DashScopeEmulator.ReceivedEdit edit = dashscope.lastEdit();
		assertEquals(body, edit.body());
		assertEquals("qwen-image-edit-plus-2025-12-15", edit.model());
		assertEquals("invert the image", edit.prompt());
		assertEquals(List.of(24, 50), List.of(edit.inputs().get(0).width(), edit.inputs().get(1).width()));
		assertEquals("image/png", edit.inputs().get(0).contentType());
		assertEquals(50, edit.outputWidth(), "without a size the output follows the LAST input");
		assertEquals(20, edit.outputHeight());
		assertEquals("Bearer " + KEY, edit.request().header("authorization"));
		assertFalse(edit.request().mentionsOutside(KEY, "Authorization"));
		assertEquals(1, dashscope.requestCount(DashScopeEmulator.GENERATION_PATH));
	}

	@Test
	void downloadsAnInputFromAUrlLikeThePresignedOnesOfABucket() throws Exception {
		BufferedImage input = gradient(32, 32);
		try (DashScopeEmulator bucket = new DashScopeEmulator("other")) {
			String url = bucket.publishPng(png(input));

			assertEquals(200, post(editBody("qwen-image-2.0-pro", url), KEY).statusCode());

			assertEquals(url, dashscope.lastEdit().inputs().get(0).reference());
			assertEquals(1, bucket.requests().size(), "the emulator fetched the input once");
		}
	}

	@Test
	void editMaxWithoutSizeAnswersAboutAMegapixelInTheLastInputsAspect() throws Exception {
		assertEquals(200, post(editBody("qwen-image-edit-max", dataUri(png(gradient(40, 20)))), KEY).statusCode());

		assertEquals(1456, dashscope.lastEdit().outputWidth());
		assertEquals(720, dashscope.lastEdit().outputHeight());
	}

	// ---- authentication and gateway ----

	@Test
	void refusesAWrongOrMissingKeyWith401() throws Exception {
		ObjectNode body = editBody("qwen-image-2.0", dataUri(png(gradient(16, 16))));
		for (String key : new String[] { "sk-wrong", null }) {
			HttpResponse<String> response = post(body, key);
			assertEquals(401, response.statusCode());
			JsonNode error = EmulatorServer.JSON.readTree(response.body());
			assertEquals("InvalidApiKey", error.path("code").asText());
			assertEquals("Invalid API-key provided.", error.path("message").asText());
			assertFalse(error.path("request_id").asText().isEmpty());
		}
		assertTrue(dashscope.edits().isEmpty());
	}

	@Test
	void refusesABodyOverSixMebibytesAsTooLarge() throws Exception {
		ObjectNode body = editBody("qwen-image-2.0", dataUri(png(gradient(16, 16))));
		body.withObject("/parameters").put("padding", "x".repeat(DashScopeEmulator.MAX_BODY_BYTES));

		HttpResponse<String> response = post(body, KEY);

		assertEquals(400, response.statusCode());
		JsonNode error = EmulatorServer.JSON.readTree(response.body()).path("error");
		assertEquals("BadRequest.TooLarge", error.path("type").asText());
		assertTrue(error.path("message").asText().endsWith("Exceeded limit on max bytes to request body : 6291456"));
		assertTrue(dashscope.requests().get(0).bodyLength() > DashScopeEmulator.MAX_BODY_BYTES);
	}

	// ---- validation ----

	private record Violation(String name, String code, Consumer<ObjectNode> change) {}

	@TestFactory
	Stream<DynamicTest> refusesEachDocumentedViolationWith400() throws IOException {
		String image = dataUri(png(gradient(16, 16)));
		List<Violation> violations = List.of(
			new Violation("missing model", "BadRequest.EmptyModel", b -> b.remove("model")),
			new Violation("unknown model", "InvalidParameter", model("qwen-image-edit-ultra")),
			new Violation("no input", "BadRequest.EmptyInput", b -> b.remove("input")),
			new Violation("two messages", "InvalidParameter", b -> messages(b).add(messages(b).get(0).deepCopy())),
			new Violation("assistant role", "InvalidParameter", b -> ((ObjectNode) messages(b).get(0)).put("role", "assistant")),
			new Violation("no image", "InvalidParameter", b -> content(b).remove(0)),
			new Violation("four images", "InvalidParameter", b -> {
				for (int i = 0; i < 3; i++) content(b).insertObject(0).put("image", image);
			}),
			new Violation("no text", "InvalidParameter", b -> content(b).remove(1)),
			new Violation("two texts", "InvalidParameter", b -> content(b).addObject().put("text", "again")),
			new Violation("blank text", "InvalidParameter", b -> ((ObjectNode) content(b).get(1)).put("text", " ")),
			new Violation("an item that is neither", "InvalidParameter", b -> content(b).addObject().put("video", "v.mp4")),
			new Violation("n = 0", "InvalidParameter", parameter("n", 0)),
			new Violation("n = 7", "InvalidParameter", parameter("n", 7)),
			new Violation("n as text", "InvalidParameter", parameter("n", "2")),
			new Violation("qwen-image-edit with n = 2", "InvalidParameter",
				model("qwen-image-edit").andThen(parameter("n", 2))),
			new Violation("size with x", "InvalidParameter", parameter("size", "1024x1024")),
			new Violation("2.0 below 512*512 pixels", "InvalidParameter", parameter("size", "512*511")),
			new Violation("2.0 above 2048*2048 pixels", "InvalidParameter", parameter("size", "2048*2049")),
			new Violation("edit-max side below 512", "InvalidParameter",
				model("qwen-image-edit-max").andThen(parameter("size", "511*1024"))),
			new Violation("edit-plus side above 2048", "InvalidParameter",
				model("qwen-image-edit-plus-2025-12-15").andThen(parameter("size", "4096*512"))),
			new Violation("qwen-image-edit with a size", "InvalidParameter",
				model("qwen-image-edit").andThen(parameter("size", "1024*1024"))),
			new Violation("old edit-plus with size and n = 2", "InvalidParameter",
				model("qwen-image-edit-plus").andThen(parameter("size", "1024*1024")).andThen(parameter("n", 2))),
			new Violation("negative prompt over 500", "InvalidParameter", parameter("negative_prompt", "n".repeat(501))),
			new Violation("seed below 0", "InvalidParameter", parameter("seed", -1)),
			new Violation("seed above 2^31-1", "InvalidParameter", parameter("seed", 2147483648L)),
			new Violation("prompt_extend as text", "InvalidParameter", parameter("prompt_extend", "yes")),
			new Violation("watermark as number", "InvalidParameter", parameter("watermark", 1)));
		return violations.stream().map(violation -> DynamicTest.dynamicTest(violation.name(), () -> {
			ObjectNode body = editBody("qwen-image-2.0", image);
			violation.change().accept(body);
			HttpResponse<String> response = post(body, KEY);
			assertEquals(400, response.statusCode(), response.body());
			assertEquals(violation.code(), EmulatorServer.JSON.readTree(response.body()).path("code").asText(), response.body());
		}));
	}

	@Test
	void aBodyThatIsNotJsonIsInvalid() throws Exception {
		HttpRequest request = HttpRequest.newBuilder(URI.create(dashscope.generationUrl()))
			.header("Authorization", "Bearer " + KEY)
			.POST(HttpRequest.BodyPublishers.ofString("{\"model\": "))
			.build();

		HttpResponse<String> response = CLIENT.send(request, HttpResponse.BodyHandlers.ofString());

		assertEquals(400, response.statusCode());
		assertEquals("InvalidParameter", EmulatorServer.JSON.readTree(response.body()).path("code").asText());
	}

	@TestFactory
	Stream<DynamicTest> acceptsWhatTheDocsAllow() throws IOException {
		String image = dataUri(png(gradient(16, 16)));
		Map<String, Consumer<ObjectNode>> accepted = Map.of(
			"a dated alias", model("qwen-image-2.0-pro-2026-03-03"),
			"a wide 2.0 size within the pixel total", parameter("size", "2048*512"),
			"edit-max at both side bounds", model("qwen-image-edit-max").andThen(parameter("size", "512*2048")),
			"new edit-plus with size and n = 2", model("qwen-image-edit-plus-2025-12-15")
				.andThen(parameter("size", "512*512")).andThen(parameter("n", 2)),
			"a prompt over 800 characters, which the service truncates",
			(Consumer<ObjectNode>) b -> ((ObjectNode) content(b).get(1)).put("text", "p".repeat(900)),
			"unknown parameters", parameter("style", "<auto>"),
			"seed at 2^31-1 with prompt_extend", parameter("seed", 2147483647L).andThen(parameter("prompt_extend", true)));
		return accepted.entrySet().stream().map(entry -> DynamicTest.dynamicTest(entry.getKey(), () -> {
			ObjectNode body = editBody("qwen-image-2.0", image);
			entry.getValue().accept(body);
			HttpResponse<String> response = post(body, KEY);
			assertEquals(200, response.statusCode(), response.body());
		}));
	}

	// ---- input images ----

	@Test
	void anUnreachableInputUrlIsADownloadError() throws Exception {
		int closedPort;
		try (ServerSocket socket = new ServerSocket(0)) {
			closedPort = socket.getLocalPort();
		}
		HttpResponse<String> response = post(editBody("qwen-image-2.0", "http://127.0.0.1:" + closedPort + "/in.png"), KEY);

		assertEquals(400, response.statusCode());
		JsonNode error = EmulatorServer.JSON.readTree(response.body());
		assertEquals("InvalidParameter", error.path("code").asText());
		assertEquals(DashScopeEmulator.DOWNLOAD_FAILED, error.path("message").asText());
	}

	@Test
	void anExpiredOrNonImageInputUrlIsADownloadError() throws Exception {
		try (DashScopeEmulator bucket = new DashScopeEmulator("other")) {
			String expired = bucket.publishPng(png(gradient(32, 32)));
			bucket.expireOutputs();
			assertDownloadFailed(post(editBody("qwen-image-2.0", expired), KEY));

			String html = bucket.nonImageOutputs().publishPng(png(gradient(32, 32)));
			assertDownloadFailed(post(editBody("qwen-image-2.0", html), KEY));
		}
	}

	@Test
	void aReferenceThatIsNoUrlIsAUrlError() throws Exception {
		for (String reference : List.of("file:///tmp/in.png", "oss://bucket/in.png", "in.png")) {
			HttpResponse<String> response = post(editBody("qwen-image-2.0", reference), KEY);
			assertEquals(400, response.statusCode());
			assertEquals(DashScopeEmulator.URL_ERROR, EmulatorServer.JSON.readTree(response.body()).path("message").asText());
		}
	}

	@Test
	void anInputFileOverTenMegabytesIsAnInvalidParameterNotADownloadError() throws Exception {
		BufferedImage noise = new BufferedImage(1830, 1830, BufferedImage.TYPE_INT_RGB);
		int[] pixels = ((java.awt.image.DataBufferInt) noise.getRaster().getDataBuffer()).getData();
		java.util.SplittableRandom random = new java.util.SplittableRandom(11);
		for (int i = 0; i < pixels.length; i++) {
			pixels[i] = random.nextInt(0x1000000);
		}
		byte[] large = io.github.qwenedit.codec.PngEncoder.encode(noise);
		assertTrue(large.length > DashScopeEmulator.MAX_IMAGE_BYTES, large.length + " bytes");
		try (DashScopeEmulator bucket = new DashScopeEmulator("other")) {
			HttpResponse<String> response = post(editBody("qwen-image-2.0", bucket.publishPng(large)), KEY);

			assertEquals(400, response.statusCode());
			JsonNode error = EmulatorServer.JSON.readTree(response.body());
			assertEquals("InvalidParameter", error.path("code").asText());
			assertEquals(DashScopeEmulator.PARAMETER_INVALID, error.path("message").asText());
			assertTrue(dashscope.edits().isEmpty());
		}
	}

	@Test
	void refusesAnInputOfTenPixelsOrLessOnASide() throws Exception {
		HttpResponse<String> response = post(editBody("qwen-image-2.0", dataUri(png(gradient(10, 40)))), KEY);

		assertEquals(400, response.statusCode());
		assertTrue(EmulatorServer.JSON.readTree(response.body()).path("message").asText()
			.contains("The image length and width do not meet the model restrictions. [height:40 or width:10"));
	}

	// ---- output links ----

	@Test
	void outputLinksExpireAfterTheirLifetimeAndUnknownOnesAre404() throws Exception {
		String url = firstOutputUrl(post(editBody("qwen-image-2.0", dataUri(png(gradient(16, 16)))), KEY));
		assertEquals(200, get(url).statusCode());
		assertTrue(url.contains("?Expires="), "links look like signed object URLs");

		dashscope.outputLifetime(Duration.ZERO);
		String shortLived = firstOutputUrl(post(editBody("qwen-image-2.0", dataUri(png(gradient(16, 16)))), KEY));
		assertEquals(403, get(shortLived).statusCode());

		dashscope.expireOutputs();
		assertEquals(403, get(url).statusCode());
		assertEquals(404, get(dashscope.baseUrl() + "/outputs/unknown.png").statusCode());
	}

	@Test
	void brokenOutputLinksAnswer404AndNonImageOnesServeHtml() throws Exception {
		String url = firstOutputUrl(post(editBody("qwen-image-2.0", dataUri(png(gradient(16, 16)))), KEY));

		dashscope.nonImageOutputs();
		HttpResponse<byte[]> html = get(url);
		assertEquals(200, html.statusCode());
		assertTrue(html.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));

		dashscope.breakOutputLinks();
		assertEquals(404, get(url).statusCode());
	}

	// ---- fault injection ----

	@Test
	void readyMadeFailuresAnswerOnceInDashScopesShape() throws Exception {
		ObjectNode body = editBody("qwen-image-2.0", dataUri(png(gradient(16, 16))));
		dashscope.failNext(DashScopeEmulator.Failure.THROTTLING_RATE_QUOTA).failNext(DashScopeEmulator.Failure.INTERNAL_ERROR);

		HttpResponse<String> throttled = post(body, KEY);
		HttpResponse<String> internal = post(body, KEY);
		HttpResponse<String> fine = post(body, KEY);

		assertEquals(429, throttled.statusCode());
		assertEquals("Throttling.RateQuota", EmulatorServer.JSON.readTree(throttled.body()).path("code").asText());
		assertEquals(500, internal.statusCode());
		assertEquals("InternalError", EmulatorServer.JSON.readTree(internal.body()).path("code").asText());
		assertEquals(200, fine.statusCode());
		assertEquals(3, dashscope.requestCount(DashScopeEmulator.GENERATION_PATH));
	}

	@Test
	void aRawFailureCarriesItsBodyAndHeadersVerbatim() throws Exception {
		dashscope.failNextWith(503, "{\"truncated\":", Map.of("Retry-After", "7"));

		HttpResponse<String> response = post(editBody("qwen-image-2.0", "unused"), KEY);

		assertEquals(503, response.statusCode());
		assertEquals("{\"truncated\":", response.body());
		assertEquals("7", response.headers().firstValue("Retry-After").orElse(""));
	}

	@Test
	void aHungRequestIsNeverAnsweredWhileOthersAre() throws Exception {
		ObjectNode body = editBody("qwen-image-2.0", dataUri(png(gradient(16, 16))));
		dashscope.hangNext();

		HttpRequest hanging = request(body, KEY).timeout(Duration.ofMillis(400)).build();
		var pending = CLIENT.sendAsync(hanging, HttpResponse.BodyHandlers.ofString());
		for (int i = 0; i < 100 && dashscope.requestCount(DashScopeEmulator.GENERATION_PATH) == 0; i++) {
			Thread.sleep(10);
		}
		assertEquals(200, post(body, KEY).statusCode());
		var failure = assertThrows(java.util.concurrent.ExecutionException.class, pending::get);
		assertTrue(failure.getCause() instanceof HttpTimeoutException, failure.getCause().toString());
	}

	@Test
	void theProcessingDelayHoldsBackOnlySuccessfulEdits() throws Exception {
		dashscope.processingDelay(Duration.ofMillis(300));
		ObjectNode body = editBody("qwen-image-2.0", dataUri(png(gradient(16, 16))));

		long start = System.nanoTime();
		assertEquals(401, post(body, "sk-wrong").statusCode());
		long refusedMillis = (System.nanoTime() - start) / 1_000_000;
		assertEquals(200, post(body, KEY).statusCode());
		long editedMillis = (System.nanoTime() - start) / 1_000_000 - refusedMillis;

		assertTrue(refusedMillis < 300, "refused in " + refusedMillis + " ms");
		assertTrue(editedMillis >= 300, "edited in " + editedMillis + " ms");
	}

	// ---- helpers ----

	private HttpResponse<String> post(JsonNode body, String key) throws IOException, InterruptedException {
		return CLIENT.send(request(body, key).build(), HttpResponse.BodyHandlers.ofString());
	}

	private HttpRequest.Builder request(JsonNode body, String key) throws IOException {
		HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(dashscope.generationUrl()))
			.timeout(Duration.ofSeconds(10))
			.header("Content-Type", "application/json")
			.POST(HttpRequest.BodyPublishers.ofByteArray(EmulatorServer.JSON.writeValueAsBytes(body)));
		if (key != null) builder.header("Authorization", "Bearer " + key);
		return builder;
	}

	private static HttpResponse<byte[]> get(String url) throws IOException, InterruptedException {
		return CLIENT.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
			HttpResponse.BodyHandlers.ofByteArray());
	}

	private static String firstOutputUrl(HttpResponse<String> response) throws IOException {
		assertEquals(200, response.statusCode(), response.body());
		return EmulatorServer.JSON.readTree(response.body()).at("/output/choices/0/message/content/0/image").asText();
	}

	private static void assertDownloadFailed(HttpResponse<String> response) throws IOException {
		assertEquals(400, response.statusCode());
		assertEquals(DashScopeEmulator.DOWNLOAD_FAILED, EmulatorServer.JSON.readTree(response.body()).path("message").asText());
	}

	/** The documented request shape (docs/providers.md §1.3) with one text after the images. */
	static ObjectNode editBody(String model, String... images) {
		ObjectNode body = EmulatorServer.JSON.createObjectNode().put("model", model);
		ArrayNode content = body.putObject("input").putArray("messages").addObject().put("role", "user")
			.putArray("content");
		for (String image : images) {
			content.addObject().put("image", image);
		}
		content.addObject().put("text", "invert the image");
		return body;
	}

	private static ArrayNode messages(ObjectNode body) {
		return (ArrayNode) body.at("/input/messages");
	}

	private static ArrayNode content(ObjectNode body) {
		return (ArrayNode) body.at("/input/messages/0/content");
	}

	private static Consumer<ObjectNode> model(String model) {
		return body -> body.put("model", model);
	}

	private static Consumer<ObjectNode> parameter(String name, Object value) {
		return body -> body.withObject("/parameters").set(name, EmulatorServer.JSON.valueToTree(value));
	}

	/** Distinct values on every channel, so a wrong scaling or channel order shows. */
	static BufferedImage gradient(int width, int height) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				image.setRGB(x, y, (x * 255 / width) << 16 | (y * 255 / height) << 8 | (x + y) * 7 % 256);
			}
		}
		return image;
	}

	static byte[] png(BufferedImage image) throws IOException {
		var out = new java.io.ByteArrayOutputStream();
		ImageIO.write(image, "png", out);
		return out.toByteArray();
	}

	static String dataUri(byte[] png) {
		return "data:image/png;base64," + Base64.getEncoder().encodeToString(png);
	}
}
