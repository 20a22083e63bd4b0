package io.github.qwenedit.emulator;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

import io.github.qwenedit.staging.S3TestServer;

/**
 * Starts emulators of the five cloud providers and of a ComfyUI server, and an S3-compatible server,
 * on 127.0.0.1, and prints the environment variables that point the plugin at them, so the plugin
 * and its shell command can be tried, demonstrated and measured without any account. Runs until
 * stopped (Ctrl-C).
 */
public final class RunEmulators {

	public static final String KEY = "emulator-key";

	private RunEmulators() {}

	public static void main(String[] args) throws Exception {
		Duration processing = Duration.ofMillis(args.length > 0 ? Long.parseLong(args[0]) : 1000);
		S3TestServer s3 = S3TestServer.start();
		Map<String, String> env = new TreeMap<>(s3.env());
		DashScopeEmulator dashscope = new DashScopeEmulator(KEY).processingDelay(processing);
		EachLabsEmulator eachlabs = new EachLabsEmulator(KEY).processingDelay(processing);
		PixelDojoEmulator pixeldojo = new PixelDojoEmulator(KEY).processingDelay(processing).credits(1_000_000);
		FalEmulator fal = new FalEmulator(KEY).processingDelay(processing);
		ReplicateEmulator replicate = new ReplicateEmulator(KEY).processingDelay(processing);
		ComfyUiEmulator comfyui = new ComfyUiEmulator().processingDelay(processing);
		env.put("DASHSCOPE_API_KEY", KEY);
		env.put("DASHSCOPE_BASE_URL", dashscope.baseUrl());
		env.put("EACHLABS_API_KEY", KEY);
		env.put("EACHLABS_BASE_URL", eachlabs.baseUrl());
		env.put("PIXELDOJO_API_KEY", KEY);
		env.put("PIXELDOJO_BASE_URL", pixeldojo.baseUrl());
		env.put("FAL_KEY", KEY);
		env.put("FAL_QUEUE_BASE_URL", fal.baseUrl());
		env.put("FAL_SCHEMA_BASE_URL", fal.baseUrl());
		env.put("REPLICATE_API_TOKEN", KEY);
		env.put("REPLICATE_BASE_URL", replicate.baseUrl());
		env.put("COMFYUI_BASE_URL", comfyui.baseUrl());
		env.forEach((k, v) -> System.out.println("export " + k + "='" + v + "'"));
		System.out.println("# emulators ready");
		System.out.flush();
		Runtime.getRuntime().addShutdownHook(new Thread(() -> {
			dashscope.close();
			eachlabs.close();
			pixeldojo.close();
			fal.close();
			replicate.close();
			comfyui.close();
			s3.close();
		}));
		Thread.currentThread().join();
	}
}
