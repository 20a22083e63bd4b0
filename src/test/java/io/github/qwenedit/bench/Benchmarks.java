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
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import ij.ImagePlus;
import ij.io.FileSaver;
import io.github.qwenedit.cli.QwenEditCliRunner;
import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.EditSession;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.emulator.DashScopeEmulator;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.EmulatorServer;
import io.github.qwenedit.emulator.FalEmulator;
import io.github.qwenedit.emulator.PixelDojoEmulator;
import io.github.qwenedit.emulator.ReplicateEmulator;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.imagej.ImageEncoder;
import io.github.qwenedit.imagej.ResultImages;
import io.github.qwenedit.imagej.TestImages;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderRegistry;
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

	private Benchmarks() {}

	public static void main(String[] args) throws Exception {
		System.setProperty("java.awt.headless", "true");
		int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
		try (S3TestServer s3 = S3TestServer.start()) {
			emulatorDelay();
			p1Overhead(s3, runs);
			p1wWaitBeyondCompletion(s3, runs);
			p2Batch(s3);
			if (Boolean.getBoolean("bench.peers")) RESULTS.put("peers", PeerBenchmarks.run(runs).results());
		}
		Path out = Path.of("target", "benchmark", "results.json");
		Files.createDirectories(out.getParent());
		Files.write(out, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(RESULTS));
		System.out.println("\nwritten " + out);
		System.exit(0);
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
			System.out.printf("emulator bare GET (kept alive), median of 50: %.2f ms%n", median);
		}
	}

	private static Map<String, String> env(S3TestServer s3, String provider, EmulatorServer<?> emulator) {
		ProviderDescriptor d = descriptor(provider);
		Map<String, String> env = new LinkedHashMap<>(s3.env());
		env.put(d.keyVariable(), KEY);
		env.put(d.baseUrlVariable(), emulator.baseUrl());
		return env;
	}

	private static ProviderDescriptor descriptor(String id) {
		try {
			return ProviderRegistry.get(id);
		}
		catch (Exception e) {
			throw new IllegalStateException(e);
		}
	}

	private static EditSession session(Configuration config, String provider) throws Exception {
		ProviderDescriptor d = descriptor(provider);
		EditProvider p = d.create(config);
		Optional<BucketConfig> bucket = BucketConfig.from(config);
		Set<String> plain = new java.util.HashSet<>(d.plainHttpHosts(config));
		bucket.ifPresent(b -> plain.addAll(b.plainHttpHosts()));
		return new EditSession(p, new StagingPlanner(StagingChoice.BUCKET, () -> bucket.map(S3Staging::new)), plain,
			Duration.ofMinutes(5));
	}

	/** P1: one 2048×2048 RGB edit with 2 s processing through the bucket; overhead by phase. */
	private static void p1Overhead(S3TestServer s3, int runs) throws Exception {
		ImagePlus input = TestImages.pattern("p1.tif", 2048, 2048);
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
		}
	}

	/** P1w: the wait between the job's completion and the plugin seeing it, per provider, 2.25 s processing. */
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
				for (int i = 0; i <= Math.max(2, runs / 2); i++) {
					int before = emulator.requests().size();
					EditResult result = session.run(new EditRequest(List.of(small), "x",
						EditOptions.builder(models.get(e.getKey())).build()), (m, f) -> {}, new Cancellation());
					long seen = Math.max(result.times().endNanos("submit"), result.times().endNanos("wait"));
					if (i == 0) continue;
					ms.add((seen - emulator.lastCompletedNanos()) / 1e6);
					calls.add((double) emulator.requests().size() - before - 1); // less the output download
				}
				double median = median(ms);
				waits.put(e.getKey(), Map.of("wait_median_ms", median, "api_calls_per_edit", median(calls)));
				System.out.printf("    %-10s %8.1f ms   %4.0f API calls per edit%n", e.getKey(), median, median(calls));
			}
		}
		RESULTS.put("p1w", waits);
	}

	/** P2: 60 edits from a folder through the shell command against eachlabs' 10-concurrent limit. */
	private static void p2Batch(S3TestServer s3) throws Exception {
		Path in = Files.createTempDirectory("bench-in");
		for (int i = 0; i < 60; i++) {
			new FileSaver(TestImages.pattern("c" + i, 400, 400)).saveAsTiff(in.resolve("c" + i + ".tif").toString());
		}
		Map<String, Object> curve = new LinkedHashMap<>();
		System.out.println("P2 60 edits, 2 s processing each, eachlabs emulator (10 concurrent per key):");
		for (int concurrency : new int[] { 10, 1, 2, 5, 20 }) {
			try (EachLabsEmulator emulator = new EachLabsEmulator(KEY)) {
				emulator.processingDelay(Duration.ofMillis(2000));
				int jobs = concurrency < 5 ? 10 : 60; // slow settings are measured on 10 edits and scaled to 60
				Path out = Files.createTempDirectory("bench-out");
				Path source = jobs == 60 ? in : Files.createTempDirectory("bench-in10");
				if (jobs != 60) {
					for (int i = 0; i < jobs; i++) Files.copy(in.resolve("c" + i + ".tif"), source.resolve("c" + i + ".tif"));
				}
				Map<String, String> env = env(s3, "eachlabs", emulator);
				long t = System.nanoTime();
				int code = QwenEditCliRunner.run(Configuration.of(env), new PrintStream(new ByteArrayOutputStream()),
					"--provider", "eachlabs", "--instruction", "x", "--output", out.toString(), "--concurrency",
					String.valueOf(concurrency), source.toString());
				double seconds = (System.nanoTime() - t) / 1e9 * 60.0 / jobs;
				double bound = Math.ceil(jobs / (double) Math.min(concurrency, EachLabsEmulator.MAX_CONCURRENT)) * 2 * 60.0 / jobs;
				curve.put(String.valueOf(concurrency), Map.of("seconds_for_60", seconds, "bound_seconds", bound,
					"exit", code, "max_concurrent_seen", emulator.maxConcurrentObserved()));
				System.out.printf("    concurrency %2d: %6.1f s for 60 (bound %5.1f s, ratio %.2f), exit %d, at most %d at once%n",
					concurrency, seconds, bound, seconds / bound, code, emulator.maxConcurrentObserved());
			}
		}
		RESULTS.put("p2_batch", curve);
	}
}
