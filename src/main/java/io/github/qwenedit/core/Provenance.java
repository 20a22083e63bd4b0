package io.github.qwenedit.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What was done to which image, by whom, with which settings: enough to show a journal. Kept as an
 * ordered list of key/value pairs so that ImageJ properties, the Info block and batch logs all say
 * the same thing. Values never contain secrets or signed links.
 */
public final class Provenance {

	public static final String PREFIX = "QwenEdit.";
	public static final String AI_GENERATED = PREFIX + "AIGenerated";
	public static final String DIGITAL_SOURCE_TYPE = "DigitalSourceType";
	/** IPTC digital source type for media that combine captured data with a trained model's output. */
	public static final String IPTC_COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA =
		"http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia";
	public static final String PROVIDER = PREFIX + "Provider";
	public static final String MODEL = PREFIX + "Model";
	public static final String PROMPT = PREFIX + "Prompt";
	public static final String NEGATIVE_PROMPT = PREFIX + "NegativePrompt";
	public static final String SEED = PREFIX + "Seed";
	public static final String SIZE = PREFIX + "Size";
	public static final String OUTPUTS = PREFIX + "Outputs";
	public static final String PROMPT_EXTEND = PREFIX + "PromptExtend";
	public static final String WATERMARK = PREFIX + "Watermark";
	public static final String REQUEST_ID = PREFIX + "RequestId";
	public static final String TIMESTAMP = PREFIX + "Timestamp";
	public static final String STAGING = PREFIX + "Staging";
	/** Where copies of the inputs stay after the edit, when staging could not delete them. */
	public static final String STAGING_NOTE = PREFIX + "StagingNote";
	public static final String INPUT_ADJUSTMENTS = PREFIX + "InputAdjustments";
	public static final String OUTPUT_INDEX = PREFIX + "OutputIndex";
	public static final String OUTPUT_SHA256 = PREFIX + "OutputSHA256";
	public static final String PLUGIN_VERSION = PREFIX + "PluginVersion";
	/** The macro statements that repeat the edit, as ImageJ's Recorder would have them. */
	public static final String MACRO_LINE = PREFIX + "MacroLine";
	/** The list price before the run; the provider's own figure, where it reports one, is {@code CostUsd}. */
	public static final String ESTIMATED_COST_USD = PREFIX + "EstimatedCostUsd";
	/** The yuan-to-dollar rate {@code EstimatedCostUsd} was converted at, for a model priced in yuan. */
	public static final String ESTIMATED_COST_RATE = PREFIX + "EstimatedCostRate";

	public static String sourceTitle(int index) {
		return PREFIX + "Source" + index + ".Title";
	}

	public static String sourceSha256(int index) {
		return PREFIX + "Source" + index + ".SHA256";
	}

	public static String sourceSize(int index) {
		return PREFIX + "Source" + index + ".Size";
	}

	private final Map<String, String> entries = new LinkedHashMap<>();

	/** The start of every edit's record: marked as AI-made, in words and as the IPTC digital source type. */
	public static Provenance ofAiEdit() {
		return new Provenance().put(AI_GENERATED, "true")
			.put(DIGITAL_SOURCE_TYPE, IPTC_COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA);
	}

	/** The end of every edit's record: what the provider reported of the job, then this plugin's version. */
	public Provenance endWith(Map<String, String> providerFacts) {
		providerFacts.forEach((k, v) -> put(PREFIX + k, v));
		String version = Provenance.class.getPackage().getImplementationVersion();
		return put(PLUGIN_VERSION, version == null ? "development" : version);
	}

	public Provenance put(String key, String value) {
		if (value != null) entries.put(key, value);
		return this;
	}

	public Provenance putAll(Provenance other) {
		entries.putAll(other.entries);
		return this;
	}

	public String get(String key) {
		return entries.get(key);
	}

	public Map<String, String> entries() {
		return Collections.unmodifiableMap(entries);
	}

	public Provenance copy() {
		return new Provenance().putAll(this);
	}

	/** The human-readable block for ImageJ's Image > Show Info. */
	public String toInfoText() {
		StringBuilder sb = new StringBuilder("AI-generated image (Qwen Image Edit). Not measured data.\n");
		for (Map.Entry<String, String> e : entries.entrySet()) {
			sb.append(e.getKey()).append(": ").append(e.getValue().replace('\n', ' ')).append('\n');
		}
		return sb.toString();
	}
}
