package io.github.qwenedit.emulator;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import io.github.qwenedit.staging.S3TestServer;

/**
 * What an end-to-end provider test runs against: the bucket on s3proxy, started once for the test
 * class because starting it takes seconds, and the provider emulators of each test, stopped after
 * it. Registered as a static {@code @RegisterExtension} field, so the bucket is up before any test
 * instance (and its emulator fields) is made:
 *
 * <pre>
 * &#64;RegisterExtension
 * static final ProviderTestBed bed = new ProviderTestBed();
 * private final S3TestServer s3 = bed.s3();
 * private final EachLabsEmulator eachlabs = bed.serve(new EachLabsEmulator(KEY));
 * ... bed.env("EACHLABS_API_KEY", KEY, "EACHLABS_BASE_URL", eachlabs) ...
 * </pre>
 */
public final class ProviderTestBed implements BeforeAllCallback, AfterAllCallback, AfterEachCallback {

	private S3TestServer s3;
	private final List<EmulatorServer<?>> served = new ArrayList<>();

	@Override
	public void beforeAll(ExtensionContext context) throws Exception {
		s3 = S3TestServer.start();
	}

	@Override
	public void afterEach(ExtensionContext context) {
		int filesLeft = 0;
		synchronized (served) {
			for (EmulatorServer<?> emulator : served) {
				if (emulator instanceof ReplicateEmulator) filesLeft += ((ReplicateEmulator) emulator).filesLeft();
			}
			served.forEach(EmulatorServer::close);
			served.clear();
		}
		// Replicate's uploads can be deleted, so any one left behind is a defect, whatever the test checked.
		if (filesLeft > 0) throw new AssertionError(filesLeft + " file(s) uploaded to Replicate were left behind");
	}

	@Override
	public void afterAll(ExtensionContext context) {
		s3.close();
	}

	/** The bucket of this test class. */
	public S3TestServer s3() {
		return s3;
	}

	/** Stops {@code emulator} once the current test has ended, and returns it. */
	public <E extends EmulatorServer<?>> E serve(E emulator) {
		synchronized (served) {
			served.add(emulator);
		}
		return emulator;
	}

	/**
	 * The environment of a user of one provider with no bucket at all: the provider's key and its
	 * base URL pointing at {@code emulator}. A new mutable map each call.
	 */
	public static Map<String, String> envWithoutBucket(String keyVariable, String key, String baseUrlVariable,
		EmulatorServer<?> emulator)
	{
		Map<String, String> env = new java.util.HashMap<>();
		env.put(keyVariable, key);
		env.put(baseUrlVariable, emulator.baseUrl());
		return publishedBy(emulator, env);
	}

	/**
	 * {@code env} with the addresses of what {@code emulator} publishes beside its API: fal's schemas
	 * are on a host of their own, which would otherwise be the real fal.ai.
	 */
	public static Map<String, String> publishedBy(EmulatorServer<?> emulator, Map<String, String> env) {
		if (emulator instanceof FalEmulator) env.put("FAL_SCHEMA_BASE_URL", emulator.baseUrl());
		return env;
	}

	/**
	 * The environment of a user of one provider who stages in the bucket: the bucket's variables, the
	 * provider's key and its base URL pointing at {@code emulator}. A new mutable map each call.
	 */
	public Map<String, String> env(String keyVariable, String key, String baseUrlVariable, EmulatorServer<?> emulator) {
		Map<String, String> env = s3.env();
		env.put(keyVariable, key);
		env.put(baseUrlVariable, emulator.baseUrl());
		return publishedBy(emulator, env);
	}
}
