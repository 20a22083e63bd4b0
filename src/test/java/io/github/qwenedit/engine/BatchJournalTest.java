package io.github.qwenedit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.JobHandle;
import io.github.qwenedit.core.JobState;
import io.github.qwenedit.core.Provenance;

/** The journal's phases and its one keep-or-drop rule, on real files. */
class BatchJournalTest {

	@TempDir
	Path out;

	private static EditRequest request() throws Exception {
		byte[] png = io.github.qwenedit.codec.InputFitting.toPng(new java.awt.image.BufferedImage(8, 8,
			java.awt.image.BufferedImage.TYPE_INT_RGB));
		return new EditRequest(List.of(new InputImage(png, "image/png", 8, 8, "cells.tif")), "remove the scale bar",
			EditOptions.builder("qwen-image-2.0").seed(4L).build());
	}

	@Test
	void anEntryGoesFromStagedToAcceptedWithItsLinksAndIsReadBackAsWritten() throws Exception {
		BatchJournal journal = new BatchJournal(out);
		BatchJournal.Pending pending = journal.pending(new BatchJournal.SourceKey("/data/cells.tif", 7), "cells plane 007",
			"dashscope", request(), false);
		pending.aboutToSubmit(List.of("staging/inputs/a.png"), Provenance.ofAiEdit().put(Provenance.OUTPUTS, "1"),
			Optional.empty());
		BatchJournal.Entry staged = journal.entries().get(0);
		assertEquals(BatchJournal.Phase.STAGED, staged.phase);
		assertEquals(BatchJournal.VERSION, staged.version);
		assertEquals("/data/cells.tif", staged.source.source);
		assertEquals(7, staged.source.plane);
		assertEquals(BatchLog.key("/data/cells.tif", 7), staged.key());
		assertEquals("1", staged.provenance().get().get(Provenance.OUTPUTS));
		assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(staged.file)));

		JobHandle job = JobHandle.finishedAtOnce("req-1");
		pending.accepted(JobState.succeeded(job, List.of("https://results.example/1.png"), Map.of("CostUsd", "0.04")),
			List.of("staging/inputs/a.png"));
		BatchJournal.Entry accepted = journal.entries().get(0);
		assertEquals(BatchJournal.Phase.ACCEPTED, accepted.phase);
		assertEquals("req-1", accepted.job.id());
		assertEquals(List.of("https://results.example/1.png"), accepted.outputUrls);
		assertEquals("0.04", accepted.facts.get("CostUsd"));
		assertEquals("cells plane 007", accepted.sourceTitle());

		assertTrue(pending.settle(new EditException(ErrorKind.LOCAL_FILES, "disk full")
			.leaving(EditException.Charge.UNSAVED_RESULT, job, List.of())));
		assertEquals(1, journal.entries().size());
		assertFalse(pending.settle(null));
		assertTrue(journal.entries().isEmpty());
		assertFalse(Files.exists(out.resolve(BatchJournal.FOLDER)), "an empty journal folder was left among the results");
	}

	/**
	 * While a create the provider refused (429) waits to be sent again, the entry says that nothing
	 * was sent: a run killed in that wait leaves the next one to delete the staged inputs and say
	 * nothing was charged, not to report a job that may run.
	 */
	@Test
	void aRefusedCreateTakesTheEntryBackToNothingSentWithItsStagedKeys() throws Exception {
		BatchJournal journal = new BatchJournal(out);
		BatchJournal.Pending pending = journal.pending(new BatchJournal.SourceKey("/data/cells.tif", 0), "cells",
			"comfyui", request(), false);
		pending.aboutToSubmit(List.of("staging/inputs/a.png"), Provenance.ofAiEdit(),
			Optional.of(new JobHandle("prompt-1", "http://127.0.0.1:8188/history/prompt-1", null, null)));
		assertEquals("prompt-1", journal.entries().get(0).job.id());

		pending.refused(List.of("staging/inputs/a.png"));
		BatchJournal.Entry waiting = journal.entries().get(0);
		assertEquals(BatchJournal.Phase.UPLOADING, waiting.phase);
		assertEquals(List.of("staging/inputs/a.png"), waiting.stagedKeys);
		assertEquals(null, waiting.job, "a refused create's planned job was kept as if it might run");
		assertFalse(pending.settle(new EditException(ErrorKind.RATE_LIMITED, "refused")), "a refusal was kept as a job");
	}

	/**
	 * A kill between writing an entry's new state and renaming it over the entry leaves that state
	 * whole in a temporary file: the next look at the journal takes it up, so the job id the provider
	 * gave is not lost (and the image not sent again); a partial one is left to the entry's old state.
	 */
	@Test
	void aWriteCutShortBeforeItsRenameIsTakenUpByTheNextLook() throws Exception {
		BatchJournal journal = new BatchJournal(out);
		BatchJournal.Pending pending = journal.pending(new BatchJournal.SourceKey("/data/cells.tif", 0), "cells", "fal",
			request(), false);
		pending.aboutToSubmit(List.of("staging/inputs/a.png"), Provenance.ofAiEdit(), Optional.empty());
		Path entry = journal.entries().get(0).file;
		String staged = Files.readString(entry);
		pending.accepted(JobState.running(new JobHandle("req-9", null, null, null)), List.of("staging/inputs/a.png"));
		String accepted = Files.readString(entry);
		assertTrue(pending.settle(new IllegalStateException("killed")), "the accepted job's entry stays");
		// As the kill left it: the entry still staged, its accepted state whole beside it, from a program gone.
		Files.writeString(entry, staged);
		com.fasterxml.jackson.databind.node.ObjectNode written = (com.fasterxml.jackson.databind.node.ObjectNode)
			io.github.qwenedit.http.Json.MAPPER.readTree(accepted);
		written.remove("pid");
		Path cutShort = entry.resolveSibling("." + entry.getFileName() + ".4711.tmp");
		Files.write(cutShort, io.github.qwenedit.http.Json.bytes(written));

		List<BatchJournal.Entry> read = journal.entries();
		assertEquals(1, read.size());
		assertEquals(BatchJournal.Phase.ACCEPTED, read.get(0).phase);
		assertEquals("req-9", read.get(0).job.id());
		assertFalse(Files.exists(cutShort), "the temporary file was left behind");

		Path partial = entry.resolveSibling("." + entry.getFileName() + ".4712.tmp");
		Files.writeString(partial, accepted.substring(0, accepted.length() / 2));
		assertEquals(BatchJournal.Phase.ACCEPTED, journal.entries().get(0).phase, "a partial write replaced the entry");
		Files.setLastModifiedTime(partial, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(120)));
		journal.entries();
		assertFalse(Files.exists(partial), "a partial write no program fills any more was left behind");
	}

	/**
	 * An entry is one provider's job: a second provider's entry for the same source lives beside it
	 * instead of overwriting it, and an entry written under the earlier name (the source alone) is
	 * still read.
	 */
	@Test
	void entriesOfTwoProvidersForOneSourceLiveSideBySideWithOnesOfTheEarlierName() throws Exception {
		BatchJournal journal = new BatchJournal(out);
		BatchJournal.SourceKey source = new BatchJournal.SourceKey("/data/cells.tif", 0);
		journal.pending(source, "cells", "replicate", request(), false).accepted(
			JobState.running(new JobHandle("pred-1", null, null, null)), List.of("staging/inputs/a.png"));
		journal.pending(source, "cells", "fal", request(), false).aboutToSubmit(List.of("staging/inputs/b.png"),
			Provenance.ofAiEdit(), Optional.empty());
		Path earlierName = out.resolve(BatchJournal.FOLDER).resolve(io.github.qwenedit.core.Hashing.sha256Hex(
			"/data/other.tif".getBytes(java.nio.charset.StandardCharsets.UTF_8)).substring(0, 32) + ".json");
		Files.writeString(earlierName, "{\"version\": 1, \"phase\": \"ACCEPTED\", \"source\": \"/data/other.tif\", " +
			"\"provider\": \"eachlabs\", \"jobId\": \"e-7\"}");
		Map<String, String> providers = new java.util.TreeMap<>();
		for (BatchJournal.Entry e : journal.entries()) providers.put(e.provider, e.key());
		assertEquals(Map.of("replicate", "/data/cells.tif", "fal", "/data/cells.tif", "eachlabs", "/data/other.tif"),
			providers);
		BatchJournal.Entry replicate = journal.entries().stream().filter(e -> e.provider.equals("replicate")).findFirst()
			.get();
		assertEquals("pred-1", replicate.job.id());
	}

	@Test
	void oneRuleKeepsWhatCanStillBeFetchedOrMustStillBeReported() {
		EditException plain = new EditException(ErrorKind.PROVIDER_FAILURE, "failed");
		for (BatchJournal.Phase phase : BatchJournal.Phase.values()) {
			assertFalse(BatchJournal.keeps(phase, null), "a saved result settles the entry");
			assertFalse(BatchJournal.keeps(phase, plain), "a job that ended without a result settles the entry");
			for (EditException.Charge charge : EditException.Charge.values()) {
				assertEquals(charge == EditException.Charge.UNIDENTIFIED_JOB || charge == EditException.Charge.RUNNING_JOB ||
					charge == EditException.Charge.UNSAVED_RESULT, BatchJournal.keeps(phase, plain.leaving(charge, null,
						List.of())), phase + " " + charge);
			}
		}
		assertFalse(BatchJournal.keeps(BatchJournal.Phase.STAGED, new IllegalArgumentException("never sent")));
		assertTrue(BatchJournal.keeps(BatchJournal.Phase.ACCEPTED, new IllegalStateException("after the provider took it")));
		assertFalse(BatchJournal.keeps(null, new IllegalStateException("before anything was written")));
	}

	/**
	 * Parallel workers of one batch write and clear entries at once; the last clear also removes the
	 * folder, which must never make another worker's write fail (CI saw "Cannot write the journal" from
	 * {@code Files.createDirectories} racing the removal).
	 */
	@Test
	void workersWritingAndClearingAtOnceNeverFailToWrite() throws Exception {
		BatchJournal journal = new BatchJournal(out);
		EditRequest request = request();
		int workers = 6;
		int editsEach = 150;
		java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(workers);
		try {
			List<java.util.concurrent.Future<?>> running = new java.util.ArrayList<>();
			for (int w = 0; w < workers; w++) {
				int worker = w;
				running.add(pool.submit(() -> {
					for (int i = 0; i < editsEach; i++) {
						BatchJournal.Pending pending = journal.pending(new BatchJournal.SourceKey("/data/cell" + worker + ".tif",
							i), "cell", "dashscope", request, false);
						pending.aboutToSubmit(List.of(), Provenance.ofAiEdit(), Optional.empty());
						assertFalse(pending.settle(null));
					}
					return null;
				}));
			}
			for (java.util.concurrent.Future<?> f : running) f.get(2, java.util.concurrent.TimeUnit.MINUTES);
		}
		finally {
			pool.shutdownNow();
		}
		assertTrue(journal.entries().isEmpty());
		assertFalse(Files.exists(out.resolve(BatchJournal.FOLDER)), "an empty journal folder was left among the results");
	}

	/** An entry set aside where one of the same name already lies keeps the earlier one, which the user was told of. */
	@Test
	void aSecondEntrySetAsideUnderTheSameNameKeepsTheFirst(@TempDir Path out) throws Exception {
		BatchJournal journal = new BatchJournal(out);
		Path folder = Files.createDirectories(out.resolve(BatchJournal.FOLDER));
		Files.writeString(folder.resolve("evil.json"), "{not json");
		assertTrue(journal.entries().isEmpty());
		Files.writeString(folder.resolve("evil.json"), "{still not json");
		assertTrue(journal.entries().isEmpty());
		assertEquals("{not json", Files.readString(folder.resolve("evil.json" + BatchJournal.SET_ASIDE)));
		assertEquals("{still not json", Files.readString(folder.resolve("evil.json" + BatchJournal.SET_ASIDE + ".2")));
	}
}
