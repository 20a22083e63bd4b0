package io.github.qwenedit.bench;

import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.Deadline;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.ProgressListener;
import io.github.qwenedit.emulator.AsyncJobEmulator;
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.emulator.ReplicateEmulator;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.http.RetryPolicy;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.JobPoller;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.registry.ProviderRegistry;
import okhttp3.HttpUrl;

/**
 * The plugin side by side with the providers' official JavaScript clients ({@code @fal-ai/client},
 * {@code replicate}, pinned in {@code bench/peers/package.json}) on the same emulators and the same
 * edit: one input image, 2.25 s processing (not a multiple of any poll interval), one output. For
 * each: the wait beyond completion (the emulator marking the job complete to the client holding the
 * result), the overhead (end to end, output downloaded, minus the processing) and the API calls per
 * edit, as medians; then the plugin's figures divided by each peer's.
 *
 * <p>Both sides time with the same monotonic clock: {@link System#nanoTime()} and node's
 * {@code process.hrtime} both read CLOCK_MONOTONIC on Linux, which the start-up handshake checks.
 */
public final class PeerBenchmarks {

	/** One line of the benchmark table. */
	public record Row(String scenario, String figure, String target) {}

	/** The table's lines and the same figures for the results file. */
	public record Outcome(List<Row> rows, Map<String, Object> results) {}

	private static final Duration PROCESSING = Duration.ofMillis(2250);
	private static final String KEY = "peer-bench-key";
	private static final String INSTRUCTION = "remove the scale bar";
	private static final Duration ONE_EDIT_AT_MOST = Duration.ofSeconds(60);
	private static final int WARM_UP_ROUNDS = 2;

	/** Medians of one client's edits. */
	private record Figures(double waitMs, double overheadMs, double calls) {

		Map<String, Object> asMap() {
			return Map.of("wait_beyond_completion_median_ms", waitMs, "overhead_median_ms", overheadMs,
				"api_calls_per_edit", calls);
		}

		String describe() {
			return String.format("wait %.1f ms, overhead %.0f ms, %.0f calls", waitMs, overheadMs, calls);
		}
	}

	/** One edit's timestamps on the shared clock. */
	private record Sample(long start, long result, long end) {}

	/** Runs one edit against the emulator and reports when it started, had its result and finished. */
	@FunctionalInterface
	private interface Client {
		Sample edit() throws Exception;
	}

	private PeerBenchmarks() {}

	/**
	 * Installs the pinned peers ({@code npm ci} in {@code bench/peers}), runs every client {@code runs}
	 * times after two warm-up edits, and returns the table and the figures.
	 */
	public static Outcome run(int runs) throws Exception {
		Path peers = Path.of("bench", "peers").toAbsolutePath();
		install(peers);
		List<Row> rows = new ArrayList<>();
		Map<String, Object> results = new LinkedHashMap<>();
		System.out.printf("Peers: the official JavaScript clients on the same emulators, %d ms processing, medians of %d:%n",
			PROCESSING.toMillis(), runs);
		try (InputImageServer input = new InputImageServer()) {
			Map<String, Supplier<AsyncJobEmulator<?>>> emulators = new LinkedHashMap<>();
			emulators.put("fal", () -> new FalEmulator(KEY));
			emulators.put("replicate", () -> new ReplicateEmulator(KEY));
			Map<String, String> models = Map.of("fal", "fal-ai/qwen-image-2/edit", "replicate", "qwen-image-edit-plus");
			// The clients' defaults (fal: polling every 500 ms, queue.js DEFAULT_POLL_INTERVAL; replicate: run()
			// blocks with "Prefer: wait", index.js `wait = { mode: "block" }`), then their tuned settings.
			Map<String, List<String[]>> peerSettings = Map.of(
				"fal", List.of(new String[] { "default (polling every 500 ms)", "{}" },
					new String[] { "tuned: pollInterval 100 ms", "{\"pollInterval\":100}" },
					new String[] { "tuned: mode streaming (status stream)", "{\"mode\":\"streaming\"}" }),
				"replicate", List.of(new String[] { "default (Prefer: wait)", "{}" },
					new String[] { "poll mode (every 500 ms)", "{\"wait\":{\"mode\":\"poll\"}}" },
					new String[] { "tuned poll mode: interval 100 ms", "{\"wait\":{\"mode\":\"poll\",\"interval\":100}}" }));
			for (Map.Entry<String, Supplier<AsyncJobEmulator<?>>> provider : emulators.entrySet()) {
				String id = provider.getKey();
				List<String[]> settings = peerSettings.get(id);
				List<AutoCloseable> open = new ArrayList<>();
				List<Figures> figures;
				try {
					// Each client has an emulator of its own, so completion times and request counts stay apart.
					List<AsyncJobEmulator<?>> servers = new ArrayList<>();
					List<Client> clients = new ArrayList<>();
					// fal's last contender is the plugin made to poll, as it did before it read the status stream.
					int contenders = settings.size() + (id.equals("fal") ? 2 : 1);
					for (int c = 0; c < contenders; c++) {
						AsyncJobEmulator<?> emulator = provider.getValue().get();
						open.add(emulator);
						emulator.processingDelay(PROCESSING);
						servers.add(emulator);
						if (c == 0 || c > settings.size()) {
							if (c > 0) ((FalEmulator) emulator).statusStream(FalEmulator.StatusStream.REFUSED);
							clients.add(pluginClient(id, models.get(id), emulator, input));
						}
						else {
							PeerProcess process = new PeerProcess(peers, id, emulator.baseUrl(), input.url(), settings.get(c - 1)[1]);
							open.add(process);
							clients.add(process::edit);
						}
					}
					figures = measure(servers, clients, runs);
				}
				finally {
					for (AutoCloseable closeable : open) closeable.close();
				}
				Figures plugin = figures.get(0);
				Map<String, Object> byClient = new LinkedHashMap<>();
				byClient.put("plugin", plugin.asMap());
				rows.add(new Row("Peers, " + id + ": the plugin", plugin.describe(), ""));
				System.out.printf("    %-10s %-40s %s%n", id, "plugin", plugin.describe());
				for (int c = 0; c < settings.size(); c++) {
					String[] setting = settings.get(c);
					Figures peer = figures.get(c + 1);
					double waitRatio = plugin.waitMs() / peer.waitMs();
					double overheadRatio = plugin.overheadMs() / peer.overheadMs();
					Map<String, Object> entry = new LinkedHashMap<>(peer.asMap());
					entry.put("settings", setting[1]);
					entry.put("plugin_over_peer_wait", waitRatio);
					entry.put("plugin_over_peer_overhead", overheadRatio);
					byClient.put(setting[0], entry);
					String peerName = id.equals("fal") ? "@fal-ai/client" : "replicate (npm)";
					rows.add(new Row("Peers, " + id + ": " + peerName + ", " + setting[0], peer.describe() +
						String.format("; plugin/peer: wait %.2f, overhead %.2f", waitRatio, overheadRatio), "≤ 1.0"));
					System.out.printf("    %-10s %-40s %s; plugin/peer: wait %.2f, overhead %.2f%n", id, setting[0],
						peer.describe(), waitRatio, overheadRatio);
				}
				if (figures.size() > settings.size() + 1) {
					Figures polling = figures.get(settings.size() + 1);
					byClient.put("plugin, status stream refused (polling)", polling.asMap());
					rows.add(new Row("Peers, " + id + ": the plugin with the status stream refused (it polls, as before " +
						"the stream; one refused call included)", polling.describe(), ""));
					System.out.printf("    %-10s %-40s %s%n", id, "plugin, stream refused (polling)", polling.describe());
				}
				results.put(id, byClient);
			}
		}
		return new Outcome(rows, results);
	}

	/** {@code npm ci}: exactly the versions of package-lock.json, into bench/peers/node_modules. */
	private static void install(Path peers) throws IOException, InterruptedException {
		Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(peers.toFile())
			.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
		if (!npm.waitFor(5, TimeUnit.MINUTES) || npm.exitValue() != 0) {
			npm.destroyForcibly();
			throw new IllegalStateException("npm ci in " + peers + " failed; the peers need node and npm");
		}
	}

	/**
	 * Runs the clients in turn, round after round, so that the load of the shared machine drifts alike
	 * for all of them; the first rounds warm up both runtimes (class loading, JIT, first connections).
	 */
	private static List<Figures> measure(List<AsyncJobEmulator<?>> emulators, List<Client> clients, int runs)
		throws Exception
	{
		List<List<double[]>> samples = new ArrayList<>();
		clients.forEach(c -> samples.add(new ArrayList<>()));
		for (int round = 0; round < WARM_UP_ROUNDS + runs; round++) {
			for (int c = 0; c < clients.size(); c++) {
				AsyncJobEmulator<?> emulator = emulators.get(c);
				long before = apiCalls(emulator);
				Sample sample = clients.get(c).edit();
				if (round < WARM_UP_ROUNDS) continue;
				samples.get(c).add(new double[] { (sample.result() - emulator.lastCompletedNanos()) / 1e6,
					(sample.end() - sample.start()) / 1e6 - PROCESSING.toMillis(), apiCalls(emulator) - before });
			}
		}
		List<Figures> figures = new ArrayList<>();
		for (List<double[]> client : samples) {
			figures.add(new Figures(median(client, 0), median(client, 1), median(client, 2)));
		}
		return figures;
	}

	/** Requests to the provider's API, the output downloads left out. */
	private static long apiCalls(AsyncJobEmulator<?> emulator) {
		return emulator.requests().stream().filter(r -> !r.path().startsWith("/outputs/")).count();
	}

	private static double median(List<double[]> samples, int column) {
		List<Double> sorted = new ArrayList<>();
		samples.forEach(sample -> sorted.add(sample[column]));
		Collections.sort(sorted);
		int n = sorted.size();
		return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
	}

	/** The plugin's own path without staging: its provider class, JobPoller and download, as EditSession runs them. */
	private static Client pluginClient(String id, String model, AsyncJobEmulator<?> emulator, InputImageServer input)
		throws Exception
	{
		ProviderDescriptor descriptor = ProviderRegistry.get(id);
		EditProvider provider = descriptor.create(Configuration.of(Map.of(descriptor.keyVariable(), KEY,
			descriptor.baseUrlVariable(), emulator.baseUrl())));
		Set<String> plainHttp = Set.of(Http.hostKey(HttpUrl.get(emulator.baseUrl())), Http.hostKey(HttpUrl.get(input.url())));
		EditRequest request = new EditRequest(List.of(input.image()), INSTRUCTION, EditOptions.builder(model).build());
		return () -> {
			Http http = new Http(RetryPolicy.DEFAULT, new Cancellation(), Deadline.after(ONE_EDIT_AT_MOST), plainHttp);
			long start = System.nanoTime();
			JobState state = provider.submit(request, List.of(input.url()), http);
			if (!state.status().isFinal()) state = JobPoller.awaitFinal(provider, state, http, ProgressListener.NONE);
			long result = System.nanoTime();
			if (state.status() != JobState.Status.SUCCEEDED) {
				throw new IllegalStateException("the plugin's " + id + " edit failed: " + state.error().map(Exception::getMessage));
			}
			for (String url : state.outputUrls()) {
				http.download(url, Http.DEFAULT_DOWNLOAD_CAP_BYTES, provider.displayName());
			}
			return new Sample(start, result, System.nanoTime());
		};
	}

	/** One {@code node peer.mjs} process: one edit per "run" line, one JSON line of timestamps back. */
	private static final class PeerProcess implements AutoCloseable {

		private final Process process;
		private final BufferedReader out;
		private final Writer in;
		private final ExecutorService reader = Executors.newSingleThreadExecutor(r -> {
			Thread thread = new Thread(r, "peer-output");
			thread.setDaemon(true);
			return thread;
		});

		PeerProcess(Path peers, String client, String baseUrl, String imageUrl, String settings) throws Exception {
			long spawned = System.nanoTime();
			process = new ProcessBuilder("node", "peer.mjs", client, baseUrl, KEY, imageUrl, settings).directory(peers.toFile())
				.redirectError(ProcessBuilder.Redirect.INHERIT).start();
			out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
			in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
			try {
				JsonNode ready = nextLine();
				long now = ready.path("now").asLong();
				if (!ready.path("ready").asBoolean() || now < spawned || now > System.nanoTime()) {
					throw new IllegalStateException("node's clock is not the JVM's monotonic clock, so waits cannot be " +
						"compared: " + ready);
				}
			}
			catch (Exception e) {
				process.destroyForcibly();
				reader.shutdownNow();
				throw e;
			}
		}

		Sample edit() throws Exception {
			in.write("run\n");
			in.flush();
			JsonNode line = nextLine();
			if (line.has("error")) throw new IllegalStateException("the peer's edit failed: " + line.path("error").asText());
			return new Sample(line.path("start").asLong(), line.path("result").asLong(), line.path("end").asLong());
		}

		private JsonNode nextLine() throws Exception {
			Future<String> line = reader.submit(out::readLine);
			String text = line.get(ONE_EDIT_AT_MOST.toSeconds(), TimeUnit.SECONDS);
			if (text == null) throw new IllegalStateException("the peer process ended early");
			return Json.MAPPER.readTree(text);
		}

		@Override
		public void close() throws Exception {
			try {
				in.write("quit\n");
				in.flush();
			}
			catch (IOException alreadyGone) {
				// It ended on its own.
			}
			if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
			reader.shutdownNow();
		}
	}

	/** Serves the one input image on 127.0.0.1, as the user's bucket would through a presigned link. */
	private static final class InputImageServer implements AutoCloseable {

		private final HttpServer server;
		private final InputImage image;

		InputImageServer() throws IOException {
			BufferedImage pattern = new BufferedImage(256, 256, BufferedImage.TYPE_INT_RGB);
			for (int y = 0; y < 256; y++) {
				for (int x = 0; x < 256; x++) {
					pattern.setRGB(x, y, (x << 16) | (y << 8) | ((x ^ y) & 0xff));
				}
			}
			ByteArrayOutputStream png = new ByteArrayOutputStream();
			ImageIO.write(pattern, "png", png);
			image = InputImage.png(png.toByteArray(), 256, 256, "peer-input");
			server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
			server.createContext("/input.png", exchange -> {
				exchange.getRequestBody().readAllBytes();
				exchange.getResponseHeaders().set("Content-Type", "image/png");
				exchange.sendResponseHeaders(200, image.bytes().length);
				try (OutputStream body = exchange.getResponseBody()) {
					body.write(image.bytes());
				}
			});
			server.setExecutor(Executors.newCachedThreadPool(r -> {
				Thread thread = new Thread(r, "peer-input");
				thread.setDaemon(true);
				return thread;
			}));
			server.start();
		}

		String url() {
			return "http://127.0.0.1:" + server.getAddress().getPort() + "/input.png";
		}

		InputImage image() {
			return image;
		}

		@Override
		public void close() {
			server.stop(0);
		}
	}

	static {
		// The input server writes headers and body separately, as the emulators do: without this, Nagle's
		// algorithm would delay every input fetch and charge it to both sides.
		System.setProperty("sun.net.httpserver.nodelay", "true");
	}
}
