package io.github.qwenedit.imagej;

import java.io.File;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

import org.scijava.ItemIO;
import org.scijava.ItemVisibility;
import org.scijava.module.Module;
import org.scijava.module.ModuleInfo;
import org.scijava.module.ModuleItem;
import org.scijava.service.Service;
import org.scijava.widget.TextWidget;
import org.scijava.widget.WidgetStyle;

import ij.IJ;
import ij.ImagePlus;
import ij.plugin.frame.Recorder;

/**
 * The one macro line that replays a run of a command of this plugin: written to ImageJ's Recorder
 * after a successful run and into every result's provenance.
 * <p>
 * The commands record themselves (they carry the {@code no-record} attribute that imagej-legacy's
 * recorder honours) because what the legacy recorder writes does not always replay: it leaves out an
 * empty folder, which a replay then asks for with a file chooser (or cancels, headless); it starts a
 * line before the dialog and leaves a bare {@code run("...")} behind when the run is cancelled; and
 * ImageJ's Recorder adds a {@code <<warning ...non-ascii...>>} line after any line with a character
 * beyond ASCII, which makes a copied macro a syntax error. See
 * https://github.com/imagej/imagej-legacy/blob/master/src/main/java/net/imagej/legacy/plugin/MacroRecorderPostprocessor.java
 * and https://github.com/imagej/ImageJ/blob/master/ij/plugin/frame/Recorder.java (saveCommand).
 * <p>
 * Every input is written, in declaration order but with the free text (text areas) last and the
 * required one (the instruction) last of all, as {@code key=value} with the key lower-cased (as
 * ImageJ's {@code Macro.getValue} looks it up) and the value in brackets when it is empty or has a
 * space. Characters a macro string cannot hold as they are are escaped the way ImageJ's macro
 * language reads them (its string constants are read by {@link java.io.StreamTokenizer}): quotes,
 * backslashes and control characters with a backslash, Latin-1 letters as octal escapes, anything
 * beyond Latin-1 as {@code fromCharCode(...)} joined to the string.
 */
public final class MacroLine {

	private MacroLine() {}

	/** The options of {@code module}'s run, as a recorded line carries them (unescaped). */
	public static String options(Module module) {
		StringBuilder options = new StringBuilder();
		for (ModuleItem<?> item : recordedInputs(module.getInfo())) {
			if (options.length() > 0) options.append(' ');
			options.append(item.getName().toLowerCase(Locale.ROOT)).append('=');
			String value = text(item.getValue(module));
			options.append(value.isEmpty() || value.indexOf(' ') >= 0 ? "[" + value + "]" : value);
		}
		return options.toString();
	}

	/**
	 * The macro statements that repeat the run: the image selected by its title when the command
	 * takes the active image, then the {@code run} call.
	 */
	public static String of(Module module, ImagePlus activeImage) {
		String menuLabel = menuLabel(module);
		String run = "run(" + macroString(menuLabel) + ", " + macroString(options(module)) + ");";
		return activeImage == null ? run : "selectImage(" + macroString(activeImage.getTitle()) + "); " + run;
	}

	/**
	 * Writes the run's line to ImageJ's Recorder, if it is recording and the run was not itself
	 * started by a macro (as imagej-legacy's recorder does).
	 */
	public static void record(Module module) {
		if (!Recorder.record || IJ.isMacro()) return;
		String menuLabel = menuLabel(module);
		String options = options(module);
		if (Recorder.scriptMode()) {
			Recorder.recordString("IJ.run(" + javaString(menuLabel) + ", " + javaString(options) + ");\n");
		}
		else {
			Recorder.recordString("run(" + macroString(menuLabel) + ", " + macroString(options) + ");\n");
		}
	}

	/** The command's name in the menu, which is what {@code run} takes. */
	static String menuLabel(Module module) {
		return module.getInfo().getMenuPath().getLeaf().getName();
	}

	/** {@code text} as an ImageJ macro expression that evaluates to it. */
	static String macroString(String text) {
		StringBuilder out = new StringBuilder("\"");
		for (int i = 0; i < text.length();) {
			int c = text.codePointAt(i);
			i += Character.charCount(c);
			if (c > 0xFF) {
				out.append("\" + fromCharCode(");
				appendUtf16Units(out, c);
				// Neighbouring characters beyond Latin-1 share one call.
				while (i < text.length() && text.codePointAt(i) > 0xFF) {
					int next = text.codePointAt(i);
					i += Character.charCount(next);
					out.append(", ");
					appendUtf16Units(out, next);
				}
				out.append(") + \"");
			}
			else if (c == '"' || c == '\\') out.append('\\').append((char) c);
			else if (c == '\n') out.append("\\n");
			else if (c == '\t') out.append("\\t");
			else if (c == '\r') out.append("\\r");
			else if (c < 0x20 || c > 0x7E) out.append(String.format("\\%03o", c));
			else out.append((char) c);
		}
		return out.append('"').toString();
	}

	private static void appendUtf16Units(StringBuilder out, int codePoint) {
		char[] units = Character.toChars(codePoint);
		for (int u = 0; u < units.length; u++) {
			if (u > 0) out.append(", ");
			out.append((int) units[u]);
		}
	}

	/** {@code text} as a string literal of the Recorder's script languages (JavaScript, BeanShell, Java, Python). */
	private static String javaString(String text) {
		StringBuilder out = new StringBuilder("\"");
		for (char c : text.toCharArray()) {
			if (c == '"' || c == '\\') out.append('\\').append(c);
			else if (c == '\n') out.append("\\n");
			else if (c < 0x20 || c > 0x7E) out.append(String.format("\\u%04x", (int) c));
			else out.append(c);
		}
		return out.append('"').toString();
	}

	/** Whether SciJava fills {@code item} in itself (a service, the context): no call gives it. */
	static boolean filledByTheFramework(ModuleItem<?> item) {
		Class<?> type = item.getType();
		return Service.class.isAssignableFrom(type) || type.getName().startsWith("org.scijava.");
	}

	/** The inputs a line carries: what the user sets, not the services or the active image. */
	static List<ModuleItem<?>> recordedInputs(ModuleInfo command) {
		List<ModuleItem<?>> items = new ArrayList<>();
		for (ModuleItem<?> item : command.inputs()) {
			if (item.getIOType() == ItemIO.OUTPUT) continue;
			if (item.getVisibility() == ItemVisibility.MESSAGE) continue;
			Class<?> type = item.getType();
			if (ImagePlus.class.isAssignableFrom(type)) continue; // filled from the active image on replay
			if (filledByTheFramework(item)) continue;
			items.add(item);
		}
		// Free text last, whatever the dialog's order: ImageJ finds a key by searching the options
		// (ij.Macro.getValue), so "seed=5" typed in an instruction must come after the real seed=.
		// The instruction (required) comes after the optional negative prompt, which is checked for it.
		items.sort(Comparator.comparing(MacroLine::isFreeText).thenComparing(item -> isFreeText(item) && item.isRequired()));
		return items;
	}

	private static boolean isFreeText(ModuleItem<?> item) {
		return String.class.equals(item.getType()) && WidgetStyle.isStyle(item, TextWidget.AREA_STYLE);
	}

	private static String text(Object value) {
		if (value == null) return "";
		if (value instanceof File) return ((File) value).getPath();
		return String.valueOf(value);
	}
}
