package io.github.qwenedit.imagej;

import org.scijava.app.StatusService;

import io.github.qwenedit.core.ProgressListener;

/** Shows the pipeline's progress in Fiji's status bar, the way other Fiji commands do. */
final class StatusProgress implements ProgressListener {

	private static final int STEPS = 1000;
	private final StatusService status;

	StatusProgress(StatusService status) {
		this.status = status;
	}

	@Override
	public void progress(String message, double fraction) {
		if (status == null) return;
		if (fraction < 0) status.showStatus(message);
		else status.showStatus((int) Math.round(Math.min(1, fraction) * STEPS), STEPS, message);
	}
}
