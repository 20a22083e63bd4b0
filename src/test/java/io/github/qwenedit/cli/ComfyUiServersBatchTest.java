package io.github.qwenedit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import ij.io.FileSaver;
import io.github.qwenedit.ChildJvm;
import io.github.qwenedit.cli.QwenEditCliRunner.Outcome;
import io.github.qwenedit.emulator.ComfyUiEmulator;
import io.github.qwenedit.emulator.ProviderTestBed;
import io.github.qwenedit.engine.BatchJournal;
import io.github.qwenedit.fixtures.TestImages;

/**
 * A batch of the shell command over several ComfyUI servers ({@code COMFYUI_BASE_URLS}): the edits
 * spread over them, one queue each; a server that cannot be reached, or stops mid-batch, hands the
 * edits it had not yet taken to the other; and each journal entry names the server that holds its
 * prompt, so that the next run fetches every prompt from its own server.
 */
class ComfyUiServersBatchTest {

	private static final String INSTRUCTION = "remove the scale bar";

	@RegisterExtension
	static final ProviderTestBed bed = new ProviderTestBed();

	@TempDir
	Path work;

	private final ComfyUiEmulator first = bed.serve(new ComfyUiEmulator().processingDelay(Duration.ofMillis(300)));
	private final ComfyUiEmulator second = bed.serve(new ComfyUiEmulator().processingDelay(Duration.ofMillis(300)));

	private Map<String, String> env(String... servers) throws Exception {
		Map<String, String> env = new HashMap<>();
		env.put("COMFYUI_BASE_URLS", String.join(",", servers));
		// The single server's setting is not what a batch over several uses.
		env.put("COMFYUI_BASE_URL", closedAddress());
		return env;
	}

	private static String closedAddress() throws Exception {
		try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
			return "http://127.0.0.1:" + taken.getLocalPort();
		}
	}

	private Path folderOfImages(int count) {
		Path in = work.resolve("in");
		try {
			Files.createDirectories(in);
		}
		catch (java.io.IOException e) {
			throw new java.io.UncheckedIOException(e);
		}
		for (int i = 0; i < count; i++) {
			new FileSaver(TestImages.pattern("cell" + i, 320, 240)).saveAsTiff(in.resolve("cell" + i + ".tif").toString());
		}
		return in;
	}

	private String[] args(Path in, Path out) {
		return new String[] { "--provider", "comfyui", "--model", "qwen-image-edit-2509", "--instruction", INSTRUCTION,
			"--seed", "11", "--output", out.toString(), in.toString() };
	}

	private static long saved(Path out) throws Exception {
		try (var files = Files.list(out)) {
			return files.filter(f -> f.getFileName().toString().startsWith("AI-edit_")).count();
		}
	}

	@Test
	void theEditsSpreadOverBothServersAndABrokenOrUnreachableOneHandsItsEditsToTheOther() throws Exception {
		Path in = folderOfImages(6);
		Path out = work.resolve("out");
		List<String> asManyAsTen = new ArrayList<>(List.of(args(in, out)));
		asManyAsTen.addAll(0, List.of("--concurrency", "10"));
		Outcome run = QwenEditCliRunner.run(env(first.baseUrl(), second.baseUrl()), work.resolve("config"),
			asManyAsTen.toArray(new String[0]));
		assertEquals(0, run.code(), run.out() + run.err());
		// The lab's servers have no key: the limit is theirs.
		assertTrue((run.out() + run.err()).contains("ComfyUI runs at most 6 edits at once on its 2 servers: using 6."),
			run.out() + run.err());
		assertEquals(6, saved(out));
		assertEquals(6, first.prompts().size() + second.prompts().size(), "an edit was queued twice or not at all");
		assertTrue(first.prompts().size() >= 2 && second.prompts().size() >= 2,
			"the edits were not spread: " + first.prompts().size() + " and " + second.prompts().size());

		// A server whose uploads break off (it died while they were sent) hands the edits it was given to the other.
		second.breakUploads();
		Path out2 = work.resolve("out2");
		int before = first.prompts().size();
		int beforeOnSecond = second.prompts().size();
		int uploadsBefore = second.requestCount("/upload/image");
		Outcome handed = QwenEditCliRunner.run(env(second.baseUrl(), first.baseUrl()), work.resolve("config"), args(in, out2));
		assertEquals(0, handed.code(), handed.out() + handed.err());
		assertEquals(6, saved(out2));
		assertEquals(beforeOnSecond, second.prompts().size());
		assertTrue(second.requestCount("/upload/image") > uploadsBefore, "no edit was given to the broken server, so none was handed over");
		assertEquals(before + 6, first.prompts().size(), "the edits given to the broken server did not all go to the other");
		assertTrue(new BatchJournal(out2).entries().isEmpty());

		// One that cannot be reached at all gets no edit.
		Path out3 = work.resolve("out3");
		Outcome unreachable = QwenEditCliRunner.run(env(closedAddress(), first.baseUrl()), work.resolve("config"),
			args(in, out3));
		assertEquals(0, unreachable.code(), unreachable.out() + unreachable.err());
		assertEquals(6, saved(out3));
		assertEquals(before + 12, first.prompts().size());
	}

	/**
	 * A server that takes connections and never answers (a frozen GPU machine) held the whole batch for
	 * four minutes, silent, then refused it, while the other server got nothing. It is now given one
	 * short chance, set aside, and the batch runs on the other.
	 */
	@Test
	void aServerThatNeverAnswersIsSetAsideAndTheBatchRunsOnTheOther() throws Exception {
		try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
			List<java.net.Socket> held = java.util.Collections.synchronizedList(new ArrayList<>());
			Thread accepting = new Thread(() -> {
				try {
					while (!silent.isClosed()) held.add(silent.accept());
				}
				catch (java.io.IOException closed) {
					// The test is over.
				}
			});
			accepting.setDaemon(true);
			accepting.start();
			Path in = folderOfImages(2);
			Path out = work.resolve("out");
			long start = System.nanoTime();
			Outcome run = QwenEditCliRunner.run(env("http://127.0.0.1:" + silent.getLocalPort(), first.baseUrl()),
				work.resolve("config"), args(in, out));
			long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
			assertEquals(0, run.code(), run.out() + run.err());
			assertEquals(2, saved(out));
			assertEquals(2, first.prompts().size());
			assertTrue(seconds < 90, "the silent server held the batch for " + seconds + " s");
			synchronized (held) {
				for (java.net.Socket socket : held) {
					socket.close();
				}
			}
		}
	}

	/**
	 * Issue 19 F7: a proxy in front of a server answered 504 after the server had queued the prompt;
	 * the plugin took that for a server that took nothing and queued the edit on the other server as
	 * well, so it ran twice. The prompt carries the plugin's own id now, and the server is asked for it
	 * before the edit goes anywhere else: each edit runs once, on the server that took it.
	 */
	@Test
	void aPromptTakenBehindAProxysTimeOutRunsOnceWhereItWasTaken() throws Exception {
		first.takePromptsThenAnswer(504);
		Path in = folderOfImages(2);
		Path out = work.resolve("out");
		Outcome run = QwenEditCliRunner.run(env(first.baseUrl(), second.baseUrl()), work.resolve("config"), args(in, out));
		String printed = run.out() + run.err();
		assertEquals(0, run.code(), printed);
		assertEquals(2, saved(out), printed);
		assertEquals(2, first.prompts().size() + second.prompts().size(), "an edit was queued twice: " + printed);
		assertTrue(first.prompts().size() >= 1, "no edit went to the server behind the proxy: " + printed);
		assertTrue(new BatchJournal(out).entries().isEmpty());
	}

	/**
	 * A server that refuses every prompt, broken inside (500) or set up with another password (401),
	 * failed each edit it was given, up to three at a time, though the other server was fine. It is
	 * rested, and the edits it refused go to the other server.
	 */
	@org.junit.jupiter.params.ParameterizedTest
	@org.junit.jupiter.params.provider.ValueSource(ints = { 500, 401, 404 })
	void aServerThatRefusesEveryPromptHandsItsEditsToTheOther(int status) throws Exception {
		first.refusePromptsWith(status);
		Path in = folderOfImages(6);
		Path out = work.resolve("out");
		List<String> allAtOnce = new ArrayList<>(List.of(args(in, out)));
		allAtOnce.addAll(0, List.of("--concurrency", "6"));
		Outcome run = QwenEditCliRunner.run(env(first.baseUrl(), second.baseUrl()), work.resolve("config"),
			allAtOnce.toArray(new String[0]));
		String printed = run.out() + run.err();
		assertEquals(0, run.code(), printed);
		assertEquals(6, saved(out), printed);
		assertEquals(6, second.prompts().size(), printed);
		assertTrue(first.prompts().isEmpty(), "a refused prompt was queued after all");
	}

	@Test
	void aServerStoppedMidBatchLosesOnlyThePromptsItTookAndTheJournalNamesIt() throws Exception {
		first.processingDelay(Duration.ofMillis(200));
		second.processingDelay(Duration.ofSeconds(30));
		Path in = folderOfImages(8);
		Path out = work.resolve("out");
		String stoppedAddress = second.baseUrl();
		ExecutorService background = Executors.newSingleThreadExecutor();
		try {
			Map<String, String> env = env(first.baseUrl(), second.baseUrl());
			List<String> twoAtOnce = new ArrayList<>(List.of(args(in, out)));
			// One edit on each server at a time: the stop then meets the second server while it only
			// works on a prompt it took, never while a prompt is being sent, whose fate would be unknown.
			twoAtOnce.addAll(0, List.of("--concurrency", "2"));
			Future<Outcome> running = background.submit(() -> QwenEditCliRunner.run(env, work.resolve("config"),
				twoAtOnce.toArray(new String[0])));
			// Stopped once the client has the prompt id, not while the answer to the prompt is on its way.
			// Accepted, not staged: a staged entry holds the prompt id it is about to be sent with.
			await(() -> new BatchJournal(out).entries().stream().anyMatch(e -> e.phase == BatchJournal.Phase.ACCEPTED &&
				e.job.pollUrl().orElse("").startsWith(stoppedAddress + "/")), "the second server took a prompt");
			int taken = second.prompts().size();
			second.close();
			Outcome run = running.get(180, TimeUnit.SECONDS);
			int takenAtStop = second.prompts().size();
			assertTrue(takenAtStop >= taken);
			assertEquals(1, run.code(), run.out() + run.err());
			List<BatchJournal.Entry> left = new BatchJournal(out).entries();
			assertEquals(takenAtStop, left.size(), "the prompts the stopped server held are not all in the journal: " +
				run.out() + run.err());
			for (BatchJournal.Entry e : left) {
				assertTrue(e.job != null, "an entry without its prompt id: " + run.out() + run.err());
				assertTrue(e.job.pollUrl().orElse("").startsWith(stoppedAddress + "/"), e.job.pollUrl().toString());
			}
			assertEquals(8 - takenAtStop, first.prompts().size(), "an edit the stopped server had taken was queued again, " +
				"or one it had not taken was lost: " + run.out() + run.err());
			assertEquals(8 - takenAtStop, saved(out));
		}
		finally {
			background.shutdownNow();
		}
	}

	@Test
	void aRunKilledWithPromptsOnBothServersIsFetchedFromEachByTheNext() throws Exception {
		first.pause();
		second.pause();
		Path in = folderOfImages(2);
		Path out = work.resolve("out");
		List<String> command = new ArrayList<>(List.of(ChildJvm.JAVA, ChildJvm.PREFERENCES, "-cp",
			System.getProperty("java.class.path"), QwenEditCli.class.getName()));
		command.addAll(List.of(args(in, out)));
		ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
			.redirectOutput(work.resolve("child.txt").toFile());
		pb.environment().putAll(env(first.baseUrl(), second.baseUrl()));
		pb.environment().put(io.github.qwenedit.core.Configuration.CONFIG_DIR, work.resolve("config").toString());
		Process batch = pb.start();
		try {
			await(() -> first.prompts().size() == 1 && second.prompts().size() == 1 &&
				new BatchJournal(out).entries().stream().filter(e -> e.job != null).count() == 2,
				"a prompt is queued on each server and journalled");
		}
		finally {
			batch.destroyForcibly();
		}
		assertTrue(batch.waitFor(30, TimeUnit.SECONDS));
		List<BatchJournal.Entry> left = new BatchJournal(out).entries();
		assertEquals(2, left.size(), Files.readString(work.resolve("child.txt")));
		assertEquals(1, left.stream().filter(e -> e.job.pollUrl().orElse("").startsWith(first.baseUrl() + "/")).count());
		assertEquals(1, left.stream().filter(e -> e.job.pollUrl().orElse("").startsWith(second.baseUrl() + "/")).count());

		first.resume();
		second.resume();
		// Issue 19 F12: with the second server left out of the setting, its prompt stays in the journal,
		// named, for when it is configured again: neither set aside as malformed nor queued again.
		Outcome partial = QwenEditCliRunner.run(env(first.baseUrl()), work.resolve("config"), args(in, out));
		String said = partial.out() + partial.err();
		assertTrue(partial.code() != 0, "an image whose prompt waits on another server was reported done: " + said);
		assertEquals(1, saved(out), said);
		assertEquals(1, first.prompts().size(), "an edit was queued again: " + said);
		assertTrue(said.contains(second.baseUrl().substring("http://".length())), said);
		assertEquals(1, new BatchJournal(out).entries().size(), said);
		try (var journalFiles = Files.list(out.resolve(BatchJournal.FOLDER))) {
			assertFalse(journalFiles.anyMatch(f -> f.toString().endsWith(BatchJournal.SET_ASIDE)), said);
		}

		Outcome next = QwenEditCliRunner.run(env(first.baseUrl(), second.baseUrl()), work.resolve("config"), args(in, out));
		assertEquals(0, next.code(), next.out() + next.err());
		assertEquals(1, first.prompts().size(), "an edit was queued again: " + next.out() + next.err() + Files.readString(work.resolve("child.txt")));
		assertEquals(1, second.prompts().size(), "an edit was queued again");
		assertEquals(2, saved(out));
		assertTrue(new BatchJournal(out).entries().isEmpty());
		assertFalse(first.requests("/history/" + second.lastPrompt().id).size() > 0, "a prompt was asked of the wrong server");
		assertFalse(second.requests("/history/" + first.lastPrompt().id).size() > 0, "a prompt was asked of the wrong server");
	}

	private static void await(BooleanSupplier condition, String what) throws InterruptedException {
		long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
		while (!condition.getAsBoolean()) {
			assertTrue(System.nanoTime() < until, "timed out waiting until " + what);
			Thread.sleep(20);
		}
	}
}
