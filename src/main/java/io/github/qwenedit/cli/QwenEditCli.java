package io.github.qwenedit.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.github.qwenedit.core.Cancellation;
import io.github.qwenedit.core.Configuration;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.engine.BatchLog;
import io.github.qwenedit.engine.BatchRun;
import io.github.qwenedit.engine.EditSpecification;
import io.github.qwenedit.engine.Editing;
import io.github.qwenedit.images.BatchImages;
import io.github.qwenedit.images.ResultFiles;
import io.github.qwenedit.images.SelectionEdit;
import io.github.qwenedit.provider.registry.ProviderRegistry;

/**
 * Edits image files from a shell, without Fiji: one instruction applied to each file given (or to
 * every image of a folder), results saved as TIFF with their provenance, one JSON line per source in
 * {@code qwen-edit-log.jsonl}. Configured by the same environment variables as the plugin. A second
 * run into the same folder skips sources already done with the same request.
 */
public final class QwenEditCli {

	public static final String LOG_FILE = BatchLog.FILE;
	static final String USAGE = String.join("\n",
		"Usage: QwenEditCli --provider NAME --instruction TEXT --output FOLDER [options] INPUT...",
		"  INPUT                  image files, or folders of images; each plane of a stack is one edit",
		"  --provider NAME        " + String.join(", ", ProviderRegistry.ids()),
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
		"  --image2 FILE          a reference image sent with every edit as image 2",
		"  --image3 FILE          a second reference image, image 3",
		"  --assemble-stack       also save the results of each stack's planes as one stack, in plane order",
		"  --help                 this text",
		"Keys and the bucket come from the environment variables of the README.");

	private final PrintStream out;
	private final PrintStream err;
	private final Configuration config;

	private final java.util.function.Predicate<String> confirm;
	private final Cancellation cancellation = new Cancellation();
	private final CountDownLatch finished = new CountDownLatch(1);

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

	/** How long a stopped run may take to cancel its jobs and clean the bucket before the program ends. */
	static final java.time.Duration STOP_GRACE = java.time.Duration.ofSeconds(30);

	public static void main(String[] args) {
		System.setProperty("java.awt.headless", "true");
		int code;
		try {
			QwenEditCli cli = new QwenEditCli(Configuration.fromSystem(), System.out, System.err);
			Runtime.getRuntime().addShutdownHook(new Thread(cli::stop, "Qwen Image Edit: stop on Ctrl-C"));
			code = cli.run(args);
		}
		catch (EditException e) {
			System.err.println(e.describe());
			code = 2;
		}
		System.exit(code);
	}

	/**
	 * What Ctrl-C or a SIGTERM does: no new edit starts, the ones in flight are cancelled where the
	 * provider can, and their staged objects are deleted before the program ends; saved results stay.
	 */
	void stop() {
		cancellation.cancel();
		try {
			finished.await(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (InterruptedException e) {
			Thread.currentThread().interrupt();
		}
	}

	/**
	 * @return 0 when every source was edited, or skipped as done with the same request; 1 when some
	 *         failed, were cancelled or are still pending at the provider; 2 for a usage error
	 */
	public int run(String[] args) {
		try {
			return parseAndEdit(args);
		}
		finally {
			finished.countDown();
		}
	}

	private int parseAndEdit(String[] args) {
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
		EditSpecification spec = EditSpecification.of(o.provider).model(o.model).instruction(o.instruction)
			.negativePrompt(o.negativePrompt).size(o.size).seed(o.seed).outputs(o.outputs).promptExtend(o.promptExtend)
			.staging(o.staging).parse();
		Editing editing = Editing.of(spec, config, err::println);
		List<Path> sources = sources(o);
		List<InputImage> references = references(o);
		Path output = Paths.get(o.output);
		BatchImages.Shared shared = new BatchImages.Shared(output, o.selection == null ? null : selection(o.selection),
			o.feather, references);
		List<BatchImages.Job> jobs = BatchImages.ofFiles(sources, shared);
		BatchRun run = editing.batch(jobs, output)
			.listener(BatchRun.Listener.of(out::println, err::println))
			.cancellation(cancellation).concurrency(o.concurrency).maxCostUsd(o.maxCostUsd).confirm(confirm)
			.recovery((entry, result, folder) -> ResultFiles.saveRecovered(entry, result, folder, image -> {}));
		BatchRun.Outcome outcome = run.run();
		if (!outcome.started) {
			(outcome.refused == BatchRun.Refusal.DECLINED ? out : err).println(outcome.refusal);
			return outcome.refused == BatchRun.Refusal.UNPRICED ? 2 : 1;
		}
		if (o.assembleStack) {
			Map<String, List<BatchImages.Job>> bySource = new LinkedHashMap<>();
			jobs.stream().filter(j -> j.plane() > 0).forEach(j -> bySource.computeIfAbsent(j.source(), s -> new ArrayList<>()).add(j));
			for (List<BatchImages.Job> planes : bySource.values()) {
				BatchImages.assemble(planes, output, problem -> err.println(config.redact(problem))).ifPresent(
					assembled -> out.println("assembled " + planes.get(0).source() + " -> " + assembled.file.getName()));
			}
		}
		return outcome.complete() ? 0 : 1;
	}

	/** Images 2 and 3 shared by every edit, read and encoded before anything is sent. */
	private static List<InputImage> references(Options o) throws EditException {
		EditSpecification.requireImage2ForImage3(o.image2 != null, o.image3 != null, "--image2", "--image3");
		List<String> files = new ArrayList<>();
		for (String file : new String[] { o.image2, o.image3 }) {
			if (file != null) files.add(file);
		}
		return BatchImages.readReferences(files, "give an image file that exists.");
	}

	/** {@code x,y,w,h} for a rectangle, or the path of an ImageJ .roi file for any shape. */
	static ij.gui.Roi selection(String spec) throws EditException {
		String[] parts = spec.split(",");
		if (parts.length == 4) {
			int[] box = new int[4];
			try {
				for (int i = 0; i < 4; i++) {
					box[i] = Integer.parseInt(parts[i].trim());
				}
			}
			catch (NumberFormatException e) {
				box = null; // Not numbers: perhaps a file name with commas.
			}
			if (box != null) {
				// ImageJ would widen an empty rectangle to one pixel: a paid edit of nothing.
				if (box[2] < 1 || box[3] < 1) {
					throw new EditException(ErrorKind.INVALID_INPUT, "--selection " + spec + " is empty: its width and " +
						"height must be at least 1 pixel.");
				}
				return new ij.gui.Roi(box[0], box[1], box[2], box[3]);
			}
		}
		ij.gui.Roi roi = ij.io.RoiDecoder.open(spec);
		if (roi == null) {
			throw new EditException(ErrorKind.INVALID_INPUT, "--selection takes x,y,width,height or an ImageJ .roi file; \"" +
				spec + "\" is neither.");
		}
		return roi;
	}

	private static List<Path> sources(Options o) throws EditException {
		List<Path> sources = new ArrayList<>();
		for (String input : o.inputs) {
			Path path = Paths.get(input);
			if (Files.isDirectory(path)) {
				sources.addAll(BatchImages.filesIn(path, o.filter));
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
		String filter = BatchImages.DEFAULT_FILTER;
		int outputs = 1;
		String size;
		String seed;
		String negativePrompt = "";
		boolean promptExtend = true;
		String staging = "auto";
		int concurrency = 4;
		Double maxCostUsd;
		String selection;
		int feather = SelectionEdit.DEFAULT_FEATHER;
		String image2;
		String image3;
		boolean assembleStack;
		final List<String> inputs = new ArrayList<>();

		static Options parse(String[] args) {
			Options o = new Options();
			Map<String, String> values = new LinkedHashMap<>();
			for (int i = 0; i < args.length; i++) {
				String a = args[i];
				if (a.equals("--no-prompt-extend")) {
					o.promptExtend = false;
				}
				else if (a.equals("--assemble-stack")) {
					o.assembleStack = true;
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
					case "seed": o.seed = v; break;
					case "negative-prompt": o.negativePrompt = v; break;
					case "staging": o.staging = v; break;
					case "concurrency": o.concurrency = number(e.getKey(), v); break;
					case "selection": o.selection = v; break;
					case "max-cost": o.maxCostUsd = decimal(e.getKey(), v); break;
					case "feather": o.feather = number(e.getKey(), v); break;
					case "image2": o.image2 = v; break;
					case "image3": o.image3 = v; break;
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
