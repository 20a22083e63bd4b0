package io.github.qwenedit.emulator;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The job machine shared by the emulators of asynchronous providers: a job downloads its inputs
 * (so a bad link fails the job, as in production), runs for the processing delay, then turns final
 * with {@link FakeEdit} outputs, or with the failure a test injected. Subclasses only spell the
 * requests and the statuses the way their provider does.
 */
public abstract class AsyncJobEmulator<SELF extends AsyncJobEmulator<SELF>> extends EmulatorServer<SELF> {

	/** Where a job stands, in the emulator's own words; each provider spells these differently. */
	public enum Phase {
		QUEUED, PROCESSING, SUCCEEDED, FAILED, CANCELLED, UNKNOWN
	}

	/** One submitted job. */
	public static final class Job {
		public final String id = UUID.randomUUID().toString();
		public final RecordedRequest request;
		final List<String> inputLinks;
		final int outputs;
		final int width;
		final int height;
		volatile Phase phase = Phase.QUEUED;
		volatile String message;
		volatile List<String> outputLinks = List.of();
		volatile List<FetchedImage> inputs = List.of();
		volatile boolean cancelRequested;
		final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);

		Job(RecordedRequest request, List<String> inputLinks, int outputs, int width, int height) {
			this.request = request;
			this.inputLinks = List.copyOf(inputLinks);
			this.outputs = outputs;
			this.width = width;
			this.height = height;
		}

		public Phase phase() {
			return phase;
		}

		public String message() {
			return message;
		}

		public List<String> outputLinks() {
			return outputLinks;
		}

		public List<FetchedImage> inputs() {
			return inputs;
		}

		public boolean cancelRequested() {
			return cancelRequested;
		}

		public boolean isFinal() {
			return phase != Phase.QUEUED && phase != Phase.PROCESSING;
		}
	}

	private final Map<String, Job> jobs = new ConcurrentHashMap<>();
	private final List<Job> submitted = new CopyOnWriteArrayList<>();
	private final AtomicInteger inFlight = new AtomicInteger();
	private final AtomicInteger maxInFlight = new AtomicInteger();
	private final ScheduledExecutorService runner = Executors.newScheduledThreadPool(4);
	private volatile Phase finalPhase = Phase.SUCCEEDED;
	private volatile String failureMessage;
	private volatile boolean neverFinish;
	/** Jobs beyond this many wait in the queue, as on fal, instead of being refused. */
	private volatile int maxRunning = Integer.MAX_VALUE;
	private final java.util.Deque<Job> waiting = new java.util.ArrayDeque<>();
	private int running;
	private int maxRunningObserved;
	private volatile java.time.Duration inputFetchDelay = java.time.Duration.ZERO;
	private volatile String jobLinkPrefix;
	private volatile java.time.Duration createReplyDelay = java.time.Duration.ZERO;

	/**
	 * The answer to a create comes {@code delay} after the job was made, as from a slow service: a
	 * cancel in that span meets a job that exists, and is charged, before its id reaches the client.
	 */
	@SuppressWarnings("unchecked")
	public SELF createReplyDelay(java.time.Duration delay) {
		createReplyDelay = delay;
		return (SELF) this;
	}

	/** Links to a job that start with this in front of their path are served as the path alone. */
	public static final String MOVED = "/moved";

	/**
	 * Job links handed out (status, cancel) start with {@code prefix} instead of the base URL, as when
	 * a service moves them or names another host: {@code baseUrl() + MOVED} proves that a client
	 * follows them as given; another host name proves that it does not send its key there.
	 */
	@SuppressWarnings("unchecked")
	public SELF jobLinksAt(String prefix) {
		jobLinkPrefix = prefix;
		return (SELF) this;
	}

	/** A link to {@code path} (such as {@code /v1/prediction/<id>}) as the emulator hands it out. */
	protected String jobLink(String path) {
		String prefix = jobLinkPrefix;
		return (prefix == null ? baseUrl() : prefix) + path;
	}

	/** The request's path without the {@link #MOVED} prefix of moved job links. */
	protected static String apiPath(RecordedRequest request) {
		String path = request.path();
		return path.startsWith(MOVED + "/") ? path.substring(MOVED.length()) : path;
	}

	/**
	 * Waits, at most 30 s, until a job was submitted and the last one is in {@code phase}, as tests
	 * do before they cancel or inject a fault into the polling.
	 *
	 * @return whether it got there
	 */
	public boolean awaitLastJobIn(Phase phase) throws InterruptedException {
		return await(() -> !submitted.isEmpty() && lastJob().phase() == phase);
	}

	/**
	 * Waits, at most 30 s, for a request on {@code path}: a status request shows that the client has
	 * its job, where a job the emulator holds may still be on its way back to the client.
	 */
	public boolean awaitRequestTo(String path) throws InterruptedException {
		return await(() -> requestCount(path) > 0);
	}

	private static boolean await(java.util.function.BooleanSupplier condition) throws InterruptedException {
		long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
		while (!condition.getAsBoolean()) {
			if (System.nanoTime() > until) return false;
			Thread.sleep(20);
		}
		return true;
	}

	/** How many requests arrived naming {@code host} in their {@code Host} header (a moved link's host, say). */
	public long requestsNamingHost(String host) {
		return requests().stream().filter(r -> String.valueOf(r.header("Host")).startsWith(host + ":")).count();
	}

	/** Jobs wait this long before downloading their inputs, as behind a busy queue; presigned links may expire meanwhile. */
	@SuppressWarnings("unchecked")
	public SELF fetchInputsAfter(java.time.Duration delay) {
		inputFetchDelay = delay;
		return (SELF) this;
	}

	/** Jobs end in {@code phase} with this message instead of succeeding. */
	@SuppressWarnings("unchecked")
	public SELF jobsEndWith(Phase phase, String message) {
		finalPhase = phase;
		failureMessage = message;
		return (SELF) this;
	}

	/** Jobs stay in processing for ever. */
	@SuppressWarnings("unchecked")
	public SELF jobsNeverFinish() {
		neverFinish = true;
		return (SELF) this;
	}

	public List<Job> jobs() {
		return List.copyOf(submitted);
	}

	public Job lastJob() {
		return submitted.get(submitted.size() - 1);
	}

	protected Job job(String id) {
		return jobs.get(id);
	}

	/** At most {@code n} jobs run at once; later ones wait in the queue in order. */
	@SuppressWarnings("unchecked")
	public SELF limitRunning(int n) {
		maxRunning = n;
		startWaiting();
		return (SELF) this;
	}

	/** How many jobs wait before {@code job}; 0 when it is running or done. */
	protected int queuePosition(Job job) {
		synchronized (waiting) {
			int i = 0;
			for (Job j : waiting) {
				if (j == job) return i;
				i++;
			}
			return 0;
		}
	}

	/** Waits up to {@code max} for the job to turn final, as a provider's blocking call does. */
	protected boolean awaitFinal(Job job, java.time.Duration max) throws InterruptedException {
		return job.done.await(max.toMillis(), TimeUnit.MILLISECONDS);
	}

	/** The most jobs that ever ran at once (those waiting in the queue not counted). */
	public int maxRunningObserved() {
		synchronized (waiting) {
			return maxRunningObserved;
		}
	}

	/** The most jobs that were ever in flight at once. */
	public int maxConcurrentObserved() {
		return maxInFlight.get();
	}

	/** How many jobs are in flight now. */
	protected int inFlight() {
		return inFlight.get();
	}

	/**
	 * Accepts a job and starts it.
	 *
	 * @param width requested output width, 0 for "as the last input"
	 */
	protected Job submit(RecordedRequest request, List<String> inputLinks, int outputs, int width, int height) {
		Job job = new Job(request, inputLinks, outputs, width, height);
		maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
		jobs.put(job.id, job);
		submitted.add(job);
		synchronized (waiting) {
			waiting.addLast(job);
		}
		startWaiting();
		return job;
	}

	/** {@code reply} to a create, sent after the {@link #createReplyDelay}; call it holding no lock. */
	protected Reply answerCreate(Reply reply) {
		try {
			Thread.sleep(createReplyDelay.toMillis());
		}
		catch (InterruptedException e) {
			Thread.currentThread().interrupt();
		}
		return reply;
	}

	private void startWaiting() {
		synchronized (waiting) {
			while (running < maxRunning && !waiting.isEmpty()) {
				Job next = waiting.removeFirst();
				if (next.isFinal()) continue;
				running++;
				maxRunningObserved = Math.max(maxRunningObserved, running);
				runner.schedule(() -> run(next), inputFetchDelay.toMillis(), TimeUnit.MILLISECONDS);
			}
		}
	}

	/**
	 * Gets one input of {@code job}; a provider that resolves links to its own storage itself (with
	 * the rights of the job's owner) answers those here.
	 */
	protected FetchedImage fetchInput(Job job, String link, long maxBytes) throws ImageFetchException {
		return fetchImage(link, maxBytes);
	}

	private void run(Job job) {
		long started = System.nanoTime();
		List<FetchedImage> images = new ArrayList<>();
		try {
			for (String link : job.inputLinks) {
				images.add(fetchInput(job, link, 100L * 1024 * 1024));
			}
		}
		catch (ImageFetchException e) {
			end(job, Phase.FAILED, "Failed to download input image: " + e.getMessage());
			return;
		}
		job.inputs = images;
		synchronized (job) {
			if (job.isFinal()) return;
			job.phase = Phase.PROCESSING;
		}
		if (neverFinish) return;
		// The processing time covers the emulator's own work (fetching, decoding, drawing the outputs), as
		// a provider's does: the job turns final when the time is up, with its outputs ready, so none of
		// that work is counted as the client's wait.
		List<byte[]> rendered = finalPhase == Phase.SUCCEEDED ? render(job) : null;
		long left = currentProcessingDelay().toNanos() - (System.nanoTime() - started);
		runner.schedule(() -> finish(job, rendered), Math.max(0, left), TimeUnit.NANOSECONDS);
	}

	private static List<byte[]> render(Job job) {
		List<BufferedImage> decoded = new ArrayList<>();
		job.inputs.forEach(i -> decoded.add(i.image()));
		List<byte[]> pngs = new ArrayList<>();
		for (int i = 0; i < job.outputs; i++) {
			pngs.add(FakeEdit.renderPng(decoded, job.width, job.height, i));
		}
		return pngs;
	}

	private void finish(Job job, List<byte[]> rendered) {
		if (finalPhase != Phase.SUCCEEDED) {
			end(job, finalPhase, failureMessage);
			return;
		}
		List<String> links = new ArrayList<>();
		for (byte[] png : rendered == null ? render(job) : rendered) {
			links.add(publishPng(png));
		}
		job.outputLinks = links;
		end(job, Phase.SUCCEEDED, null);
	}

	/** Ends a job once; later calls do nothing. */
	protected void end(Job job, Phase phase, String message) {
		boolean wasWaiting;
		synchronized (job) {
			if (job.isFinal()) return;
			job.message = message;
			job.phase = phase;
		}
		synchronized (waiting) {
			wasWaiting = waiting.remove(job);
			if (!wasWaiting) running--;
		}
		inFlight.decrementAndGet();
		markCompleted();
		job.done.countDown();
		startWaiting();
	}

	/** The user asked to stop the job: it ends cancelled unless it had finished already. */
	protected void cancel(Job job) {
		job.cancelRequested = true;
		end(job, Phase.CANCELLED, "Cancelled by the user");
	}

	@Override
	public void close() {
		runner.shutdownNow();
		super.close();
	}
}
