package io.github.qwenedit.staging;

import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.domain.PageSet;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.domain.StorageType;
import org.jclouds.blobstore.options.ListContainerOptions;

import io.github.qwenedit.core.Configuration;

/**
 * A real S3-compatible server for tests: s3proxy in this JVM over a jclouds in-memory
 * ({@code transient}) blob store, on 127.0.0.1 and a free port, checking AWS V2/V4 signatures and
 * presigned-link expiry as S3 does. Starting takes seconds: start one per test class.
 *
 * <pre>
 * static S3TestServer s3;
 * &#64;BeforeAll static void start() throws Exception { s3 = S3TestServer.start(); }
 * &#64;AfterAll static void stop() { s3.close(); }
 * ... Configuration.of(s3.env()) ... BucketConfig.from(config) ... s3.countObjects(s3.prefix())
 * </pre>
 */
public final class S3TestServer implements AutoCloseable {

	public static final String ACCESS_KEY_ID = "AKIDQWENEDITTEST";
	public static final String SECRET_ACCESS_KEY = "test-secret-Wd3kQ9pZx7Lm2Rv8";
	public static final String REGION = "us-east-1";
	public static final String BUCKET = "qwen-edit-test";
	public static final String PREFIX = "staging/inputs";

	private final BlobStoreContext context;
	private final S3Proxy proxy;
	private final String endpoint;

	private S3TestServer(BlobStoreContext context, S3Proxy proxy, String endpoint) {
		this.context = context;
		this.proxy = proxy;
		this.endpoint = endpoint;
	}

	/** Starts the server with the bucket {@value #BUCKET} created. */
	public static S3TestServer start() throws Exception {
		BlobStoreContext context = ContextBuilder.newBuilder("transient").credentials("identity", "credential")
			.build(BlobStoreContext.class);
		context.getBlobStore().createContainerInLocation(null, BUCKET);
		// Port 0: the system picks a free port, so parallel builds cannot collide.
		S3Proxy proxy = S3Proxy.builder().blobStore(context.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
			.awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY_ID, SECRET_ACCESS_KEY).build();
		try {
			proxy.start();
			long until = System.nanoTime() + 20_000_000_000L;
			while (!"STARTED".equals(proxy.getState())) {
				if (System.nanoTime() > until) throw new IllegalStateException("s3proxy did not start in 20 s: " + proxy.getState());
				Thread.sleep(10);
			}
		}
		catch (Exception e) {
			proxy.stop();
			context.close();
			throw e;
		}
		return new S3TestServer(context, proxy, "http://127.0.0.1:" + proxy.getPort());
	}

	public String endpoint() {
		return endpoint;
	}

	public String bucket() {
		return BUCKET;
	}

	public String prefix() {
		return PREFIX;
	}

	public String accessKeyId() {
		return ACCESS_KEY_ID;
	}

	public String secretAccessKey() {
		return SECRET_ACCESS_KEY;
	}

	public String region() {
		return REGION;
	}

	/**
	 * The settings that point the plugin at this server, as environment variables:
	 * {@code QWEN_EDIT_BUCKET=s3://qwen-edit-test/staging/inputs}, {@code AWS_ENDPOINT_URL_S3},
	 * {@code AWS_REGION}, {@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY}. A new mutable map
	 * each call, so a test may change or add entries.
	 */
	public Map<String, String> env() {
		Map<String, String> env = new LinkedHashMap<>();
		env.put(BucketConfig.BUCKET, "s3://" + BUCKET + "/" + PREFIX);
		env.put(BucketConfig.ENDPOINT_S3, endpoint);
		env.put(BucketConfig.REGION, REGION);
		env.put(BucketConfig.ACCESS_KEY_ID, ACCESS_KEY_ID);
		env.put(BucketConfig.SECRET_ACCESS_KEY, SECRET_ACCESS_KEY);
		return env;
	}

	public Configuration configuration() {
		return Configuration.of(env());
	}

	/** The bucket configuration for {@link #env()}. */
	public BucketConfig bucketConfig() throws Exception {
		return BucketConfig.from(configuration()).orElseThrow();
	}

	/** Keys of the objects whose key starts with {@code keyPrefix}, read from the store itself, not over S3. */
	public List<String> keys(String keyPrefix) {
		BlobStore store = context.getBlobStore();
		List<String> keys = new ArrayList<>();
		ListContainerOptions options = ListContainerOptions.Builder.recursive();
		if (!keyPrefix.isEmpty()) options = options.prefix(keyPrefix);
		for (int page = 0; page < 1000; page++) {
			PageSet<? extends StorageMetadata> listing = store.list(BUCKET, options);
			for (StorageMetadata item : listing) {
				if (item.getType() == StorageType.BLOB) keys.add(item.getName());
			}
			if (listing.getNextMarker() == null) break;
			options = options.afterMarker(listing.getNextMarker());
		}
		Collections.sort(keys);
		return keys;
	}

	public int countObjects(String keyPrefix) {
		return keys(keyPrefix).size();
	}

	/** Empties the bucket between tests. */
	public void clear() {
		context.getBlobStore().clearContainer(BUCKET);
	}

	/** The store behind the server, to put or inspect objects without going through S3. */
	public BlobStore blobStore() {
		return context.getBlobStore();
	}

	@Override
	public void close() {
		try {
			proxy.stop();
		}
		catch (Exception e) {
			throw new IllegalStateException("s3proxy did not stop", e);
		}
		finally {
			context.close();
		}
	}
}
