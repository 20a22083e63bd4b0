package io.github.qwenedit.staging;

import java.util.Base64;

import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.http.Http;

/** Images travel inside the request as data URIs: nothing is stored, so nothing to clean up. */
public final class InlineStaging implements Staging {

	@Override
	public StagingRoute route() {
		return StagingRoute.INLINE;
	}

	@Override
	public String stage(InputImage image, Http http, UploadListener beforeUpload) {
		return dataUri(image);
	}

	public static String dataUri(InputImage image) {
		return "data:" + image.mimeType() + ";base64," + Base64.getEncoder().encodeToString(image.bytes());
	}

	@Override
	public void close() {}
}
