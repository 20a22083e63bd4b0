package io.github.qwenedit.bench;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import ij.ImagePlus;
import ij.io.FileSaver;
import io.github.qwenedit.cli.QwenEditCliRunner;
import io.github.qwenedit.codec.InputFitting;
import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.EmulatorServer;
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.emulator.PixelDojoEmulator;
import io.github.qwenedit.emulator.ReplicateEmulator;
import io.github.qwenedit.engine.EditSession;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.images.ImageEncoder;
import io.github.qwenedit.images.ResultImages;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.registry.ProviderRegistry;
import io.github.qwenedit.staging.BucketConfig;
import io.github.qwenedit.staging.S3Staging;
import io.github.qwenedit.staging.S3TestServer;
import io.github.qwenedit.staging.StagingChoice;
import io.github.qwenedit.staging.StagingPlanner;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The plugin's overhead and throughput against the emulators, measured side by side in one run and
 * reported as medians and ratios (the machines are shared and noisy). Not a test: run it with
 * {@code mvn -B -Pbenchmark verify}; it prints a table and writes target/benchmark/results.json.
 */
public final class Benchmarks {

	private static final String KEY = "bench-key";
	private static final Map<String, Object> RESULTS = new LinkedHashMap<>();
	private static final List<String[]> TABLE = new ArrayList<>();

	private Benchmarks() {}

	public static void main(String[] args) throws Exception {
		System.setProperty("java.awt.headless", "true");
		int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
		// A second argument such as "p3,p4" runs only those scenarios, while working on one of them.
		Set<String> only = args.length > 1 ? Set.of(args[1].split(",")) : Set.of("p1", "p1w", "p2", "p3", "p4", "comfyui",
			"comfyui2");
		Path dir = Path.of("target", "benchmark");
		Files.createDirectories(dir);
		try (S3TestServer s3 = S3TestServer.start()) {
			emulatorDelay();
			if (only.contains("p1")) p1Overhead(s3, runs);
			if (only.contains("p1w")) p1wWaitBeyondCompletion(s3, runs);
			if (only.contains("p2")) p2Batch(s3, dir);
			if (only.contains("p3")) p3Memory(s3);
			if (only.contains("comfyui")) comfyUiOverhead(runs);
			if (only.contains("comfyui2")) comfyUiTwoServers();
			if (Boolean.getBoolean("qwenedit.benchmark.peers")) peers(runs);
		}
		if (only.contains("p4")) p4Startup();
		printTable();
		Path out = dir.resolve("results.json");
		Files.write(out, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(RESULTS));
		System.out.println("\nwritten " + out);
		System.exit(0);
	}

	/** The official JavaScript clients side by side with the plugin; only when asked, since it needs node and npm. */
	private static void peers(int runs) throws Exception {
		PeerBenchmarks.Outcome peers = PeerBenchmarks.run(runs);
		peers.rows().forEach(r -> row(r.scenario(), r.figure(), r.target()));
		result("peers", peers.results());
	}

	/** Keeps a figure for results.json; other benchmark classes of this run add theirs here too. */
	static void result(String key, Object value) {
		RESULTS.put(key, value);
	}

	/** One line of the summary table: what was measured, the figure, and the target. */
	static void row(String scenario, String figure, String target) {
		TABLE.add(new String[] { scenario, figure, target });
	}

	private static void printTable() {
		System.out.println("\nSummary (medians; the machine is shared, so compare ratios from one run):");
		for (String[] r : TABLE) {
			System.out.printf("  %-58s | %-70s | %s%n", r[0], r[1], r[2]);
		}
	}

	/** Runs {@code main} in a JVM of its own on this class path and returns what it printed. */
	static List<String> childJvm(List<String> jvmOptions, String classPath, Class<?> main, List<String> args,
		Map<String, String> env) throws Exception
	{
		List<String> command = new ArrayList<>();
		command.add(ProcessHandle.current().info().command().orElse("java"));
		command.addAll(jvmOptions);
		command.add("-Djava.awt.headless=true");
		command.add("-cp");
		command.add(classPath);
		command.add(main.getName());
		command.addAll(args);
		ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
		builder.environment().putAll(env);
		Process process = builder.start();
		List<String> lines = new ArrayList<>();
		try (java.io.BufferedReader out = new java.io.BufferedReader(
			new java.io.InputStreamReader(process.getInputStream(), java.nio.charset.StandardCharsets.UTF_8)))
		{
			for (String line = out.readLine(); line != null; line = out.readLine()) {
				lines.add(line);
			}
		}
		if (!process.waitFor(5, java.util.concurrent.TimeUnit.MINUTES)) {
			process.destroyForcibly();
			throw new IllegalStateException(main.getSimpleName() + " did not end within 5 minutes");
		}
		if (process.exitValue() != 0) {
			throw new IllegalStateException(main.getSimpleName() + " failed:\n" + String.join("\n", lines));
		}
		return lines;
	}

	private static double median(List<Double> values) {
		List<Double> sorted = new ArrayList<>(values);
		Collections.sort(sorted);
		int n = sorted.size();
		return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
	}

	/** A bare GET to an emulator, kept alive: the emulators must add no delay of their own. */
	private static void emulatorDelay() throws Exception {
		OkHttpClient client = new OkHttpClient();
		try (DashScopeEmulator emulator = new DashScopeEmulator(KEY)) {
			List<Double> ms = new ArrayList<>();
			for (int i = 0; i < 60; i++) {
				long t = System.nanoTime();
				try (Response r = client.newCall(new Request.Builder().url(emulator.baseUrl() + "/outputs/none.png").build())
					.execute())
				{
					r.body().bytes();
				}
				if (i >= 10) ms.add((System.nanoTime() - t) / 1e6);
			}
			double median = median(ms);
			RESULTS.put("emulator_bare_get_median_ms", median);
			row("emulator's own delay, bare kept-alive GET", String.format(Locale.ROOT, "%.1f ms median", median), "~0");
			System.out.printf("emulator bare GET (kept alive), median of 50: %.2f ms%n", median);
		}
	}

	private static Map<String, String> env(S3TestServer s3, String provider, EmulatorServer<?> emulator) {
		ProviderDescriptor d = descriptor(provider);
		Map<String, String> env = new LinkedHashMap<>(s3.env());
		env.put(d.keyVariable(), KEY);
		env.put(d.baseUrlVariable(), emulator.baseUrl());
		return io.github.qwenedit.emulator.ProviderTestBed.publishedBy(emulator, env);
	}

	private static ProviderDescriptor descriptor(String id) {
		try {
			return ProviderRegistry.get(id);
		}
		catch (Exception e) {
			throw new IllegalStateException(e);
		}
	}

	static EditSession session(Configuration config, String provider) throws Exception {
		ProviderDescriptor d = descriptor(provider);
		EditProvider p = d.create(config);
		Optional<BucketConfig> bucket = BucketConfig.from(config);
		return new EditSession(p, new StagingPlanner(StagingChoice.BUCKET, () -> bucket.map(S3Staging::new)),
			EditSession.plainHttpHosts(d, config, StagingChoice.BUCKET), Duration.ofMinutes(5));
	}

	/** P1: one 2048×2048 RGB edit with 2 s processing through the bucket; overhead by phase. */
	private static void p1Overhead(S3TestServer s3, int runs) throws Exception {
		ImagePlus input = TestImages.pattern("p1.tif", 2048, 2048);
		ImagePlus photo = MemoryBenchmark.photoLike("p1-photo.tif", 2048, 1);
		try (DashScopeEmulator emulator = new DashScopeEmulator(KEY).processingDelay(Duration.ofMillis(2000))) {
			Configuration config = Configuration.of(env(s3, "dashscope", emulator));
			EditSession session = session(config, "dashscope");
			Map<String, List<Double>> phases = new LinkedHashMap<>();
			List<Double> overhead = new ArrayList<>();
			for (int i = 0; i <= runs; i++) {
				long t0 = System.nanoTime();
				InputImage encoded = ImageEncoder.encode(input);
				long t1 = System.nanoTime();
				EditResult result = session.run(new EditRequest(List.of(encoded), "remove the scale bar",
					EditOptions.builder("qwen-image-2.0").build()), (m, f) -> {}, new Cancellation());
				long t2 = System.nanoTime();
				ResultImages.toImagePlus(result, input);
				long t3 = System.nanoTime();
				if (i == 0) continue; // warm-up
				phases.computeIfAbsent("encode", k -> new ArrayList<>()).add((t1 - t0) / 1e6);
				result.times().asMap().forEach((k, v) -> phases.computeIfAbsent(k, x -> new ArrayList<>()).add(v.toNanos() / 1e6));
				phases.computeIfAbsent("decode", k -> new ArrayList<>()).add((t3 - t2) / 1e6);
				overhead.add((t3 - t0) / 1e6 - 2000);
			}
			Map<String, Double> medians = new LinkedHashMap<>();
			phases.forEach((k, v) -> medians.put(k, median(v)));
			medians.put("submit_minus_processing", medians.getOrDefault("submit", 0.0) - 2000);
			double total = median(overhead);
			RESULTS.put("p1_overhead_median_ms", total);
			RESULTS.put("p1_phase_medians_ms", medians);
			System.out.printf("P1 one 2048x2048 edit via bucket, DashScope, 2 s processing: overhead median %.0f ms " +
				"(target <= 150 ms)%n", total);
			medians.forEach((k, v) -> System.out.printf("    %-24s %8.1f ms%n", k, v));
			row("P1: one 2048x2048 RGB edit, 2 s processing, bucket (DashScope)", String.format(Locale.ROOT,
				"%.0f ms over processing: encode %.0f, upload %.0f, submit beyond processing %.0f, download %.0f, " +
					"decode %.0f, clean-up %.0f", total, medians.get("encode"), medians.get("upload"),
				medians.get("submit_minus_processing"), medians.get("download"), medians.get("decode"),
				medians.get("cleanup")), "<= 150 ms: " + (total <= 150 ? "met" : "missed"));
		}
		// The encoder before and after, on the same images: the JDK's PNG writer against the plugin's.
		Map<String, Object> encoders = new LinkedHashMap<>();
		for (ImagePlus image : List.of(input, photo)) {
			java.awt.image.BufferedImage view = ImageEncoder.render(image);
			List<Double> jdk = new ArrayList<>();
			List<Double> ours = new ArrayList<>();
			int jdkBytes = 0;
			int ourBytes = 0;
			for (int i = 0; i < 4; i++) {
				long t0 = System.nanoTime();
				java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
				javax.imageio.ImageIO.write(view, "png", png);
				long t1 = System.nanoTime();
				ourBytes = io.github.qwenedit.codec.PngEncoder.encode(view).length;
				long t2 = System.nanoTime();
				jdkBytes = png.size();
				if (i == 0) continue;
				jdk.add((t1 - t0) / 1e6);
				ours.add((t2 - t1) / 1e6);
			}
			String name = image == input ? "test_pattern" : "photo_like";
			encoders.put(name, Map.of("jdk_writer_ms", median(jdk), "jdk_writer_bytes", jdkBytes, "plugin_ms", median(ours),
				"plugin_bytes", ourBytes));
			System.out.printf("    PNG of a 2048x2048 %s: JDK writer %.0f ms, %d bytes; plugin %.0f ms, %d bytes%n", name,
				median(jdk), jdkBytes, median(ours), ourBytes);
			row("P1 encode, 2048x2048 " + name.replace('_', ' '), String.format(Locale.ROOT,
				"JDK PNG writer %.0f ms, %.2f MB; plugin %.0f ms, %.2f MB (ratio %.2f)", median(jdk), jdkBytes / 1e6,
				median(ours), ourBytes / 1e6, median(ours) / median(jdk)), "lossless, no larger");
		}
		RESULTS.put("p1_png_encoders", encoders);
		p1Decoders(input, photo);
	}

	/**
	 * Reading a result before and after: the JDK's PNG reader and the conversion to packed RGB that
	 * followed it, against the plugin's reader, on PNGs as the emulators write them (the JDK writer).
	 */
	private static void p1Decoders(ImagePlus... images) throws Exception {
		Map<String, Object> decoders = new LinkedHashMap<>();
		for (ImagePlus image : images) {
			java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
			javax.imageio.ImageIO.write(ImageEncoder.render(image), "png", png);
			byte[] bytes = png.toByteArray();
			List<Double> jdk = new ArrayList<>();
			List<Double> ours = new ArrayList<>();
			for (int i = 0; i < 5; i++) {
				long t0 = System.nanoTime();
				java.awt.image.BufferedImage read = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(bytes));
				java.awt.image.BufferedImage rgb = new java.awt.image.BufferedImage(read.getWidth(), read.getHeight(),
					java.awt.image.BufferedImage.TYPE_INT_RGB);
				java.awt.Graphics2D g = rgb.createGraphics();
				g.drawImage(read, 0, 0, null);
				g.dispose();
				long t1 = System.nanoTime();
				InputFitting.decodeRgb(bytes, InputFitting.MAX_PIXELS);
				long t2 = System.nanoTime();
				if (i == 0) continue;
				jdk.add((t1 - t0) / 1e6);
				ours.add((t2 - t1) / 1e6);
			}
			String name = image.getTitle().contains("photo") ? "photo_like" : "test_pattern";
			decoders.put(name, Map.of("jdk_reader_ms", median(jdk), "plugin_ms", median(ours), "png_bytes", bytes.length));
			System.out.printf("    reading a 2048x2048 %s PNG of %d bytes: JDK reader %.0f ms, plugin %.0f ms%n", name,
				bytes.length, median(jdk), median(ours));
			row("P1 decode, 2048x2048 " + name.replace('_', ' '), String.format(Locale.ROOT,
				"JDK PNG reader and conversion %.0f ms; plugin %.0f ms (ratio %.2f)", median(jdk), median(ours),
				median(ours) / median(jdk)), "same pixels");
		}
		RESULTS.put("p1_png_decoders", decoders);
	}

	/**
	 * P1w: the wait between the job's completion and the plugin seeing it, per provider, 2.25 s
	 * processing. The first edit of a kind polls on the plain schedule; later ones look closely around
	 * the time the earlier ones ended, so the figures are the medians after two warm-up edits, beside
	 * the first edit's.
	 */
	private static void p1wWaitBeyondCompletion(S3TestServer s3, int runs) throws Exception {
		Map<String, Function<String, EmulatorServer<?>>> emulators = new LinkedHashMap<>();
		emulators.put("dashscope", DashScopeEmulator::new);
		emulators.put("replicate", ReplicateEmulator::new);
		emulators.put("eachlabs", EachLabsEmulator::new);
		emulators.put("pixeldojo", k -> new PixelDojoEmulator(k).credits(1_000_000));
		emulators.put("fal", FalEmulator::new);
		Map<String, String> models = Map.of("dashscope", "qwen-image-2.0", "replicate", "qwen-image-edit-plus",
			"eachlabs", "alibaba-qwen-image-2-0-image-edit", "pixeldojo", "qwen-image-2.0", "fal", "fal-ai/qwen-image-2/edit");
		InputImage small = ImageEncoder.encode(TestImages.pattern("p1w.tif", 512, 512));
		Map<String, Object> waits = new LinkedHashMap<>();
		System.out.println("P1w wait beyond completion, 2.25 s processing (target <= 10 ms where the provider blocks, " +
			"<= 60 ms elsewhere):");
		for (Map.Entry<String, Function<String, EmulatorServer<?>>> e : emulators.entrySet()) {
			try (EmulatorServer<?> emulator = e.getValue().apply(KEY)) {
				emulator.processingDelay(Duration.ofMillis(2250));
				EditSession session = session(Configuration.of(env(s3, e.getKey(), emulator)), e.getKey());
				List<Double> ms = new ArrayList<>();
				List<Double> calls = new ArrayList<>();
				double firstMs = 0;
				double firstCalls = 0;
				for (int i = 0; i <= 1 + Math.max(2, runs / 2); i++) {
					int before = emulator.requests().size();
					EditResult result = session.run(new EditRequest(List.of(small), "x",
						EditOptions.builder(models.get(e.getKey())).build()), (m, f) -> {}, new Cancellation());
					long seen = Math.max(result.times().endNanos("submit"), result.times().endNanos("wait"));
					double waited = (seen - emulator.lastCompletedNanos()) / 1e6;
					double asked = emulator.requests().size() - before - 1; // less the output download
					if (i == 0) {
						firstMs = waited;
						firstCalls = asked;
					}
					if (i < 2) continue;
					ms.add(waited);
					calls.add(asked);
				}
				double median = median(ms);
				boolean blocks = e.getKey().equals("dashscope") || e.getKey().equals("replicate");
				double target = blocks ? 10 : 60;
				waits.put(e.getKey(), Map.of("wait_median_ms", median, "api_calls_per_edit", median(calls),
					"first_edit_wait_ms", firstMs, "first_edit_api_calls", firstCalls));
				System.out.printf("    %-10s %8.1f ms   %4.0f API calls per edit (first edit of the kind: %.0f ms, %.0f calls)%n",
					e.getKey(), median, median(calls), firstMs, firstCalls);
				row("P1w: wait beyond completion, 2.25 s, " + e.getKey(), String.format(Locale.ROOT,
					"%.1f ms, %.0f calls (first edit of the kind %.0f ms, %.0f calls)", median, median(calls), firstMs,
					firstCalls), String.format(Locale.ROOT, "<= %.0f ms: %s", target, median <= target ? "met" : "missed"));
			}
		}
		RESULTS.put("p1w", waits);
	}

	/**
	 * P1 against a ComfyUI server (issue 19): one 2048×2048 edit with 2 s processing, the inputs uploaded
	 * to the server itself; the plugin's overhead beyond the processing, the wait between the prompt's
	 * end and the plugin seeing it, and the API calls an edit makes after the first (which also reads
	 * the server's nodes).
	 */
	private static void comfyUiOverhead(int runs) throws Exception {
		ImagePlus input = TestImages.pattern("p1c.tif", 2048, 2048);
		try (io.github.qwenedit.emulator.ComfyUiEmulator emulator = new io.github.qwenedit.emulator.ComfyUiEmulator()
			.processingDelay(Duration.ofMillis(2000)))
		{
			Configuration config = Configuration.of(Map.of("COMFYUI_BASE_URL", emulator.baseUrl()));
			ProviderDescriptor d = descriptor("comfyui");
			EditSession session = new EditSession(d.create(config), new StagingPlanner(StagingChoice.AUTO, Optional::empty),
				EditSession.plainHttpHosts(d, config, StagingChoice.AUTO), Duration.ofMinutes(5));
			List<Double> overhead = new ArrayList<>();
			List<Double> waits = new ArrayList<>();
			List<Double> calls = new ArrayList<>();
			Map<String, List<Double>> phases = new LinkedHashMap<>();
			for (int i = 0; i <= runs; i++) {
				int before = emulator.requests().size();
				long t0 = System.nanoTime();
				InputImage encoded = ImageEncoder.encode(input);
				long t1 = System.nanoTime();
				EditResult result = session.run(new EditRequest(List.of(encoded), "remove the scale bar",
					EditOptions.builder("qwen-image-edit-2511").build()), (m, f) -> {}, new Cancellation());
				long t2 = System.nanoTime();
				ResultImages.toImagePlus(result, input);
				long t3 = System.nanoTime();
				if (i == 0) continue; // warm-up, and the one edit that reads the server's nodes
				phases.computeIfAbsent("encode", k -> new ArrayList<>()).add((t1 - t0) / 1e6);
				result.times().asMap().forEach((k, v) -> phases.computeIfAbsent(k, x -> new ArrayList<>()).add(v.toNanos() / 1e6));
				phases.computeIfAbsent("decode", k -> new ArrayList<>()).add((t3 - t2) / 1e6);
				overhead.add((t3 - t0) / 1e6 - 2000);
				waits.add((result.times().endNanos("wait") - emulator.lastCompletedNanos()) / 1e6);
				calls.add((double) (emulator.requests().size() - before));
			}
			Map<String, Double> medians = new LinkedHashMap<>();
			phases.forEach((k, v) -> medians.put(k, median(v)));
			double total = median(overhead);
			RESULTS.put("comfyui_overhead_median_ms", total);
			RESULTS.put("comfyui_wait_beyond_completion_median_ms", median(waits));
			RESULTS.put("comfyui_api_calls_per_edit", median(calls));
			RESULTS.put("comfyui_phase_medians_ms", medians);
			System.out.printf("ComfyUI one 2048x2048 edit, 2 s processing: overhead median %.0f ms, wait beyond completion " +
				"%.0f ms, %.0f API calls%n", total, median(waits), median(calls));
			medians.forEach((k, v) -> System.out.printf("    %-24s %8.1f ms%n", k, v));
			row("P1 on ComfyUI: one 2048x2048 edit, 2 s processing, uploaded to the server", String.format(Locale.ROOT,
				"%.0f ms over processing (upload %.0f, wait beyond completion %.0f), %.0f API calls", total,
				medians.get("upload"), median(waits), median(calls)), "<= 150 ms over processing: " +
					(total <= 150 ? "met" : "missed"));
		}
	}

	/**
	 * A batch over two ComfyUI servers (issue 19, {@code COMFYUI_BASE_URLS}) against the bound of their
	 * combined throughput: each emulated server runs one prompt at a time, 1 s each, as one GPU does, so
	 * 24 edits cannot take less than 12 s on two; the same batch on one of them, against its 24 s, says
	 * what of the gap is the batch's own. Through the shell command, concurrency 4 (two per server).
	 */
	private static void comfyUiTwoServers() throws Exception {
		int jobs = 24;
		long processingMillis = 1000;
		Path in = Files.createTempDirectory("bench-comfy-in");
		for (int i = 0; i < jobs; i++) {
			new FileSaver(TestImages.pattern("c" + i, 400, 400)).saveAsTiff(in.resolve("c" + i + ".tif").toString());
		}
		Map<String, Object> figures = new LinkedHashMap<>();
		try (io.github.qwenedit.emulator.ComfyUiEmulator a = new io.github.qwenedit.emulator.ComfyUiEmulator()
			.processingDelay(Duration.ofMillis(processingMillis));
			io.github.qwenedit.emulator.ComfyUiEmulator b = new io.github.qwenedit.emulator.ComfyUiEmulator()
				.processingDelay(Duration.ofMillis(processingMillis)))
		{
			// A warm-up batch of 4 loads and compiles the batch code and reads both servers' nodes.
			Path warm = Files.createTempDirectory("bench-comfy-warm");
			for (int i = 0; i < 4; i++) Files.copy(in.resolve("c" + i + ".tif"), warm.resolve("c" + i + ".tif"));
			comfyBatch(a.baseUrl() + "," + b.baseUrl(), warm);
			for (String servers : new String[] { "two", "one" }) {
				int beforeA = a.prompts().size();
				int beforeB = b.prompts().size();
				String urls = servers.equals("two") ? a.baseUrl() + "," + b.baseUrl() : a.baseUrl();
				long t = System.nanoTime();
				int code = comfyBatch(urls, in);
				double seconds = (System.nanoTime() - t) / 1e9;
				double bound = jobs * processingMillis / 1000.0 / (servers.equals("two") ? 2 : 1);
				Map<String, Object> f = new LinkedHashMap<>();
				f.put("seconds", seconds);
				f.put("bound_seconds", bound);
				f.put("ratio", seconds / bound);
				f.put("edits_on_first", a.prompts().size() - beforeA);
				f.put("edits_on_second", b.prompts().size() - beforeB);
				f.put("exit", code);
				figures.put(servers, f);
				System.out.printf("ComfyUI %d edits, 1 s each, %s server(s): %.1f s, bound %.0f s, ratio %.2f, %d + %d edits%n",
					jobs, servers, seconds, bound, seconds / bound, a.prompts().size() - beforeA, b.prompts().size() - beforeB);
			}
		}
		RESULTS.put("comfyui_two_servers", figures);
		@SuppressWarnings("unchecked")
		Map<String, Object> two = (Map<String, Object>) figures.get("two");
		@SuppressWarnings("unchecked")
		Map<String, Object> one = (Map<String, Object>) figures.get("one");
		row("ComfyUI: 24 edits, 1 s each, over two servers (COMFYUI_BASE_URLS)", String.format(Locale.ROOT,
			"%.1f s, ratio %.2f to the 12 s bound of both together (%s + %s edits); one server: %.1f s, ratio %.2f to 24 s",
			two.get("seconds"), two.get("ratio"), two.get("edits_on_first"), two.get("edits_on_second"), one.get("seconds"),
			one.get("ratio")), "<= 1.10: " + ((double) two.get("ratio") <= 1.10 ? "met" : "missed"));
	}

	private static int comfyBatch(String servers, Path in) throws Exception {
		Path out = Files.createTempDirectory("bench-comfy-out");
		return QwenEditCliRunner.run(Configuration.of(Map.of("COMFYUI_BASE_URLS", servers)),
			new PrintStream(new ByteArrayOutputStream()), "--provider", "comfyui", "--instruction", "x", "--output",
			out.toString(), "--concurrency", "4", in.toString());
	}

	/**
	 * P2: 60 edits from a folder through the shell command against eachlabs' 10-concurrent limit, for
	 * several concurrency settings (drawn as a plot), and against Replicate, whose create call blocks
	 * until the edit is done ({@code Prefer: wait}).
	 */
	@SuppressWarnings("unchecked")
	private static void p2Batch(S3TestServer s3, Path dir) throws Exception {
		Path in = Files.createTempDirectory("bench-in");
		for (int i = 0; i < 60; i++) {
			new FileSaver(TestImages.pattern("c" + i, 400, 400)).saveAsTiff(in.resolve("c" + i + ".tif").toString());
		}
		Map<String, Object> curve = new LinkedHashMap<>();
		System.out.println("P2 60 edits, 2 s processing each, eachlabs emulator (10 concurrent per key):");
		// The first batch in this JVM also pays for loading and compiling the batch code, and its first
		// wave polls on the plain schedule since no edit of its kind has ended yet: it is reported apart.
		try (EachLabsEmulator emulator = new EachLabsEmulator(KEY)) {
			emulator.processingDelay(Duration.ofMillis(2000));
			Map<String, Object> cold = batch(s3, "eachlabs", emulator, in, 10, 10, 10);
			RESULTS.put("p2_first_batch_in_jvm_10_edits", cold);
			row("P2 warm-up: first batch in the JVM, 10 edits, eachlabs, limit 10", String.format(Locale.ROOT,
				"ratio %.2f to its 2 s bound", cold.get("ratio")), "(not a target)");
		}
		int[] settings = { 10, 1, 2, 5, 20 };
		for (int concurrency : settings) {
			try (EachLabsEmulator emulator = new EachLabsEmulator(KEY)) {
				emulator.processingDelay(Duration.ofMillis(2000));
				Map<String, Object> figures = batch(s3, "eachlabs", emulator, in, concurrency,
					Math.min(concurrency, EachLabsEmulator.MAX_CONCURRENT), concurrency < 5 ? 10 : 60);
				curve.put(String.valueOf(concurrency), figures);
			}
		}
		RESULTS.put("p2_batch", curve);
		Map<String, Object> at10 = (Map<String, Object>) curve.get("10");
		row("P2: 60 edits, 2 s each, eachlabs, limit 10", String.format(Locale.ROOT,
			"%.1f s, ratio %.2f to the 12 s bound, %.1f API calls per edit", at10.get("seconds_for_60"), at10.get("ratio"),
			at10.get("api_calls_per_edit")), "<= 1.10: " + ((double) at10.get("ratio") <= 1.10 ? "met" : "missed"));
		StringBuilder ratios = new StringBuilder();
		for (int c : new int[] { 1, 2, 5, 10, 20 }) {
			ratios.append(ratios.length() == 0 ? "" : " / ").append(String.format(Locale.ROOT, "%.2f",
				((Map<String, Object>) curve.get(String.valueOf(c))).get("ratio")));
		}
		row("P2 curve, concurrency 1 / 2 / 5 / 10 / 20 (eachlabs)", "ratio " + ratios + " (20 is clamped to 10)", "");
		try (ReplicateEmulator emulator = new ReplicateEmulator(KEY)) {
			emulator.processingDelay(Duration.ofMillis(2000));
			Map<String, Object> figures = batch(s3, "replicate", emulator, in, 10, 10, 60);
			RESULTS.put("p2_batch_replicate_10", figures);
			row("P2: 60 edits, 2 s each, Replicate (Prefer: wait), 10 at once", String.format(Locale.ROOT,
				"%.1f s, ratio %.2f to the 12 s bound", figures.get("seconds_for_60"), figures.get("ratio")),
				"<= 1.10: " + ((double) figures.get("ratio") <= 1.10 ? "met" : "missed"));
		}
		plotP2(curve, dir.resolve("p2-concurrency.png"));
	}

	/** One batch of {@code jobs} edits through the shell command; fewer than 60 are scaled to 60. */
	private static Map<String, Object> batch(S3TestServer s3, String provider, EmulatorServer<?> emulator, Path in,
		int concurrency, int effective, int jobs) throws Exception
	{
		Path out = Files.createTempDirectory("bench-out");
		Path source = jobs == 60 ? in : Files.createTempDirectory("bench-in10");
		if (jobs != 60) {
			for (int i = 0; i < jobs; i++) Files.copy(in.resolve("c" + i + ".tif"), source.resolve("c" + i + ".tif"));
		}
		int requestsBefore = emulator.requests().size();
		long t = System.nanoTime();
		int code = QwenEditCliRunner.run(Configuration.of(env(s3, provider, emulator)),
			new PrintStream(new ByteArrayOutputStream()), "--provider", provider, "--instruction", "x", "--output",
			out.toString(), "--concurrency", String.valueOf(concurrency), source.toString());
		double seconds = (System.nanoTime() - t) / 1e9 * 60.0 / jobs;
		double bound = Math.ceil(jobs / (double) effective) * 2 * 60.0 / jobs;
		long written = Files.list(out).filter(f -> f.toString().endsWith(".tif")).count();
		// Less the one output download per edit.
		double callsPerEdit = (emulator.requests().size() - requestsBefore) / (double) jobs - 1;
		Map<String, Object> figures = new LinkedHashMap<>();
		figures.put("seconds_for_60", seconds);
		figures.put("bound_seconds", bound);
		figures.put("ratio", seconds / bound);
		figures.put("exit", code);
		figures.put("results_written", written);
		figures.put("edits_run", jobs);
		figures.put("api_calls_per_edit", callsPerEdit);
		System.out.printf("    %-9s concurrency %2d: %6.1f s for 60 (bound %5.1f s, ratio %.2f), exit %d, %d of %d results, " +
			"%.1f API calls per edit%n", provider, concurrency, seconds, bound, seconds / bound, code, written, jobs, callsPerEdit);
		return figures;
	}

	/** The P2 curve as a PNG, drawn by ImageJ's own plot, beside the ideal bound. */
	@SuppressWarnings("unchecked")
	private static void plotP2(Map<String, Object> curve, Path png) throws Exception {
		int[] settings = { 1, 2, 5, 10, 20 };
		double[] x = new double[settings.length];
		double[] measured = new double[settings.length];
		double[] bound = new double[settings.length];
		double top = 0;
		for (int i = 0; i < settings.length; i++) {
			Map<String, Object> f = (Map<String, Object>) curve.get(String.valueOf(settings[i]));
			x[i] = settings[i];
			measured[i] = (double) f.get("seconds_for_60");
			bound[i] = (double) f.get("bound_seconds");
			top = Math.max(top, Math.max(measured[i], bound[i]));
		}
		ij.gui.Plot plot = new ij.gui.Plot("P2 batch", "concurrency limit (edits at once)", "wall time for 60 edits (s)");
		plot.setSize(640, 400);
		plot.setLimits(0, 21, 0, top * 1.1);
		plot.setColor(java.awt.Color.BLACK);
		plot.addLabel(0.3, 0.35, "60 edits of 2 s each, eachlabs emulator");
		plot.addLabel(0.3, 0.42, "(at most 10 at once per key)");
		plot.setColor(java.awt.Color.GRAY);
		plot.setLineWidth(2);
		plot.add("line", x, bound);
		java.awt.Color blue = new java.awt.Color(0, 90, 200);
		plot.setColor(blue, blue);
		plot.add("connected circle", x, measured);
		plot.setLegend("ideal bound, ceil(60 / min(limit, 10)) x 2 s\tmeasured", ij.gui.Plot.TOP_RIGHT);
		ij.ImagePlus image = plot.getImagePlus();
		// FileSaver rather than IJ.saveAs, which sets up ImageJ's menus and so needs a display.
		if (!new FileSaver(image).saveAsPng(png.toString())) throw new IllegalStateException("could not write " + png);
		System.out.println("    plot written to " + png);
		RESULTS.put("p2_plot", png.toString());
		if (Boolean.getBoolean("qwenedit.benchmark.docs")) {
			Path docs = Path.of("docs", "benchmark-p2.png");
			Files.createDirectories(docs.getParent());
			Files.copy(png, docs, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
			System.out.println("    copied to " + docs);
		}
	}

	/**
	 * P3: the extra heap an edit of three 4096×4096 RGB images needs, measured in JVMs of their own
	 * while this JVM runs the emulator and s3proxy, so only the plugin's side counts. A collector
	 * leaves garbage lying while there is room, so the used heap of a roomy JVM says little; instead
	 * the edit runs in ever larger fixed heaps (-Xmx, 32 MiB steps) until it completes, and the figure is
	 * the smallest such heap less the baseline (the heap used, after a full collection, with the three
	 * images open). The peak used heap sampled in that run is reported beside it.
	 */
	@SuppressWarnings("unchecked")
	private static void p3Memory(S3TestServer s3) throws Exception {
		// eachlabs, not DashScope: inputs fitted to 3072 px per side are PNGs of about 10 MB, over DashScope's
		// per-image limit (docs/providers.md §1.3), which the emulator enforces.
		try (EachLabsEmulator emulator = new EachLabsEmulator(KEY).processingDelay(Duration.ofMillis(500))) {
			List<String> args = new ArrayList<>();
			env(s3, "eachlabs", emulator).forEach((k, v) -> args.add(k + "=" + v));
			Map<String, Object> run = null;
			int heap = 384;
			List<Integer> failed = new ArrayList<>();
			for (; heap <= 1024 && run == null; heap += 32) {
				try {
					List<String> lines = childJvm(List.of("-Xmx" + heap + "m", "-XX:+ExitOnOutOfMemoryError"),
						System.getProperty("java.class.path"), MemoryBenchmark.class, args, Map.of());
					String json = lines.stream().filter(l -> l.startsWith(MemoryBenchmark.RESULT)).findFirst()
						.orElseThrow(() -> new IllegalStateException("no result:\n" + String.join("\n", lines)))
						.substring(MemoryBenchmark.RESULT.length());
					run = Json.MAPPER.readValue(json, Map.class);
				}
				catch (IllegalStateException outOfMemory) {
					failed.add(heap);
				}
			}
			if (run == null) throw new IllegalStateException("the edit did not complete even in a 1 GiB heap");
			heap -= 32;
			double baseline = ((Number) run.get("baseline_mib")).doubleValue();
			double raw = ((Number) run.get("raw_size_mib")).doubleValue();
			double needed = heap - baseline;
			double peak = ((Number) run.get("peak_above_baseline_mib")).doubleValue();
			Map<String, Object> p3 = new LinkedHashMap<>();
			p3.put("smallest_heap_mib", heap);
			p3.put("heaps_too_small_mib", failed);
			p3.put("baseline_mib", baseline);
			p3.put("extra_heap_needed_mib", needed);
			p3.put("raw_size_mib", raw);
			p3.put("ratio_to_raw", needed / raw);
			p3.put("peak_used_above_baseline_mib", peak);
			p3.put("run", run);
			RESULTS.put("p3_memory", p3);
			System.out.printf("P3 three 4096x4096 RGB images in one edit: completes in -Xmx%dm (not in %s), baseline %.0f MiB, " +
				"so it needs %.0f MiB = %.2f x their raw %.0f MiB (target <= 2); peak used there %.0f MiB above baseline%n",
				heap, failed, baseline, needed, needed / raw, raw, peak);
			row("P3: three 4096x4096 RGB in one edit, own JVM", String.format(Locale.ROOT,
				"needs %.0f MiB above the baseline = %.2f x raw %.0f MiB (smallest heap %d MiB; peak used there %.0f MiB)",
				needed, needed / raw, raw, heap, peak), "<= 2 x raw: " + (needed <= 2 * raw ? "met" : "missed"));
		}
	}

	/**
	 * P4: a full SciJava context with and without the plugin on the class path (seven JVMs each), the
	 * plugin classes loaded while the context starts (from the JVM's class-loading log), and the time to
	 * prepare the Edit Images dialog.
	 */
	private static void p4Startup() throws Exception {
		String full = System.getProperty("java.class.path");
		Path alone = Files.createTempDirectory("bench-startup");
		Path classes = alone.resolve(StartupBenchmark.class.getName().replace('.', '/') + ".class");
		Files.createDirectories(classes.getParent());
		try (java.io.InputStream own = StartupBenchmark.class.getResourceAsStream("StartupBenchmark.class")) {
			Files.copy(own, classes);
		}
		// Both class paths leave out the tests' classes and resources (their logging set-up would differ);
		// they differ only in the plugin's own classes.
		StringBuilder without = new StringBuilder(alone.toString());
		StringBuilder with = new StringBuilder(alone.toString());
		for (String entry : full.split(java.io.File.pathSeparator)) {
			if (entry.endsWith("test-classes")) continue;
			with.append(java.io.File.pathSeparator).append(entry);
			if (!entry.endsWith("classes")) without.append(java.io.File.pathSeparator).append(entry);
		}
		Path settings = Files.createTempDirectory("bench-settings");
		Map<String, String> env = Map.of(Configuration.CONFIG_DIR, settings.toString());
		List<Double> withPlugin = new ArrayList<>();
		List<Double> withoutPlugin = new ArrayList<>();
		List<Double> dialog = new ArrayList<>();
		java.util.Set<String> loadedAtStart = new java.util.TreeSet<>();
		// The class-loading log slows the JVM down, so it is on in a run of its own, not in the timed ones.
		for (String line : childJvm(List.of("-Xlog:class+load=info"), with.toString(), StartupBenchmark.class, List.of(), env)) {
			if (line.startsWith(StartupBenchmark.CONTEXT_READY)) break;
			int at = line.indexOf("] io.github.qwenedit.");
			if (at >= 0 && !line.contains("io.github.qwenedit.bench.")) {
				String name = line.substring(at + 2);
				loadedAtStart.add(name.contains(" ") ? name.substring(0, name.indexOf(' ')) : name);
			}
		}
		for (int i = 0; i < 7; i++) {
			for (String line : childJvm(List.of(), with.toString(), StartupBenchmark.class, List.of(), env)) {
				if (line.startsWith(StartupBenchmark.CONTEXT_READY)) {
					withPlugin.add(Double.parseDouble(line.substring(StartupBenchmark.CONTEXT_READY.length())));
				}
				else if (line.startsWith(StartupBenchmark.DIALOG_READY)) {
					dialog.add(Double.parseDouble(line.substring(StartupBenchmark.DIALOG_READY.length())));
				}
			}
			for (String line : childJvm(List.of(), without.toString(), StartupBenchmark.class, List.of(), env)) {
				if (line.startsWith(StartupBenchmark.CONTEXT_READY)) {
					withoutPlugin.add(Double.parseDouble(line.substring(StartupBenchmark.CONTEXT_READY.length())));
				}
			}
		}
		Map<String, Object> p4 = new LinkedHashMap<>();
		p4.put("context_with_plugin_median_ms", median(withPlugin));
		p4.put("context_without_plugin_median_ms", median(withoutPlugin));
		p4.put("context_ratio", median(withPlugin) / median(withoutPlugin));
		p4.put("plugin_classes_loaded_at_context_start", new ArrayList<>(loadedAtStart));
		p4.put("dialog_preparation_median_ms", median(dialog));
		RESULTS.put("p4_startup", p4);
		System.out.printf("P4 new Context(): %.0f ms with the plugin, %.0f ms without (ratio %.2f); plugin classes loaded " +
			"meanwhile: %s; dialog prepared in %.0f ms (target < 300)%n", median(withPlugin), median(withoutPlugin),
			median(withPlugin) / median(withoutPlugin), loadedAtStart, median(dialog));
		row("P4: SciJava context, with / without the plugin", String.format(Locale.ROOT,
			"%.0f / %.0f ms (ratio %.2f); %d plugin classes loaded at start %s", median(withPlugin), median(withoutPlugin),
			median(withPlugin) / median(withoutPlugin), loadedAtStart.size(), loadedAtStart), "no measurable time");
		row("P4: preparing the Edit Images dialog", String.format(Locale.ROOT, "%.0f ms", median(dialog)),
			"< 300 ms: " + (median(dialog) < 300 ? "met" : "missed"));
	}
}
