package io.github.qwenedit.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 in lower-case hex, as provenance records it and as AWS Signature V4 needs it. */
public final class Hashing {

	private static final char[] HEX = "0123456789abcdef".toCharArray();

	private Hashing() {}

	public static String sha256Hex(byte[] data) {
		return hex(sha256(data));
	}

	/** The SHA-256 of a file's bytes, read in pieces so that a stack of any size fits in memory. */
	public static String sha256Hex(Path file) throws IOException {
		MessageDigest digest = sha256();
		try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
			in.transferTo(java.io.OutputStream.nullOutputStream());
		}
		return hex(digest.digest());
	}

	public static byte[] sha256(byte[] data) {
		return sha256().digest(data);
	}

	private static MessageDigest sha256() {
		try {
			return MessageDigest.getInstance("SHA-256");
		}
		catch (NoSuchAlgorithmException e) {
			throw new IllegalStateException("Every Java runtime has SHA-256", e);
		}
	}

	public static String hex(byte[] bytes) {
		char[] out = new char[bytes.length * 2];
		for (int i = 0; i < bytes.length; i++) {
			out[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
			out[2 * i + 1] = HEX[bytes[i] & 0xf];
		}
		return new String(out);
	}
}
