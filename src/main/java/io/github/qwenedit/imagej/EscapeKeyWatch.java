package io.github.qwenedit.imagej;

import ij.IJ;
import io.github.qwenedit.core.Cancellation;

/**
 * Fiji users stop a running command with the Esc key; this turns that key into a cancel of the edit.
 */
final class EscapeKeyWatch implements AutoCloseable {

	private final Thread watcher;
	private volatile boolean running = true;

	private EscapeKeyWatch(Cancellation cancellation) {
		IJ.resetEscape();
		watcher = new Thread(() -> {
			while (running && !cancellation.isCancelled()) {
				if (IJ.escapePressed()) {
					IJ.resetEscape();
					cancellation.cancel();
					return;
				}
				try {
					Thread.sleep(100);
				}
				catch (InterruptedException e) {
					return;
				}
			}
		}, "Qwen Image Edit: Esc watch");
		watcher.setDaemon(true);
		watcher.start();
	}

	/** Watches Esc only where there is an ImageJ window to press it in. */
	static AutoCloseable start(Cancellation cancellation) {
		if (IJ.getInstance() == null) return () -> {};
		return new EscapeKeyWatch(cancellation);
	}

	@Override
	public void close() {
		running = false;
		watcher.interrupt();
	}
}
