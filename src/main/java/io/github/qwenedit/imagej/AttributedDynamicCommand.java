package io.github.qwenedit.imagej;

import org.scijava.command.DynamicCommand;
import org.scijava.command.DynamicCommandInfo;
import org.scijava.plugin.Attr;
import org.scijava.plugin.Plugin;

/**
 * A {@link DynamicCommand} whose {@code @Plugin} attributes reach the processors that run it.
 * <p>
 * The processors see a dynamic command through its {@link DynamicCommandInfo}, which answers
 * {@code is(...)} and {@code get(...)} from its own, empty, table instead of the command's
 * (https://github.com/scijava/scijava-common/blob/master/src/main/java/org/scijava/command/DynamicCommandInfo.java).
 * So {@code no-record} was lost: imagej-legacy's recorder wrote a second, unreplayable line after
 * each edit, with a {@code <<warning ...non-ascii...>>} line for an instruction beyond ASCII, and
 * recorded Settings...; ImageJ's menu runner left a bare {@code run("...")} after a cancelled dialog.
 */
public abstract class AttributedDynamicCommand extends DynamicCommand {

	@Override
	public DynamicCommandInfo getInfo() {
		DynamicCommandInfo info = super.getInfo();
		Plugin plugin = getClass().getAnnotation(Plugin.class);
		if (plugin != null) {
			for (Attr attr : plugin.attrs()) {
				if (!info.is(attr.name())) info.set(attr.name(), attr.value());
			}
		}
		return info;
	}
}
