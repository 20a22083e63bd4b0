package io.github.qwenedit.staging;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.w3c.dom.Document;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.http.HttpReply;

/**
 * An S3 error reply ({@code <Error><Code>...</Code>...}) turned into a sentence the user can act
 * on. Codes and their meaning: S3 API reference, "Error responses". S3's own text is quoted only
 * for codes we do not know, and never the body (which, for signature errors, holds the canonical
 * request).
 */
final class S3Error {

	private static final Pattern AWS_ENDPOINT_REGION = Pattern.compile("s3[.-]([a-z0-9-]+)\\.amazonaws\\.com");
	private static final Pattern EXPECTED_REGION = Pattern.compile("expecting '([a-z0-9-]+)'");

	private final int status;
	private final String code;
	private final String message;
	private final Optional<String> region;

	private S3Error(int status, String code, String message, Optional<String> region) {
		this.status = status;
		this.code = code;
		this.message = message;
		this.region = region;
	}

	static S3Error of(HttpReply reply) {
		Optional<Document> xml = S3Xml.parse(reply.body());
		String code = xml.map(d -> S3Xml.text(d.getDocumentElement(), "Code")).orElse("");
		String message = xml.map(d -> S3Xml.text(d.getDocumentElement(), "Message")).orElse("");
		return new S3Error(reply.code(), code, message, regionOf(reply, xml, message));
	}

	/** Where S3 says the bucket lives: a header on most replies, else the body of a redirect. */
	private static Optional<String> regionOf(HttpReply reply, Optional<Document> xml, String message) {
		String header = reply.header("x-amz-bucket-region");
		if (header != null && !header.isBlank()) return Optional.of(header.trim());
		if (xml.isPresent()) {
			String region = S3Xml.text(xml.get().getDocumentElement(), "Region");
			if (!region.isEmpty()) return Optional.of(region);
			Matcher endpoint = AWS_ENDPOINT_REGION.matcher(S3Xml.text(xml.get().getDocumentElement(), "Endpoint"));
			if (endpoint.find()) return Optional.of(endpoint.group(1));
		}
		Matcher expected = EXPECTED_REGION.matcher(message);
		return expected.find() ? Optional.of(expected.group(1)) : Optional.empty();
	}

	String code() {
		return code;
	}

	int status() {
		return status;
	}

	/** {@code HTTP 403, AccessDenied}: what to show after "answered". */
	String summary() {
		return "HTTP " + status + (code.isEmpty() ? "" : ", " + code);
	}

	/** @param failure what could not be done, e.g. "Could not upload the image to s3://b/p" */
	EditException toException(BucketConfig config, String failure) {
		return new EditException(ErrorKind.STAGING, failure + ": " + reason(config));
	}

	private String reason(BucketConfig config) {
		switch (code) {
			case "InvalidAccessKeyId":
			case "SignatureDoesNotMatch":
				return "the bucket service does not accept the credentials (" + code + "): the access key or secret key is " +
					"wrong. Check " + BucketConfig.ACCESS_KEY_ID + " and " + BucketConfig.SECRET_ACCESS_KEY + ".";
			case "InvalidToken":
			case "ExpiredToken":
			case "TokenRefreshRequired":
				return "the session token is invalid or has expired (" + code + "). Renew the temporary credentials (" +
					BucketConfig.ACCESS_KEY_ID + ", " + BucketConfig.SECRET_ACCESS_KEY + ", " + BucketConfig.SESSION_TOKEN +
					"), or unset " + BucketConfig.SESSION_TOKEN + " for long-term keys.";
			case "AccessDenied":
			case "AllAccessDisabled":
				return "access was denied (" + code + "). The credentials need permission to put, get, delete and list " +
					"objects in the bucket " + config.bucket() + " under the prefix \"" + config.prefix() +
					"\" (s3:PutObject, s3:GetObject, s3:DeleteObject, s3:ListBucket).";
			case "NoSuchBucket":
				return "there is no bucket named " + config.bucket() + " at " + config.endpoint().host() + ". Check " +
					BucketConfig.BUCKET + ", " + BucketConfig.ENDPOINT_S3 + " and " + BucketConfig.REGION + ".";
			case "RequestTimeTooSkewed":
				return "the bucket service says this computer's clock is wrong (RequestTimeTooSkewed): fix the computer's " +
					"clock (set date and time automatically) and try again.";
			case "NotImplemented":
				// S3-compatible services implement subsets of S3; s3proxy, for one, refuses session tokens.
				return "the bucket service does not support something this request uses (" + summary() + ")" +
					(config.sessionToken().isPresent() ? ". If it does not accept session tokens, use long-term keys and " +
						"unset " + BucketConfig.SESSION_TOKEN + "." : ". Check " + BucketConfig.ENDPOINT_S3 + ".");
			case "SlowDown":
			case "ServiceUnavailable":
			case "InternalError":
				return "the bucket service is failing (" + summary() + ") and still was after several attempts. Try again later.";
			default:
				return regionHint(config).orElseGet(() -> generic(config));
		}
	}

	private Optional<String> regionHint(BucketConfig config) {
		boolean movedElsewhere = code.equals("PermanentRedirect") || code.equals("TemporaryRedirect") ||
			code.equals("AuthorizationHeaderMalformed") || code.equals("IllegalLocationConstraintException") ||
			status == 301 || status == 307;
		if (!movedElsewhere) return Optional.empty();
		if (region.isPresent() && !region.get().equals(config.region())) {
			return Optional.of("the bucket " + config.bucket() + " is in region " + region.get() + ": set " +
				BucketConfig.REGION + "=" + region.get() + ".");
		}
		if (region.isPresent()) {
			return Optional.of("the bucket service sends requests for " + config.bucket() + " to another address (" +
				summary() + "). Check " + BucketConfig.ENDPOINT_S3 + " and " + BucketConfig.ADDRESSING + " (path or virtual).");
		}
		return Optional.of("the bucket " + config.bucket() + " is in another region than " + BucketConfig.REGION + "=" +
			config.region() + " (" + summary() + "): set " + BucketConfig.REGION + " to the bucket's region.");
	}

	private String generic(BucketConfig config) {
		if (status >= 500 && status != 501) {
			return "the bucket service is failing (" + summary() + ") and still was after several attempts. Try again later.";
		}
		String detail = message.replaceAll("\\s+", " ").trim();
		if (detail.length() > 200) detail = detail.substring(0, 200) + "...";
		return "the bucket service at " + config.endpoint().host() + " answered " + summary() +
			(detail.isEmpty() ? "" : ": " + detail) + (detail.endsWith(".") ? "" : ".");
	}
}
