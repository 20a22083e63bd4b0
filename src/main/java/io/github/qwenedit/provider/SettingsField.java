package io.github.qwenedit.provider;

/**
 * One field of the Settings dialog for a provider: the setting it stores (by environment variable
 * name), the input name a script gives its value by, and the label the dialog shows.
 */
public final class SettingsField {

	private final String setting;
	private final String inputName;
	private final String label;

	public SettingsField(String setting, String inputName, String label) {
		this.setting = setting;
		this.inputName = inputName;
		this.label = label;
	}

	public String setting() {
		return setting;
	}

	public String inputName() {
		return inputName;
	}

	public String label() {
		return label;
	}
}
