import java.awt.*;
import java.awt.event.ActionEvent;
import java.awt.event.ActionListener;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import javax.swing.*;
import javax.swing.text.JTextComponent;

/**
 * Drives the GUI of the Fiji-like runtime (shared/fiji-runtime) in its own JVM, as a user would:
 * menu items fire as when clicked, dialog fields are set by their labels, buttons pressed, the
 * screen captured. The steps come from a file, one a line (see the cases below); used by
 * docs/screenshots.sh.
 */
public class GuiDriver {
	static Window dialog;

	public static void main(String[] args) throws Exception {
		List<String> steps = Files.readAllLines(Path.of(args[0]));
		String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
		net.imagej.patcher.LegacyInjector.preinit();
		new Thread(() -> {
			try { FijiLikeMain.main(rest); } catch (Exception e) { e.printStackTrace(); }
		}, "launcher").start();
		long end = System.currentTimeMillis() + 120_000;
		while (ij.IJ.getInstance() == null || !ij.IJ.getInstance().isShowing()) {
			if (System.currentTimeMillis() > end) { System.out.println("DRIVER no ImageJ window"); System.exit(2); }
			Thread.sleep(200);
		}
		Thread.sleep(1500);
		int code = 0;
		for (String step : steps) {
			if (step.isBlank() || step.startsWith("#")) continue;
			System.out.println("DRIVER> " + step);
			try {
				run(step);
			} catch (Throwable t) {
				System.out.println("DRIVER step failed: " + t + " cause " + t.getCause());
				code = 1;
				break;
			}
		}
		System.out.flush();
		Runtime.getRuntime().halt(code);
	}

	static String arg(String step, int n) {
		String[] p = step.split(" ", n + 2);
		return p.length > n + 1 ? p[n + 1] : "";
	}

	static void run(String step) throws Exception {
		String cmd = step.split(" ", 2)[0];
		switch (cmd) {
			case "macro": ij.IJ.runMacro(step.substring(6).replace("\\n", "\n")); break;
			case "menu": menu(step.substring(5)); break;
			case "dialog": dialog = waitWindow(step.substring(7), 30_000); break;
			case "set": { String[] kv = step.substring(4).split(" => ", 2); onEdt(() -> set(kv[0], kv[1])); break; }
			case "button": { String t = step.substring(7); onEdt(() -> button(t)); break; }
			case "key": { String k = step.substring(4); onEdt(() -> key(k)); break; }
			case "shot": shot(step.substring(5)); break;
			case "sleep": Thread.sleep(Long.parseLong(step.substring(6))); break;
			case "recorder": System.out.println("RECORDER>>>\n" + recorderText() + "<<<RECORDER"); break;
			case "log": System.out.println("LOG>>>\n" + (ij.IJ.getLog() == null ? "" : ij.IJ.getLog()) + "<<<LOG"); break;
			case "windows": for (Window w : Window.getWindows()) if (w.isShowing()) System.out.println("WINDOW " + title(w) + " " + w.getBounds()); break;
			case "dump": onEdt(GuiDriver::dump); break;
			case "wait-image": { long end = System.currentTimeMillis() + 60_000; String t = step.substring(11);
				while (ij.WindowManager.getImage(t) == null) { if (System.currentTimeMillis() > end) throw new IllegalStateException("no image " + t); Thread.sleep(200); } break; }
			case "wait-gone": { long end = System.currentTimeMillis() + 60_000; Window d = dialog;
				while (d != null && d.isShowing()) { if (System.currentTimeMillis() > end) throw new IllegalStateException("dialog still open"); Thread.sleep(200); } break; }
			case "move": { String[] xy = step.substring(5).split(" "); onEdt(() -> dialog.setLocation(Integer.parseInt(xy[0]), Integer.parseInt(xy[1]))); break; }
			case "close-dialog": onEdt(() -> dialog.dispose()); break;
			default: throw new IllegalArgumentException("unknown step " + step);
		}
	}

	static String title(Window w) {
		return w instanceof Frame ? ((Frame) w).getTitle() : w instanceof Dialog ? ((Dialog) w).getTitle() : w.getClass().getSimpleName();
	}

	static void onEdt(Runnable r) throws Exception {
		EventQueue.invokeAndWait(r);
		Thread.sleep(300);
	}

	static void menu(String label) throws Exception {
		MenuItem item = find(ij.IJ.getInstance().getMenuBar(), label);
		if (item == null) throw new IllegalArgumentException("no menu item " + label);
		ActionEvent e = new ActionEvent(item, ActionEvent.ACTION_PERFORMED, item.getActionCommand());
		EventQueue.invokeLater(() -> { for (ActionListener l : item.getActionListeners()) l.actionPerformed(e); });
		Thread.sleep(500);
	}

	static MenuItem find(MenuBar bar, String label) {
		for (int i = 0; i < bar.getMenuCount(); i++) {
			MenuItem m = find(bar.getMenu(i), label);
			if (m != null) return m;
		}
		return null;
	}

	static MenuItem find(Menu menu, String label) {
		for (int i = 0; i < menu.getItemCount(); i++) {
			MenuItem item = menu.getItem(i);
			if (item instanceof Menu) {
				MenuItem m = find((Menu) item, label);
				if (m != null) return m;
			}
			else if (label.equals(item.getLabel())) return item;
		}
		return null;
	}

	static Window waitWindow(String title, long ms) throws Exception {
		long end = System.currentTimeMillis() + ms;
		while (System.currentTimeMillis() < end) {
			for (Window w : Window.getWindows()) {
				if (w.isShowing() && title(w) != null && title(w).contains(title)) { Thread.sleep(700); return w; }
			}
			Thread.sleep(200);
		}
		throw new IllegalStateException("no window " + title);
	}

	static List<Component> all(Container c) {
		List<Component> out = new ArrayList<>();
		for (Component child : c.getComponents()) {
			out.add(child);
			if (child instanceof Container) out.addAll(all((Container) child));
		}
		return out;
	}

	/** The widget next to the label {@code label} (SciJava's input panel: label, widget, label, widget...). */
	static Component widget(String label) {
		for (Component c : all(dialog)) {
			if (c instanceof JLabel && label.equals(((JLabel) c).getText())) {
				Container parent = c.getParent();
				List<Component> siblings = java.util.Arrays.asList(parent.getComponents());
				return siblings.get(siblings.indexOf(c) + 1);
			}
		}
		throw new IllegalArgumentException("no field " + label);
	}

	static void set(String label, String value) {
		Component w = widget(label);
		List<Component> parts = new ArrayList<>(); parts.add(w); if (w instanceof Container) parts.addAll(all((Container) w));
		for (Component c : parts) {
			if (c instanceof JComboBox) { ((JComboBox<?>) c).setSelectedItem(value); return; }
			if (c instanceof JCheckBox) { ((JCheckBox) c).setSelected(Boolean.parseBoolean(value)); return; }
			if (c instanceof JSpinner) { ((JSpinner) c).setValue(((JSpinner) c).getModel().getValue() instanceof Integer ? (Object) Integer.valueOf(value) : (Object) Double.valueOf(value)); return; }
			if (c instanceof JTextComponent) { ((JTextComponent) c).setText(value.replace("\\n", "\n")); return; }
		}
		throw new IllegalArgumentException("no editable widget for " + label);
	}

	static void button(String text) {
		for (Component c : all(dialog)) {
			if (c instanceof AbstractButton && text.equals(((AbstractButton) c).getText())) { ((AbstractButton) c).doClick(); return; }
			if (c instanceof Button && text.equals(((Button) c).getLabel())) {
				Button b = (Button) c;
				ActionEvent e = new ActionEvent(b, ActionEvent.ACTION_PERFORMED, b.getActionCommand());
				for (ActionListener l : b.getActionListeners()) l.actionPerformed(e);
				return;
			}
		}
		throw new IllegalArgumentException("no button " + text);
	}

	static void key(String k) {
		Component f = dialog.getFocusOwner() != null ? dialog.getFocusOwner() : dialog;
		int code = k.equals("ESCAPE") ? java.awt.event.KeyEvent.VK_ESCAPE : java.awt.event.KeyEvent.VK_ENTER;
		f.dispatchEvent(new java.awt.event.KeyEvent(f, java.awt.event.KeyEvent.KEY_PRESSED, System.currentTimeMillis(), 0, code, java.awt.event.KeyEvent.CHAR_UNDEFINED));
	}

	static void dump() {
		System.out.println("DIALOG " + title(dialog) + " bounds " + dialog.getBounds());
		for (Component c : all(dialog)) {
			if (c instanceof JScrollPane) {
				JScrollPane s = (JScrollPane) c;
				System.out.println("  SCROLL view " + s.getViewport().getViewSize() + " extent " + s.getViewport().getExtentSize());
			}
			if (c instanceof JLabel && c.isShowing()) {
				JLabel l = (JLabel) c; Container p = l.getParent();
				List<Component> sib = java.util.Arrays.asList(p.getComponents()); int i = sib.indexOf(l);
				String v = "";
				if (i + 1 < sib.size()) v = valueOf(sib.get(i + 1));
				Point on = SwingUtilities.convertPoint(l, 0, 0, dialog);
				String text = l.getText(); if (text != null && text.length() > 90) text = text.substring(0, 90) + "...";
				System.out.println("  y=" + on.y + " " + text + " = " + v);
			}
		}
	}

	static String valueOf(Component w) {
		List<Component> parts = new ArrayList<>(); parts.add(w); if (w instanceof Container) parts.addAll(all((Container) w));
		for (Component c : parts) {
			if (c instanceof JComboBox) return "[" + ((JComboBox<?>) c).getSelectedItem() + "]";
			if (c instanceof JCheckBox) return "[" + ((JCheckBox) c).isSelected() + "]";
			if (c instanceof JSpinner) return "[" + ((JSpinner) c).getValue() + "]";
			if (c instanceof JTextComponent) return "[" + ((JTextComponent) c).getText() + "]";
		}
		return "";
	}

	static String recorderText() {
		Frame f = ij.WindowManager.getFrame("Recorder");
		if (f == null) return "(no Recorder)";
		for (Component c : all(f)) if (c instanceof TextArea) return ((TextArea) c).getText();
		return "(no text)";
	}

	static void shot(String file) throws Exception {
		Thread.sleep(500);
		BufferedImage img = new Robot().createScreenCapture(new Rectangle(Toolkit.getDefaultToolkit().getScreenSize()));
		ImageIO.write(img, "png", new File(file));
	}
}
