package io.github.qwenedit.imagej;

import org.scijava.app.StatusService;
import org.scijava.command.Command;
import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;

/** A menu entry that stops every running edit, for when Esc is not at hand (a macro, a batch). */
@Plugin(type = Command.class, menuPath = "Plugins>Qwen Image Edit>Cancel Running Edits", headless = true)
public class CancelEditsCommand implements Command {

	@Parameter
	private QwenEditService editService;

	@Parameter(required = false)
	private StatusService status;

	@Override
	public void run() {
		int n = editService.cancelAll();
		if (status != null) {
			status.showStatus(n == 0 ? "Qwen Image Edit: no edit is running" : "Qwen Image Edit: cancelling " + n +
				(n == 1 ? " edit" : " edits"));
		}
	}
}
