package io.github.qwenedit.staging;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/** What a sweep of stale staged objects did; a sweep reports its problems instead of failing the run. */
public final class SweepReport {

	private final List<String> deletedKeys;
	private final List<String> failedKeys;
	private final Optional<String> problem;

	SweepReport(List<String> deletedKeys, List<String> failedKeys, String problem) {
		this.deletedKeys = Collections.unmodifiableList(new ArrayList<>(deletedKeys));
		this.failedKeys = Collections.unmodifiableList(new ArrayList<>(failedKeys));
		this.problem = Optional.ofNullable(problem);
	}

	public List<String> deletedKeys() {
		return deletedKeys;
	}

	/** Stale objects that are still there because deleting them failed. */
	public List<String> failedKeys() {
		return failedKeys;
	}

	/** The last failure as a sentence, when anything failed (including the listing itself). */
	public Optional<String> problem() {
		return problem;
	}

	public boolean succeeded() {
		return !problem.isPresent();
	}

	/** One sentence for a log or status line. */
	public String describe() {
		String summary = "Deleted " + deletedKeys.size() + " stale staged object" + (deletedKeys.size() == 1 ? "" : "s") +
			" left by earlier runs";
		if (!problem.isPresent()) return summary + ".";
		return summary + (failedKeys.isEmpty() ? "" : "; " + failedKeys.size() + " could not be deleted") + ". " +
			problem.get();
	}
}
