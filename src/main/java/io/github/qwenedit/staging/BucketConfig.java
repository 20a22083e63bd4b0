package io.github.qwenedit.staging;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.http.Http;
import okhttp3.HttpUrl;

/**
 * Where staged images go: the user's S3-compatible bucket, read from the settings named in
 * DESIGN.md's configuration contract. Immutable; its {@link #toString()} shows no credential.
 */
public final class BucketConfig {

	public static final String BUCKET = "QWEN_EDIT_BUCKET";
	public static final String ENDPOINT_S3 = "AWS_ENDPOINT_URL_S3";
	public static final String ENDPOINT = "AWS_ENDPOINT_URL";
	public static final String REGION = "AWS_REGION";
	public static final String ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID";
	public static final String SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY";
	public static final String SESSION_TOKEN = "AWS_SESSION_TOKEN";
	public static final String ADDRESSING = "QWEN_EDIT_S3_ADDRESSING";
	public static final String URL_TTL_SECONDS = "QWEN_EDIT_URL_TTL_SECONDS";

	public static final String DEFAULT_REGION = "us-east-1";
	public static final int DEFAULT_URL_TTL_SECONDS = 900;
	public static final int MAX_URL_TTL_SECONDS = (int) SigV4Signer.MAX_PRESIGNED_LIFETIME.getSeconds();

	/** Lenient on purpose: GCS allows underscores and capitals that AWS refuses; the service judges. */
	private static final Pattern BUCKET_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
	private static final Pattern REGION_NAME = Pattern.compile("[a-z0-9-]+");

	private final String bucket;
	private final String prefix;
	private final HttpUrl endpoint;
	private final String region;
	private final boolean pathStyle;
	private final String accessKeyId;
	private final String secretAccessKey;
	private final Optional<String> sessionToken;
	private final Duration urlTtl;

	private BucketConfig(String bucket, String prefix, HttpUrl endpoint, String region, boolean pathStyle,
		String accessKeyId, String secretAccessKey, Optional<String> sessionToken, Duration urlTtl)
	{
		this.bucket = bucket;
		this.prefix = prefix;
		this.endpoint = endpoint;
		this.region = region;
		this.pathStyle = pathStyle;
		this.accessKeyId = accessKeyId;
		this.secretAccessKey = secretAccessKey;
		this.sessionToken = sessionToken;
		this.urlTtl = urlTtl;
	}

	/**
	 * The configured bucket, or empty when {@value #BUCKET} is not set. Every other mistake (a bucket
	 * without credentials, an unreadable endpoint, a link lifetime out of range) is an
	 * {@link EditException} that names the setting to fix.
	 */
	public static Optional<BucketConfig> from(Configuration config) throws EditException {
		Optional<String> location = config.get(BUCKET);
		if (!location.isPresent()) return Optional.empty();
		String[] bucketAndPrefix = parseLocation(location.get());
		String bucket = bucketAndPrefix[0];
		String prefix = bucketAndPrefix[1];

		String region = config.get(REGION, DEFAULT_REGION);
		if (!REGION_NAME.matcher(region).matches()) {
			throw invalid(REGION + " must be a region name such as us-east-1 or auto, not \"" + region + "\".");
		}
		Optional<String> endpointSetting = config.get(ENDPOINT_S3);
		String endpointName = ENDPOINT_S3;
		if (!endpointSetting.isPresent()) {
			endpointSetting = config.get(ENDPOINT);
			endpointName = ENDPOINT;
		}
		HttpUrl endpoint = endpointSetting.isPresent() ? parseEndpoint(endpointName, endpointSetting.get())
			: HttpUrl.get("https://s3." + region + ".amazonaws.com");

		boolean pathStyle = addressing(config, endpoint, bucket);
		Duration ttl = urlTtl(config);

		Optional<String> accessKeyId = config.get(ACCESS_KEY_ID);
		Optional<String> secretAccessKey = config.get(SECRET_ACCESS_KEY);
		if (!accessKeyId.isPresent() || !secretAccessKey.isPresent()) {
			for (String name : new String[] { ACCESS_KEY_ID, SECRET_ACCESS_KEY }) {
				if (config.ignoredSecretNames().contains(name)) config.require(name, "bucket credential " + name);
			}
			throw new EditException(ErrorKind.STAGING, "The bucket " + location(bucket, prefix) +
				" is configured but its credentials are not: set " + ACCESS_KEY_ID + " and " + SECRET_ACCESS_KEY +
				" (and " + SESSION_TOKEN + " for temporary credentials) in the environment or in " +
				"Plugins > Qwen Image Edit > Settings.");
		}
		Configuration.checkSendableInHeader(ACCESS_KEY_ID, accessKeyId.get());
		Configuration.checkSendableInHeader(SECRET_ACCESS_KEY, secretAccessKey.get());
		Optional<String> sessionToken = config.get(SESSION_TOKEN);
		if (sessionToken.isPresent()) Configuration.checkSendableInHeader(SESSION_TOKEN, sessionToken.get());
		return Optional.of(new BucketConfig(bucket, prefix, endpoint, region, pathStyle, accessKeyId.get(),
			secretAccessKey.get(), sessionToken, ttl));
	}

	private static String[] parseLocation(String value) throws EditException {
		if (!value.regionMatches(true, 0, "s3://", 0, 5)) {
			throw invalid(BUCKET + " must look like s3://bucket/prefix, not \"" + value + "\".");
		}
		String rest = value.substring(5);
		int slash = rest.indexOf('/');
		String bucket = slash < 0 ? rest : rest.substring(0, slash);
		if (!BUCKET_NAME.matcher(bucket).matches()) {
			throw invalid(BUCKET + " must start with s3:// and a bucket name (letters, digits, dots, hyphens), not \"" +
				value + "\".");
		}
		StringBuilder prefix = new StringBuilder();
		if (slash >= 0) {
			for (String segment : rest.substring(slash + 1).split("/")) {
				if (segment.isEmpty()) continue;
				// HTTP clients resolve these path segments away, so the object would land elsewhere.
				if (segment.equals(".") || segment.equals("..")) {
					throw invalid("The prefix in " + BUCKET + " may not contain \".\" or \"..\" folders: \"" + value + "\".");
				}
				if (prefix.length() > 0) prefix.append('/');
				prefix.append(segment);
			}
		}
		// The sweep of objects a crash left behind deletes every random-named object a day old under
		// the prefix: at the bucket's root that would be the user's own files.
		if (prefix.length() == 0) {
			throw invalid(BUCKET + " must name a folder used only by this plugin, such as s3://" + bucket +
				"/qwen-edit, not the bucket alone (\"" + value + "\"): staged objects left for a day under it are deleted.");
		}
		return new String[] { bucket, prefix.toString() };
	}

	private static HttpUrl parseEndpoint(String name, String value) throws EditException {
		HttpUrl url = HttpUrl.parse(value);
		if (url == null) {
			throw invalid(name + " must be an http(s) address such as https://s3.eu-west-1.amazonaws.com, not \"" +
				value + "\".");
		}
		if (!url.encodedPath().equals("/") || url.querySize() > 0) {
			throw invalid(name + " must be only the service address (scheme, host and port), without a path: \"" +
				value + "\". Put the bucket and folder in " + BUCKET + ".");
		}
		return url;
	}

	private static boolean addressing(Configuration config, HttpUrl endpoint, String bucket) throws EditException {
		Optional<String> explicit = config.get(ADDRESSING);
		if (explicit.isPresent()) {
			String value = explicit.get().toLowerCase(Locale.ROOT);
			if (value.equals("path")) return true;
			if (value.equals("virtual")) return false;
			throw invalid(ADDRESSING + " must be path or virtual, not \"" + explicit.get() + "\".");
		}
		boolean aws = isAwsHost(endpoint.host());
		// AWS's wildcard certificate covers one label only: a dotted bucket name breaks https with
		// virtual hosts, which is why AWS's own SDKs fall back to path style for such buckets.
		return !aws || (endpoint.isHttps() && bucket.contains("."));
	}

	static boolean isAwsHost(String host) {
		String h = host.toLowerCase(Locale.ROOT);
		return h.endsWith(".amazonaws.com") || h.endsWith(".amazonaws.com.cn");
	}

	private static Duration urlTtl(Configuration config) throws EditException {
		int seconds = config.getInt(URL_TTL_SECONDS, DEFAULT_URL_TTL_SECONDS);
		if (seconds < 1 || seconds > MAX_URL_TTL_SECONDS) {
			throw invalid(URL_TTL_SECONDS + " must be between 1 and " + MAX_URL_TTL_SECONDS +
				" seconds (7 days, the longest a presigned link can live), not " + seconds + ".");
		}
		return Duration.ofSeconds(seconds);
	}

	private static EditException invalid(String message) {
		return new EditException(ErrorKind.INVALID_INPUT, message);
	}

	private static String location(String bucket, String prefix) {
		return "s3://" + bucket + "/" + prefix;
	}

	public String bucket() {
		return bucket;
	}

	/** The folder inside the bucket, without leading or trailing slash; never empty. */
	public String prefix() {
		return prefix;
	}

	/** {@code s3://bucket/prefix}, for messages. */
	public String location() {
		return location(bucket, prefix);
	}

	public HttpUrl endpoint() {
		return endpoint;
	}

	public String region() {
		return region;
	}

	/** Path style puts the bucket in the path ({@code host/bucket/key}); virtual-host style in the host name. */
	public boolean pathStyle() {
		return pathStyle;
	}

	public Duration urlTtl() {
		return urlTtl;
	}

	public Optional<String> sessionToken() {
		return sessionToken;
	}

	/** The signer for these credentials and region. */
	public SigV4Signer signer() {
		return new SigV4Signer(accessKeyId, secretAccessKey, sessionToken, region);
	}

	/** The key of {@code name} inside the prefix. */
	public String keyFor(String name) {
		return prefix.isEmpty() ? name : prefix + "/" + name;
	}

	/** The bucket's own address, as requests to list it use. */
	public HttpUrl bucketUrl() {
		if (pathStyle) return endpoint.newBuilder().addEncodedPathSegment(SigV4Signer.uriEncode(bucket)).build();
		return endpoint.newBuilder().host(bucket + "." + endpoint.host()).build();
	}

	/** The address of one object, each segment of the key encoded as the signature expects. */
	public HttpUrl objectUrl(String key) {
		HttpUrl.Builder url = bucketUrl().newBuilder();
		for (String segment : key.split("/", -1)) {
			// OkHttp resolves dot segments and merges empty ones, so such a key would address another object.
			if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
				throw new IllegalArgumentException("An object key with an empty, \".\" or \"..\" segment cannot be addressed: " + key);
			}
			url.addEncodedPathSegment(SigV4Signer.uriEncode(segment));
		}
		return url.build();
	}

	/**
	 * {@code host:port} keys (as {@link Http#hostKey} spells them) that may be reached over plain
	 * http: the bucket's host when the user configured an {@code http://} endpoint.
	 */
	public Set<String> plainHttpHosts() {
		HttpUrl url = bucketUrl();
		return url.isHttps() ? Set.of() : Set.of(Http.hostKey(url));
	}

	@Override
	public String toString() {
		return "BucketConfig{" + location() + ", endpoint=" + endpoint + ", region=" + region + ", " +
			(pathStyle ? "path style" : "virtual-host style") + ", link lifetime=" + urlTtl.getSeconds() + " s, " +
			(sessionToken.isPresent() ? "temporary credentials" : "credentials") + " set}";
	}
}
