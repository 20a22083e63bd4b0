package io.github.qwenedit.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import ij.ImagePlus;
import ij.process.ColorProcessor;
import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.engine.EditSession;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.images.ImageEncoder;
import io.github.qwenedit.images.ResultImages;

/**
 * P3, in a JVM of its own with a fixed heap (started by {@link Benchmarks}, whose JVM runs the
 * emulator and s3proxy, so only the plugin's side is counted): three 4096×4096 RGB images edited
 * in one request through the bucket, from encoding to the decoded result. Prints one JSON line.
 * <p>
 * The baseline is the heap used after a full collection with the three images open; the peak is
 * sampled every millisecond during the edit (used heap, garbage not yet collected included) and also
 * read from the heap pools' peak usage, reset at the baseline.
 */
public final class MemoryBenchmark {

	static final String RESULT = "BENCH memory ";
	static final int SIDE = 4096;

	private MemoryBenchmark() {}

	/** @param args environment entries, {@code NAME=value}, naming the eachlabs emulator and the bucket */
	public static void main(String[] args) throws Exception {
		System.setProperty("java.awt.headless", "true");
		Map<String, String> env = new LinkedHashMap<>();
		for (String arg : args) {
			int eq = arg.indexOf('=');
			env.put(arg.substring(0, eq), arg.substring(eq + 1));
		}
		EditSession session = Benchmarks.session(Configuration.of(env), "eachlabs");
		List<ImagePlus> images = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			images.add(photoLike("image" + (i + 1), SIDE, i));
		}
		MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
		for (int i = 0; i < 3; i++) {
			System.gc();
			Thread.sleep(200);
		}
		long baseline = memory.getHeapMemoryUsage().getUsed();
		List<MemoryPoolMXBean> heapPools = new ArrayList<>();
		for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
			if (pool.getType() == MemoryType.HEAP) {
				pool.resetPeakUsage();
				heapPools.add(pool);
			}
		}
		AtomicLong peak = new AtomicLong(baseline);
		Thread sampler = new Thread(() -> {
			while (!Thread.currentThread().isInterrupted()) {
				peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
				try {
					Thread.sleep(1);
				}
				catch (InterruptedException e) {
					return;
				}
			}
		});
		sampler.setDaemon(true);
		sampler.start();

		long t0 = System.nanoTime();
		List<InputImage> encoded = new ArrayList<>();
		for (ImagePlus image : images) {
			encoded.add(ImageEncoder.encode(image));
		}
		EditResult result = session.run(new EditRequest(encoded, "image 1 + image 2 + image 3",
			EditOptions.builder("alibaba-qwen-image-2-0-image-edit").build()), (m, f) -> {}, new Cancellation());
		List<ImagePlus> edited = ResultImages.toImagePlus(result, images.get(0));
		long t1 = System.nanoTime();
		peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
		sampler.interrupt();
		sampler.join(1000);
		long poolPeaks = 0;
		for (MemoryPoolMXBean pool : heapPools) {
			poolPeaks += pool.getPeakUsage().getUsed();
		}
		long raw = 3L * SIDE * SIDE * 3;
		Map<String, Object> out = new LinkedHashMap<>();
		out.put("max_heap_mib", Runtime.getRuntime().maxMemory() / (1024.0 * 1024));
		out.put("baseline_mib", baseline / (1024.0 * 1024));
		out.put("raw_size_mib", raw / (1024.0 * 1024));
		out.put("peak_above_baseline_mib", (peak.get() - baseline) / (1024.0 * 1024));
		out.put("pool_peaks_above_baseline_mib", (poolPeaks - baseline) / (1024.0 * 1024));
		out.put("ratio_to_raw", (peak.get() - baseline) / (double) raw);
		out.put("edit_seconds", (t1 - t0) / 1e9);
		out.put("result", edited.get(0).getWidth() + "x" + edited.get(0).getHeight());
		out.put("input_png_mib", encoded.stream().mapToLong(e -> e.bytes().length).sum() / (1024.0 * 1024));
		System.out.println(RESULT + Json.MAPPER.writeValueAsString(out));
		System.exit(0);
	}

	/** Smooth shapes with sensor-like noise: compresses as a micrograph does, not as a flat test pattern. */
	static ImagePlus photoLike(String title, int side, int seed) {
		int[] pixels = new int[side * side];
		Random random = new Random(seed);
		for (int y = 0; y < side; y++) {
			for (int x = 0; x < side; x++) {
				int v = (int) (128 + 60 * Math.sin((x + 97 * seed) / 37.0) + 40 * Math.cos(y / 23.0)) + random.nextInt(9);
				v = Math.max(0, Math.min(255, v));
				pixels[y * side + x] = v << 16 | (255 - v) << 8 | v / 2;
			}
		}
		return new ImagePlus(title, new ColorProcessor(side, side, pixels));
	}
}
