package io.github.qwenedit.images;

import java.io.File;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import ij.CompositeImage;
import ij.IJ;
import ij.ImagePlus;
import ij.ImageStack;
import ij.gui.Roi;
import ij.io.FileInfo;
import ij.io.TiffDecoder;
import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.EditResult;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.Provenance;
import io.github.qwenedit.engine.BatchLog;
import io.github.qwenedit.engine.BatchRun;

/**
 * The jobs of a batch over image files and stacks: a single-plane file is one job, every plane
 * (slice and frame) of a stack is one job, each sent with the same selection and the same fixed
 * reference images, its results saved as TIFF with their provenance.
 */
public final class BatchImages {

	private static final Pattern DIMENSION = Pattern.compile("(channels|slices|frames|images)=(\\d+)");

	/** What every job of a batch shares besides the instruction and options. */
	public static final class Shared {
		final Path output;
		final Roi selection;
		final int feather;
		final List<InputImage> references;

		/**
		 * @param selection edited in every image or plane (null for the whole image)
		 * @param references images 2 and 3 of every request, already encoded
		 */
		public Shared(Path output, Roi selection, int feather, List<InputImage> references) {
			this.output = output;
			this.selection = selection;
			this.feather = feather;
			this.references = List.copyOf(references);
		}
	}

	/** The image files a folder batch takes unless told otherwise. */
	public static final String DEFAULT_FILTER = "*.{tif,tiff,png,jpg,jpeg,TIF,TIFF,PNG,JPG,JPEG}";

	private BatchImages() {}

	/**
	 * Images 2 and 3 of every edit of a batch, read from their files and encoded before anything is
	 * sent.
	 *
	 * @param files the files, image 2 first
	 * @param remedy what to do about a file that cannot be read, in the words of the front end that
	 *          asked for it; it ends the sentence that refuses the file
	 */
	public static List<InputImage> readReferences(List<String> files, String remedy) throws EditException {
		List<InputImage> references = new ArrayList<>();
		for (String file : files) {
			ImagePlus image = new File(file).isFile() ? IJ.openImage(file) : null;
			if (image == null) {
				throw new EditException(ErrorKind.INVALID_INPUT, "The reference image " + file + " cannot be read: " + remedy);
			}
			references.add(ImageEncoder.encode(image));
		}
		return references;
	}

	/** The files of {@code folder} whose names match {@code glob}, in name order. */
	public static List<Path> filesIn(Path folder, String glob) throws EditException {
		PathMatcher filter = FileSystems.getDefault().getPathMatcher("glob:" + glob);
		try (Stream<Path> files = Files.list(folder)) {
			return files.filter(Files::isRegularFile).filter(f -> filter.matches(f.getFileName())).sorted()
				.collect(Collectors.toList());
		}
		catch (IOException e) {
			throw new EditException(ErrorKind.INVALID_INPUT, "Cannot read the folder " + folder + ": " + e.getMessage());
		}
	}

	/**
	 * One job per single-plane file, one per plane of each stack file, in file then plane order. A
	 * file named twice (also through another path or a link) is edited once.
	 *
	 * @throws EditException when a file lies in the output folder: see {@link #refuseSourceAmongResults}
	 */
	public static List<Job> ofFiles(List<Path> files, Shared shared) throws EditException {
		List<Job> jobs = new ArrayList<>();
		java.util.Set<Path> seen = new java.util.HashSet<>();
		Path output = realPathOf(shared.output.toAbsolutePath().normalize());
		for (Path named : files) {
			Path file = named.toAbsolutePath().normalize();
			Path real = realPathOf(file);
			refuseSourceAmongResults(real, output);
			if (!seen.add(real)) continue;
			int[] czt = dimensions(file);
			int planes = czt[1] * czt[2];
			if (planes <= 1) {
				jobs.add(new Job(file.toAbsolutePath().toString(), 0, 1, 1, new OpenedOnce(file, 1), shared));
				continue;
			}
			OpenedOnce source = new OpenedOnce(file, planes);
			addPlanes(jobs, file.toAbsolutePath().toString(), czt[1], czt[2], source, shared);
		}
		return jobs;
	}

	/**
	 * Results saved beside their sources become sources themselves: the next run over the folder (or
	 * a shell's {@code *.tif}) would edit, and pay for, every earlier result again. Refused before
	 * anything is sent, rather than telling results from sources by their provenance, which would
	 * also pass over a colleague's edited image that the user means to edit further.
	 */
	private static void refuseSourceAmongResults(Path source, Path output) throws EditException {
		if (!output.equals(source.getParent())) return;
		throw new EditException(ErrorKind.OUTPUT_FOLDER, output + " holds the images to edit, " +
			"so each run would edit (and pay for) the results of the one before: nothing was sent. Choose another output " +
			"folder, such as a new folder inside it.");
	}

	private static Path realPathOf(Path file) {
		try {
			return file.toRealPath();
		}
		catch (IOException unreadable) {
			// Opening it says what is wrong; until then its name stands for it.
			return file;
		}
	}

	/** One job per plane (slice and frame) of an open stack or hyperstack, in plane order. */
	public static List<Job> ofStack(ImagePlus stack, Shared shared) {
		List<Job> jobs = new ArrayList<>();
		addPlanes(jobs, stack.getTitle(), stack.getNSlices(), stack.getNFrames(), new OpenedOnce(stack), shared);
		return jobs;
	}

	private static void addPlanes(List<Job> jobs, String source, int slices, int frames, OpenedOnce image, Shared shared) {
		int plane = 0;
		for (int t = 1; t <= frames; t++) {
			for (int z = 1; z <= slices; z++) {
				jobs.add(new Job(source, ++plane, z, t, image, shared));
			}
		}
	}

	/**
	 * Channels, slices and frames of a TIFF, read from its header alone (ImageJ writes them in the
	 * description); {1, 1, 1} for any other file, which is edited whole.
	 */
	static int[] dimensions(Path file) {
		String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
		if (!name.endsWith(".tif") && !name.endsWith(".tiff")) return new int[] { 1, 1, 1 };
		try {
			File f = file.toAbsolutePath().toFile();
			FileInfo[] info = new TiffDecoder(f.getParent() + File.separator, f.getName()).getTiffInfo();
			if (info == null || info.length == 0) return new int[] { 1, 1, 1 };
			int images = info.length > 1 ? info.length : Math.max(1, info[0].nImages);
			Map<String, Integer> d = new LinkedHashMap<>();
			if (info[0].description != null) {
				Matcher m = DIMENSION.matcher(info[0].description);
				while (m.find()) d.put(m.group(1), Integer.parseInt(m.group(2)));
			}
			int channels = Math.max(1, d.getOrDefault("channels", 1));
			if (info[0].fileType == FileInfo.RGB48) channels = 3;
			int frames = Math.max(1, d.getOrDefault("frames", 1));
			int slices = Math.max(1, d.getOrDefault("slices", images / channels / frames));
			if (channels * slices * frames != images) return new int[] { 1, images, 1 };
			return new int[] { channels, slices, frames };
		}
		catch (IOException | RuntimeException e) {
			// Not a TIFF ImageJ can read the header of: opening it whole will say what is wrong.
			return new int[] { 1, 1, 1 };
		}
	}

	/** A file opened at most once however many of its planes are edited, and let go after the last. */
	private static final class OpenedOnce {
		private final Path file;
		private ImagePlus image;
		private int unread;

		OpenedOnce(Path file, int planes) {
			this.file = file;
			this.unread = planes;
		}

		OpenedOnce(ImagePlus open) {
			this.file = null;
			this.image = open;
			this.unread = Integer.MAX_VALUE;
		}

		/** The plane at slice z, frame t (all its channels), as an image of its own. */
		synchronized ImagePlus plane(int z, int t, String title, boolean whole) throws EditException {
			if (image == null) {
				image = IJ.openImage(file.toString());
				if (image == null) {
					throw new EditException(ErrorKind.INVALID_INPUT, "ImageJ cannot open " + file.getFileName() +
						" as an image.");
				}
			}
			try {
				if (whole) return image;
				return planeOf(image, z, t, title);
			}
			finally {
				if (file != null && --unread <= 0) image = null;
			}
		}
	}

	/** A copy of one slice/frame position of {@code imp}, with its channels, LUTs and display range. */
	static ImagePlus planeOf(ImagePlus imp, int z, int t, String title) {
		int channels = imp.getNChannels();
		ImageStack stack = imp.getStack();
		ImageStack one = new ImageStack(imp.getWidth(), imp.getHeight());
		for (int c = 1; c <= channels; c++) {
			int index = imp.getStackIndex(c, z, t);
			one.addSlice(stack.getSliceLabel(index), stack.getProcessor(index).duplicate());
		}
		ImagePlus plane = new ImagePlus(title, one);
		plane.setDimensions(channels, 1, 1);
		plane.setCalibration(imp.getCalibration().copy());
		if (imp.isComposite()) {
			CompositeImage source = (CompositeImage) imp;
			CompositeImage composite = new CompositeImage(plane, source.getMode());
			composite.setLuts(source.getLuts());
			return composite;
		}
		if (imp.getType() != ImagePlus.COLOR_RGB) {
			plane.getProcessor().setColorModel(imp.getProcessor().getColorModel());
			plane.setDisplayRange(imp.getDisplayRangeMin(), imp.getDisplayRangeMax());
		}
		return plane;
	}

	/** The file name of a source path; an image title that is no path stays as it is. */
	private static String fileNameOf(String source) {
		try {
			Path name = Path.of(source).getFileName();
			return name == null ? source : name.toString();
		}
		catch (java.nio.file.InvalidPathException aTitle) {
			return source;
		}
	}

	/** One job: a whole file, or one plane of a stack. Used by one worker at a time. */
	public static final class Job implements BatchRun.Item {
		private final String source;
		private final int plane;
		private final int slice;
		private final int frame;
		private final OpenedOnce image;
		private final Shared shared;
		private ImagePlus sent;
		private Optional<SelectionEdit> selection = Optional.empty();

		Job(String source, int plane, int slice, int frame, OpenedOnce image, Shared shared) {
			this.source = source;
			this.plane = plane;
			this.slice = slice;
			this.frame = frame;
			this.image = image;
			this.shared = shared;
		}

		@Override
		public String source() {
			return source;
		}

		@Override
		public int plane() {
			return plane;
		}

		@Override
		public Map<String, Integer> position() {
			return plane == 0 ? Map.of() : Map.of("slice", slice, "frame", frame);
		}

		@Override
		public String title() {
			String name = fileNameOf(source);
			return plane == 0 ? name : name.replaceAll("\\.(tiff?|png|jpe?g)$", "") + String.format(Locale.ROOT,
				" plane %03d", plane);
		}

		@Override
		public EditRequest request(String instruction, EditOptions options) throws EditException {
			sent = image.plane(slice, frame, title(), plane == 0);
			if (shared.selection != null) sent.setRoi((Roi) shared.selection.clone());
			selection = SelectionEdit.of(sent, SelectionEdit.DEFAULT_MARGIN, shared.feather);
			List<InputImage> images = new ArrayList<>();
			images.add(selection.isPresent() ? selection.get().region() : ImageEncoder.encode(sent));
			images.addAll(shared.references);
			return new EditRequest(images, instruction, options);
		}

		@Override
		public List<String> save(EditResult result) throws EditException {
			List<ImagePlus> results = selection.isPresent() ? selection.get().pasteAll(result)
				: ResultImages.toImagePlus(result, sent);
			List<String> names = new ArrayList<>();
			ResultFiles.saveAsTiff(results, shared.output.toFile()).forEach(f -> names.add(f.getName()));
			sent = null;
			return names;
		}
	}

	/** A stack assembled from the results of a source's planes, and the file it was saved as. */
	public static final class Assembled {
		public final ImagePlus stack;
		public final File file;

		Assembled(ImagePlus stack, File file) {
			this.stack = stack;
			this.file = file;
		}
	}

	/**
	 * The first result of every plane of {@code planes} (one source's, in plane order) as one new
	 * stack, from the files the log lists, so planes done by an earlier run count too, saved as TIFF
	 * in {@code output}. Empty, with the reason told to {@code problems}, when a plane has no result,
	 * the results differ in size, the stack is already assembled, or it cannot be saved.
	 */
	public static Optional<Assembled> assemble(List<? extends BatchRun.Item> planes, Path output,
		java.util.function.Consumer<String> problems)
	{
		if (planes.isEmpty()) return Optional.empty();
		Map<String, BatchLog.Done> done = new BatchLog(output).done();
		List<Integer> missing = new ArrayList<>();
		ImageStack stack = null;
		Provenance first = null;
		int slices = 1;
		int frames = 1;
		for (BatchRun.Item item : planes) {
			List<Path> results = done.containsKey(item.key()) ? done.get(item.key()).results : null;
			ImagePlus result = results == null || results.isEmpty() ? null : IJ.openImage(results.get(0).toString());
			if (result == null) {
				missing.add(item.plane());
				continue;
			}
			if (stack == null) {
				stack = new ImageStack(result.getWidth(), result.getHeight());
				first = ResultImages.provenanceOf(result);
			}
			if (result.getWidth() != stack.getWidth() || result.getHeight() != stack.getHeight()) {
				problems.accept("The results of " + item.source() + " were not assembled into a stack: plane " +
					item.plane() + " came back in another size.");
				return Optional.empty();
			}
			stack.addSlice(results.get(0).getFileName().toString(), result.getProcessor());
			slices = Math.max(slices, item.position().getOrDefault("slice", 1));
			frames = Math.max(frames, item.position().getOrDefault("frame", 1));
		}
		String source = planes.get(0).source();
		if (!missing.isEmpty()) {
			problems.accept("The results of " + source + " were not assembled into a stack: plane" +
				(missing.size() == 1 ? " " : "s ") + missing + " have no result yet. Run the batch again to finish them.");
			return Optional.empty();
		}
		String name = fileNameOf(source);
		String title = ResultImages.TITLE_PREFIX + " stack of " + name;
		Optional<File> earlier = assembledAfter(output, title, planes, done);
		if (earlier.isPresent()) {
			problems.accept("The results of " + source + " are already assembled in " + earlier.get().getName() + ".");
			return Optional.empty();
		}
		ImagePlus assembled = new ImagePlus(title, stack);
		if (slices * frames == stack.getSize()) assembled.setDimensions(1, slices, frames);
		String perPlane = "per plane: see the plane files and " + BatchLog.FILE;
		ResultImages.label(assembled, first.copy().put(Provenance.REQUEST_ID, perPlane).put(Provenance.OUTPUT_SHA256, perPlane)
			.put(Provenance.sourceTitle(1), name).put(Provenance.sourceSha256(1), perPlane)
			.put(Provenance.OUTPUT_INDEX, "1 of each plane")
			.put(Provenance.PREFIX + "AssembledFrom", stack.getSize() + " planes of " + name + ", one edit each, in plane order"));
		try {
			return Optional.of(new Assembled(assembled, ResultFiles.saveAsTiff(List.of(assembled), output.toFile()).get(0)));
		}
		catch (EditException e) {
			problems.accept(e.describe());
			return Optional.empty();
		}
	}

	/**
	 * The stack an earlier run saved, when it was saved after every plane's result: a resumed run
	 * then has nothing new to assemble and must not add a copy. A plane fetched later (by a recovery)
	 * makes the stack out of date, and a new one is assembled.
	 */
	private static Optional<File> assembledAfter(Path output, String title, List<? extends BatchRun.Item> planes,
		Map<String, BatchLog.Done> done)
	{
		File saved = output.resolve(ResultFiles.fileNameOf(title) + ".tif").toFile();
		if (!saved.isFile()) return Optional.empty();
		for (BatchRun.Item item : planes) {
			if (done.get(item.key()).results.get(0).toFile().lastModified() > saved.lastModified()) return Optional.empty();
		}
		return Optional.of(saved);
	}
}
