package io.github.qwenedit.cli;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import ij.IJ;
import ij.ImagePlus;
import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.EditSession;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.core.batch.BatchJournal;
import io.github.qwenedit.core.batch.BatchLog;
import io.github.qwenedit.core.batch.JournalRecovery;
import io.github.qwenedit.http.Json;
import io.github.qwenedit.imagej.ImageEncoder;
import io.github.qwenedit.imagej.ResultFiles;
import io.github.qwenedit.imagej.ResultImages;
import io.github.qwenedit.imagej.SelectionEdit;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.ProviderRegistry;
import io.github.qwenedit.staging.BucketConfig;
import io.github.qwenedit.staging.S3Staging;
import io.github.qwenedit.staging.StagingChoice;
import io.github.qwenedit.staging.StagingPlanner;

/**
 * Edits image files from a shell, without Fiji: one instruction applied to each file given (or to
 * every image of a folder), results saved as TIFF with their provenance, one JSON line per source in
 * {@code qwen-edit-log.jsonl}. Configured by the same environment variables as the plugin. A second
 * run into the same folder skips sources already done.
 */
public final class QwenEditCli {

	public static final String LOG_FILE = BatchLog.FILE;
	static final String USAGE = String.join("\n",
		"Usage: QwenEditCli --provider NAME --instruction TEXT --output FOLDER [options] INPUT...",
		"  INPUT                  image files, or folders of images",
		"  --provider NAME        dashscope, eachlabs, pixeldojo, fal or replicate",
		"  --model ID             the provider's model (default: its first)",
		"  --instruction TEXT     the edit, 1-800 characters",
		"  --output FOLDER        where results and " + LOG_FILE + " go",
		"  --filter GLOB          file names to take from folders (default *.{tif,tiff,png,jpg,jpeg})",
		"  --outputs N            images per source (default 1)",
		"  --size W*H             output size (default: as input)",
		"  --seed S               0-2147483647 (default: random)",
		"  --negative-prompt TEXT what to avoid",
		"  --no-prompt-extend     do not let the model rewrite the instruction",
		"  --staging MODE         auto, bucket, inline or provider_upload (default auto)",
		"  --selection X,Y,W,H    edit only this rectangle of every image (or: a .roi file of any shape)",
		"  --feather PX           blend width inside the selection's edge (default 4)",
		"  --concurrency N        edits at once (default 4, never more than the provider allows)",
		"  --max-cost USD         stop before sending anything if the estimated cost is higher",
		"  --help                 this text",
		"Keys and the bucket come from the environment variables of the README.");

	private final PrintStream out;
	private final PrintStream err;
	private final Configuration config;

	private final java.util.function.Predicate<String> confirm;

	QwenEditCli(Configuration config, PrintStream out, PrintStream err) {
		this(config, out, err, question -> true);
	}

	/**
	 * @param confirm asked, with the number of edits and their estimated cost, before anything is
	 *          sent; a shell has no one to ask and uses {@code --max-cost} instead
	 */
	public QwenEditCli(Configuration config, PrintStream out, PrintStream err,
		java.util.function.Predicate<String> confirm)
	{
		this.config = config;
		this.out = out;
		this.err = err;
		this.confirm = confirm;
	}

	public static void main(String[] args) {
		System.setProperty("java.awt.headless", "true");
		int code;
		try {
			code = new QwenEditCli(Configuration.fromSystem(), System.out, System.err).run(args);
		}
		catch (EditException e) {
			System.err.println(e.describe());
			code = 2;
		}
		System.exit(code);
	}

	/** @return 0 when every source was edited or skipped, 1 when some failed, 2 for a usage error */
	public int run(String[] args) {
		if (java.util.Arrays.asList(args).contains("--help")) {
			out.println(USAGE);
			return 0;
		}
		Options options;
		try {
			options = Options.parse(args);
		}
		catch (IllegalArgumentException e) {
			err.println(e.getMessage());
			err.println(USAGE);
			return 2;
		}
		try {
			return edit(options);
		}
		catch (EditException e) {
			err.println(config.redact(e.describe()));
			return 2;
		}
	}

	private int edit(Options o) throws EditException {
		ProviderDescriptor descriptor = ProviderRegistry.get(o.provider);
		EditProvider provider = descriptor.create(config);
		String model = o.model == null ? descriptor.defaultModel() : o.model;
		EditOptions editOptions = EditOptions.builder(model).outputs(o.outputs).seed(o.seed)
			.size(o.size == null ? null : ImageSize.parse(o.size)).negativePrompt(o.negativePrompt)
			.promptExtend(o.promptExtend).build();
		List<Path> sources = sources(o);
		Path output = Paths.get(o.output);
		try {
			Files.createDirectories(output);
		}
		catch (IOException e) {
			throw new EditException(ErrorKind.INVALID_INPUT, "Cannot create the output folder " + output + ": " + e.getMessage());
		}
		Path logFile = output.resolve(LOG_FILE);
		BatchJournal journal = new BatchJournal(output);
		Set<String> plainHttp = new HashSet<>(descriptor.plainHttpHosts(config));
		StagingChoice choice = StagingChoice.parse(o.staging);
		Optional<BucketConfig> bucket = choice == StagingChoice.INLINE ? Optional.empty()
			: BucketConfig.from(config);
		bucket.ifPresent(b -> plainHttp.addAll(b.plainHttpHosts()));
		bucket.ifPresent(b -> {
			var report = new S3Staging(b).sweepStale(S3Staging.STALE_AFTER);
			if (!report.succeeded()) err.println(config.redact(report.describe()));
		});
		StagingPlanner planner = new StagingPlanner(choice, () -> bucket.map(S3Staging::new));
		EditSession session = new EditSession(provider, planner, plainHttp, EditSession.deadline(config),
			EditSession.downloadCapBytes(config));
		JournalRecovery.Report recovered = new JournalRecovery(config, (entry, result, folder) -> ResultFiles.saveRecovered(
			entry, result, folder, image -> {})).recover(output, Optional.of(descriptor.id()), EditSession.deadline(config),
				(m, f) -> {}, new Cancellation());
		for (JournalRecovery.Outcome outcome : recovered.outcomes()) {
			if (outcome.kind == JournalRecovery.Kind.RECOVERED) {
				out.println("recovered " + outcome.entry.source + " -> " + String.join(", ", outcome.files));
			}
			else if (outcome.keptInJournal) {
				err.println("left in the journal " + outcome.entry.source + ": " + outcome.reason);
			}
			else {
				err.println("could not recover " + outcome.entry.source + ": " + outcome.reason);
			}
		}
		recovered.problems().forEach(err::println);
		Set<String> done = alreadyDone(logFile, output);
		// Sent by an earlier run and still at the provider: sending them again would pay twice.
		done.addAll(recovered.sourcesLeftInJournal());

		List<Path> todo = new ArrayList<>();
		for (Path source : sources) {
			if (!done.contains(source.toAbsolutePath().toString())) todo.add(source);
		}
		java.util.OptionalDouble price = provider.model(model).estimatedCostUsd(o.outputs);
		String estimate = todo.size() + " edits with " + descriptor.displayName() + " " + model + ", estimated cost " +
			(price.isPresent() ? String.format(java.util.Locale.ROOT, "$%.2f", price.getAsDouble() * todo.size())
				: "unknown (no list price for this model)");
		out.println(estimate);
		if (o.maxCostUsd != null) {
			if (!price.isPresent()) {
				err.println("--max-cost cannot be checked: " + model + " has no list price. Nothing was sent.");
				return 2;
			}
			if (price.getAsDouble() * todo.size() > o.maxCostUsd) {
				err.println(String.format(java.util.Locale.ROOT, "The estimated cost exceeds --max-cost $%.2f: nothing " +
					"was sent. Raise the ceiling or edit fewer images.", o.maxCostUsd));
				return 1;
			}
		}
		if (!todo.isEmpty() && !confirm.test(estimate + ". Start?")) {
			out.println("Not started: nothing was sent.");
			return 1;
		}
		AtomicInteger ok = new AtomicInteger();
		AtomicInteger failed = new AtomicInteger();
		int skipped = 0;
		Cancellation cancellation = new Cancellation();
		int concurrency = Math.max(1, Math.min(o.concurrency, descriptor.maxConcurrentJobs()));
		if (concurrency < o.concurrency) {
			out.println(descriptor.displayName() + " runs at most " + concurrency + " edits at once per key: using " +
				concurrency + ".");
		}
		ExecutorService pool = Executors.newFixedThreadPool(concurrency);
		List<Future<?>> jobs = new ArrayList<>();
		for (Path source : sources) {
			if (done.contains(source.toAbsolutePath().toString())) {
				skipped++;
				out.println("skipped " + source + " (done in an earlier run)");
				continue;
			}
			jobs.add(pool.submit(() -> {
				if (editOne(source, o, editOptions, session, cancellation, output, logFile, descriptor, journal)) {
					ok.incrementAndGet();
				}
				else {
					failed.incrementAndGet();
				}
			}));
		}
		for (Future<?> job : jobs) {
			try {
				job.get();
			}
			catch (Exception e) {
				failed.incrementAndGet();
			}
		}
		pool.shutdown();
		out.println(ok.get() + " done, " + failed.get() + " failed, " + skipped + " skipped");
		return failed.get() == 0 ? 0 : 1;
	}

	private boolean editOne(Path source, Options o, EditOptions options, EditSession session,
		Cancellation cancellation, Path output, Path logFile, ProviderDescriptor descriptor, BatchJournal journal)
	{
		String instruction = o.instruction;
		String sourceName = source.toAbsolutePath().toString();
		Instant started = Instant.now();
		ObjectNode line = Json.object();
		line.put("source", source.toAbsolutePath().toString());
		line.put("provider", descriptor.id());
		line.put("model", options.model());
		line.put("instruction", instruction);
		line.put("seed", options.seed().map(String::valueOf).orElse("random"));
		line.put("size", options.size().map(ImageSize::toString).orElse("as input"));
		try {
			ImagePlus image = IJ.openImage(source.toString());
			if (image == null) {
				throw new EditException(ErrorKind.INVALID_INPUT, "ImageJ cannot open " + source.getFileName() +
					" as an image.");
			}
			if (o.selection != null) image.setRoi(selection(o.selection));
			Optional<SelectionEdit> selection = SelectionEdit.of(image, SelectionEdit.DEFAULT_MARGIN, o.feather);
			EditRequest request = new EditRequest(List.of(selection.isPresent() ? selection.get().region()
				: ImageEncoder.encode(image)), instruction, options);
			EditResult result = session.run(request, (m, f) -> {}, cancellation,
				journal.pending(sourceName, source.getFileName().toString(), descriptor.id(), request, false));
			List<ImagePlus> results = selection.isPresent() ? selection.get().pasteAll(result)
				: ResultImages.toImagePlus(result, image);
			List<File> saved = ResultFiles.saveAsTiff(results, output.toFile());
			journal.clear(sourceName);
			var files = line.putArray("results");
			saved.forEach(f -> files.add(f.getName()));
			Provenance p = result.provenance();
			line.put("requestId", p.get(Provenance.REQUEST_ID));
			String cost = p.get(Provenance.PREFIX + "CostUsd");
			if (cost != null) line.put("costUsd", cost);
			line.put("status", "done");
			ObjectNode timings = line.putObject("timingsMs");
			result.times().asMap().forEach((k, v) -> timings.put(k, v.toMillis()));
			for (String warning : result.warnings()) {
				err.println("warning " + source + ": " + config.redact(warning));
			}
			out.println("done " + source + " -> " + String.join(", ", names(saved)));
			return true;
		}
		catch (EditException e) {
			// The job reached a final state (or never started): nothing is left to recover.
			journal.clear(sourceName);
			line.put("status", "failed");
			line.put("error", config.redact(e.describe()));
			err.println("failed " + source + ": " + config.redact(e.describe()));
			return false;
		}
		catch (RuntimeException e) {
			line.put("status", "failed");
			line.put("error", config.redact(String.valueOf(e)));
			err.println("failed " + source + ": " + config.redact(String.valueOf(e)));
			return false;
		}
		finally {
			line.put("startedAt", started.toString());
			line.put("finishedAt", Instant.now().toString());
			appendLog(logFile, line);
		}
	}

	/** {@code x,y,w,h} for a rectangle, or the path of an ImageJ .roi file for any shape. */
	static ij.gui.Roi selection(String spec) throws EditException {
		String[] parts = spec.split(",");
		if (parts.length == 4) {
			try {
				return new ij.gui.Roi(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()),
					Integer.parseInt(parts[2].trim()), Integer.parseInt(parts[3].trim()));
			}
			catch (NumberFormatException e) {
				// Not numbers: perhaps a file name with commas.
			}
		}
		ij.gui.Roi roi = ij.io.RoiDecoder.open(spec);
		if (roi == null) {
			throw new EditException(ErrorKind.INVALID_INPUT, "--selection takes x,y,width,height or an ImageJ .roi file; \"" +
				spec + "\" is neither.");
		}
		return roi;
	}

	private static List<String> names(List<File> files) {
		List<String> names = new ArrayList<>();
		files.forEach(f -> names.add(f.getName()));
		return names;
	}

	private synchronized void appendLog(Path logFile, JsonNode line) {
		try (Writer w = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
			StandardOpenOption.APPEND))
		{
			w.write(Json.MAPPER.writeValueAsString(line));
			w.write('\n');
		}
		catch (IOException e) {
			err.println("Cannot write " + logFile + ": " + e.getMessage());
		}
	}

	/** Sources whose every result file still exists, per the log of earlier runs. */
	static Set<String> alreadyDone(Path logFile, Path output) {
		Set<String> done = new HashSet<>();
		if (!Files.isRegularFile(logFile)) return done;
		try (Stream<String> lines = Files.lines(logFile, StandardCharsets.UTF_8)) {
			lines.forEach(text -> {
				try {
					JsonNode line = Json.MAPPER.readTree(text);
					if (!"done".equals(Json.text(line, "status"))) return;
					for (JsonNode f : line.path("results")) {
						if (!Files.isRegularFile(output.resolve(f.asText()))) return;
					}
					done.add(Json.text(line, "source"));
				}
				catch (IOException damagedLine) {
					// A line cut short by a crash: that source is simply done again.
				}
			});
		}
		catch (IOException e) {
			return done;
		}
		return done;
	}

	private static List<Path> sources(Options o) throws EditException {
		PathMatcher filter = FileSystems.getDefault().getPathMatcher("glob:" + o.filter);
		List<Path> sources = new ArrayList<>();
		for (String input : o.inputs) {
			Path path = Paths.get(input);
			if (Files.isDirectory(path)) {
				try (Stream<Path> files = Files.list(path)) {
					files.filter(Files::isRegularFile).filter(f -> filter.matches(f.getFileName())).sorted()
						.forEach(sources::add);
				}
				catch (IOException e) {
					throw new EditException(ErrorKind.INVALID_INPUT, "Cannot read the folder " + path + ": " + e.getMessage());
				}
			}
			else if (Files.isRegularFile(path)) {
				sources.add(path);
			}
			else {
				throw new EditException(ErrorKind.INVALID_INPUT, "No such file or folder: " + path);
			}
		}
		if (sources.isEmpty()) throw new EditException(ErrorKind.INVALID_INPUT, "No image files to edit were found.");
		return sources;
	}

	/** The command line, parsed. */
	static final class Options {
		String provider;
		String model;
		String instruction;
		String output;
		String filter = "*.{tif,tiff,png,jpg,jpeg,TIF,TIFF,PNG,JPG,JPEG}";
		int outputs = 1;
		String size;
		Long seed;
		String negativePrompt = "";
		boolean promptExtend = true;
		String staging = "auto";
		int concurrency = 4;
		Double maxCostUsd;
		String selection;
		int feather = SelectionEdit.DEFAULT_FEATHER;
		final List<String> inputs = new ArrayList<>();

		static Options parse(String[] args) {
			Options o = new Options();
			Map<String, String> values = new LinkedHashMap<>();
			for (int i = 0; i < args.length; i++) {
				String a = args[i];
				if (a.equals("--no-prompt-extend")) {
					o.promptExtend = false;
				}
				else if (a.startsWith("--")) {
					if (i + 1 >= args.length) throw new IllegalArgumentException("The option " + a + " needs a value.");
					values.put(a.substring(2), args[++i]);
				}
				else {
					o.inputs.add(a);
				}
			}
			for (Map.Entry<String, String> e : values.entrySet()) {
				String v = e.getValue();
				switch (e.getKey()) {
					case "provider": o.provider = v; break;
					case "model": o.model = v; break;
					case "instruction": o.instruction = v; break;
					case "output": o.output = v; break;
					case "filter": o.filter = v; break;
					case "outputs": o.outputs = number(e.getKey(), v); break;
					case "size": o.size = v; break;
					case "seed": o.seed = number(e.getKey(), v) == -1 ? null : (long) number(e.getKey(), v); break;
					case "negative-prompt": o.negativePrompt = v; break;
					case "staging": o.staging = v; break;
					case "concurrency": o.concurrency = number(e.getKey(), v); break;
					case "selection": o.selection = v; break;
					case "max-cost": o.maxCostUsd = decimal(e.getKey(), v); break;
					case "feather": o.feather = number(e.getKey(), v); break;
					default: throw new IllegalArgumentException("Unknown option --" + e.getKey() + ".");
				}
			}
			if (o.provider == null) throw new IllegalArgumentException("Name the provider with --provider.");
			if (o.instruction == null) throw new IllegalArgumentException("Give the edit with --instruction.");
			if (o.output == null) throw new IllegalArgumentException("Name the output folder with --output.");
			if (o.inputs.isEmpty()) throw new IllegalArgumentException("Name at least one image file or folder.");
			return o;
		}

		private static double decimal(String option, String value) {
			try {
				return Double.parseDouble(value.trim());
			}
			catch (NumberFormatException e) {
				throw new IllegalArgumentException("--" + option + " takes a number, not \"" + value + "\".");
			}
		}

		private static int number(String option, String value) {
			try {
				return Integer.parseInt(value.trim());
			}
			catch (NumberFormatException e) {
				throw new IllegalArgumentException("--" + option + " takes a whole number, not \"" + value + "\".");
			}
		}
	}
}
