package io.github.qwenedit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import ij.io.FileSaver;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.emulator.EachLabsEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.fixtures.BatchTestData;
import io.github.qwenedit.fixtures.TestImages;
import io.github.qwenedit.staging.S3TestServer;

/**
 * A key pasted with a character an HTTP header cannot carry (here a zero-width space) is refused
 * before anything is staged, sent or journalled, with a sentence that names the setting and shows
 * nothing of the key.
 */
class UnsendableKeyTest {

	private static final String KEY = "sk-unsendable-4c9a";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();
	private final S3TestServer s3 = bed.s3();

	@TempDir
	Path work;

	@ParameterizedTest
	@ValueSource(strings = { "EACHLABS_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY" })
	void aZeroWidthSpaceInAKeyStopsTheRunBeforeAnythingIsStagedOrJournalled(String setting) throws Exception {
		EachLabsEmulator eachlabs = bed.serve(new EachLabsEmulator(KEY));
		Map<String, String> env = bed.env("EACHLABS_API_KEY", KEY, "EACHLABS_BASE_URL", eachlabs);
		String pasted = env.get(setting) + "\u200b";
		env.put(setting, pasted);
		Path in = Files.createDirectories(work.resolve("in"));
		new FileSaver(TestImages.pattern("cell", BatchTestData.SIDE, BatchTestData.SIDE)).saveAsTiff(in.resolve("cell.tif")
			.toString());
		Path out = work.resolve("out");
		Outcome outcome = QwenEditCliRunner.run(env, work.resolve("config"), "--provider", "eachlabs", "--instruction",
			"remove the scale bar", "--output", out.toString(), in.toString());
		String printed = outcome.out() + outcome.err();
		assertEquals(2, outcome.code(), printed);
		assertTrue(outcome.err().contains(setting + " contains a character that no key has and no HTTP header can " +
			"carry (U+200B"), printed);
		assertFalse(printed.contains("Exception"), printed);
		assertFalse(printed.contains(pasted.substring(0, pasted.length() - 1)), "the key was shown: " + printed);
		assertEquals(0, BatchTestData.journalSize(out), "a job that never left the machine was journalled");
		assertEquals(0, eachlabs.requests().size(), "a call was made");
		assertEquals(0, s3.countObjects(s3.prefix()));
	}
}
