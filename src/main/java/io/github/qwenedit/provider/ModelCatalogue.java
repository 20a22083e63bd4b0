package io.github.qwenedit.provider;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;

import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.core.SizeRule;
import io.github.qwenedit.http.Json;

/**
 * Every model the plugin offers, with its limits, price and the page they were read from, in one
 * file a reviewer reads in one place ({@value #RESOURCE}); and the models a user adds in a
 * {@value #USER_FILE} of the settings folder, in the same format and checked the same way, so that
 * a model released yesterday needs no new plugin. How a provider sends a size stays in its code; a
 * rule only a provider can check (Replicate's aspect ratios) is given by that provider by name.
 */
public final class ModelCatalogue {

	public static final String RESOURCE = "/io/github/qwenedit/models.json";
	public static final String USER_FILE = "models.json";

	static final String PER_SIDE = "per_side";
	static final String TOTAL_PIXELS = "total_pixels";
	static final String AS_INPUT = "as_input";
	public static final String ASPECT_RATIO = "aspect_ratio";
	private static final Set<String> SIZE_RULES = Set.of(PER_SIDE, TOTAL_PIXELS, AS_INPUT, ASPECT_RATIO);
	private static final Set<String> FIELDS = Set.of("id", "source", "note", "max_outputs", "max_images", "size_rule",
		"min_side", "max_side", "max_image_bytes", "negative_prompt", "prompt_extend", "watermark",
		"size_only_with_one_output", "default_size_follows_input", "price", "self_hosted", "input_min_side");
	private static final Set<String> PRICE_FIELDS = Set.of("amount", "currency");
	private static final Set<String> CURRENCIES = Set.of(ModelSpec.USD, ModelSpec.CNY, ModelSpec.CREDIT);

	/** One model as the catalogue describes it. */
	public static final class Entry {
		private final String provider;
		private final String id;
		private final String source;
		private final String note;
		private final String sizeRule;
		private final int minSide;
		private final int maxSide;
		private final JsonNode node;

		private Entry(String provider, JsonNode node) {
			this.provider = provider;
			this.node = node;
			this.id = node.path("id").asText();
			this.source = node.path("source").asText();
			this.note = node.path("note").asText("");
			this.sizeRule = node.path("size_rule").asText();
			this.minSide = node.path("min_side").asInt();
			this.maxSide = node.path("max_side").asInt();
		}

		public String provider() {
			return provider;
		}

		public String id() {
			return id;
		}

		/** The public page its limits and price were read from. */
		public String source() {
			return source;
		}

		public String note() {
			return note;
		}

		/** The model as validation and the providers use it; {@code providerRules} names the provider's own size rules. */
		public ModelSpec spec(Map<String, SizeRule> providerRules) {
			ModelSpec.Builder b = ModelSpec.builder(id)
				.maxOutputs(node.path("max_outputs").asInt(1))
				.maxImages(node.path("max_images").asInt(io.github.qwenedit.core.EditRequest.MAX_IMAGES))
				.sizeRule(sizeRule(providerRules))
				.maxImageBytes(node.path("max_image_bytes").asLong(0))
				.negativePrompt(node.path("negative_prompt").asBoolean(true))
				.promptExtend(node.path("prompt_extend").asBoolean(true))
				.watermark(node.path("watermark").asBoolean(true))
				.sizeOnlyWithOneOutput(node.path("size_only_with_one_output").asBoolean(false))
				.defaultSizeFollowsInput(node.path("default_size_follows_input").asBoolean(true))
				.selfHosted(node.path("self_hosted").asBoolean(false))
				.inputMinSide(node.path("input_min_side").asInt(ModelSpec.DEFAULT_INPUT_MIN_SIDE));
			JsonNode price = node.path("price");
			if (price.isObject()) b.price(price.path("amount").asDouble(), price.path("currency").asText());
			return b.build();
		}

		private SizeRule sizeRule(Map<String, SizeRule> providerRules) {
			switch (sizeRule) {
				case PER_SIDE:
					return SizeRule.perSide(minSide, maxSide);
				case TOTAL_PIXELS:
					return SizeRule.totalPixels(minSide, maxSide);
				case AS_INPUT:
					return SizeRule.notCustomisable();
				default:
					return providerRules.get(sizeRule);
			}
		}
	}

	/** What one file gave: the providers it lists, the entries that passed, and a sentence for each one left out. */
	public static final class Parsed {
		private final List<String> providers;
		private final List<Entry> entries;
		private final List<String> problems;

		Parsed(List<String> providers, List<Entry> entries, List<String> problems) {
			this.providers = Collections.unmodifiableList(providers);
			this.entries = Collections.unmodifiableList(entries);
			this.problems = Collections.unmodifiableList(problems);
		}

		/** The providers whose lists of models passed, in the file's order. */
		public List<String> providers() {
			return providers;
		}

		public List<Entry> entries() {
			return entries;
		}

		public List<String> problems() {
			return problems;
		}

		public List<Entry> of(String provider) {
			List<Entry> mine = new ArrayList<>();
			for (Entry e : entries) {
				if (e.provider.equals(provider)) mine.add(e);
			}
			return mine;
		}
	}

	private static final Object BUILT_IN_LOCK = new Object();
	private static Parsed builtIn;
	/** The size rules each provider names for itself, registered when its built-in models are read. */
	private static final Map<String, Map<String, SizeRule>> PROVIDER_RULES = new ConcurrentHashMap<>();
	private static final Map<String, Parsed> USER_FILES = new ConcurrentHashMap<>();
	private static final Set<String> REPORTED = ConcurrentHashMap.newKeySet();

	private ModelCatalogue() {}

	/**
	 * The built-in catalogue. An entry that does not pass is a defect of the release, caught by the
	 * build's tests, so it stops the plugin rather than quietly missing a model.
	 */
	public static Parsed builtIn() {
		synchronized (BUILT_IN_LOCK) {
			if (builtIn == null) {
				byte[] bytes;
				try (InputStream in = ModelCatalogue.class.getResourceAsStream(RESOURCE)) {
					if (in == null) throw new IllegalStateException("The plugin lacks its model catalogue " + RESOURCE + ".");
					bytes = in.readAllBytes();
				}
				catch (IOException e) {
					throw new IllegalStateException("The model catalogue " + RESOURCE + " cannot be read.", e);
				}
				Parsed parsed = parse(RESOURCE, bytes, Set.of(), null);
				if (!parsed.problems().isEmpty()) throw new IllegalStateException(String.join(" ", parsed.problems()));
				builtIn = parsed;
			}
			return builtIn;
		}
	}

	/** The built-in models of {@code provider}, the default first; {@code providerRules} names its own size rules. */
	public static List<ModelSpec> builtInModels(String provider, Map<String, SizeRule> providerRules) {
		PROVIDER_RULES.put(provider, Map.copyOf(providerRules));
		List<ModelSpec> specs = new ArrayList<>();
		for (Entry e : builtIn().of(provider)) {
			if (ASPECT_RATIO.equals(e.sizeRule) && !providerRules.containsKey(ASPECT_RATIO)) {
				throw new IllegalStateException(RESOURCE + ": " + provider + " model \"" + e.id + "\" uses the size rule " +
					ASPECT_RATIO + ", which " + provider + " cannot send.");
			}
			specs.add(e.spec(providerRules));
		}
		return List.copyOf(specs);
	}

	/**
	 * The models the user added in {@code folder}, read again whenever the file changes. A bad entry
	 * is left out (with a sentence in {@link Parsed#problems}), never the whole file nor the built-in
	 * models; an entry with a built-in model's id is left out too, so that what the plugin documents
	 * for a built-in model stays true.
	 */
	public static Parsed user(Path folder) {
		Path file = folder.resolve(USER_FILE);
		String version;
		byte[] bytes;
		try {
			version = file.toAbsolutePath() + "@" + Files.getLastModifiedTime(file).toMillis() + "/" + Files.size(file);
			Parsed cached = USER_FILES.get(version);
			if (cached != null) return cached;
			bytes = Files.readAllBytes(file);
		}
		catch (NoSuchFileException absent) {
			return new Parsed(List.of(), List.of(), List.of());
		}
		catch (IOException e) {
			return new Parsed(List.of(), List.of(), List.of(file + " cannot be read (" + e.getClass().getSimpleName() +
				"): only the built-in models are offered."));
		}
		Set<String> builtInIds = new HashSet<>();
		for (Entry e : builtIn().entries()) {
			builtInIds.add(e.provider + "/" + e.id);
		}
		Parsed parsed = parse(file.toString(), bytes, builtInIds);
		USER_FILES.put(version, parsed);
		return parsed;
	}

	/** The sentences about {@code folder}'s file not yet said in this process: each is said once. */
	public static List<String> unreportedProblems(Path folder) {
		List<String> fresh = new ArrayList<>();
		for (String problem : user(folder).problems()) {
			if (REPORTED.add(folder.toAbsolutePath() + "\n" + problem)) fresh.add(problem);
		}
		return fresh;
	}

	/** The user's models of {@code provider}, ready to use. */
	static List<ModelSpec> userModels(Path folder, String provider) {
		List<ModelSpec> specs = new ArrayList<>();
		for (Entry e : user(folder).of(provider)) {
			specs.add(e.spec(PROVIDER_RULES.getOrDefault(provider, Map.of())));
		}
		return specs;
	}

	/**
	 * Reads one catalogue file of the user's. Each entry is checked on its own, and each one that does
	 * not pass is named with the file in one sentence; the others are kept.
	 *
	 * @param reservedIds "provider/id" of models another file already defines
	 */
	static Parsed parse(String fileName, byte[] bytes, Set<String> reservedIds) {
		return parse(fileName, bytes, reservedIds, builtIn());
	}

	/**
	 * The providers of the built-in catalogue, in its order: every provider of the registry has its
	 * models there, so that list is the catalogue's list of providers, and no second one is kept.
	 */
	public static List<String> providers() {
		return builtIn().providers();
	}

	/**
	 * Reads one catalogue file against the built-in one, which names the providers and shows, by its
	 * own models, which provider sends the size rule {@value #ASPECT_RATIO} (a built-in model with that
	 * rule stops the plugin unless its provider gives the rule, see {@link #builtInModels}).
	 *
	 * @param builtIn the built-in catalogue; null when reading the built-in catalogue itself
	 */
	private static Parsed parse(String fileName, byte[] bytes, Set<String> reservedIds, Parsed builtIn) {
		List<String> known = builtIn == null ? null : builtIn.providers();
		List<String> aspectRatioProviders = new ArrayList<>();
		if (builtIn != null) {
			for (Entry e : builtIn.entries()) {
				if (ASPECT_RATIO.equals(e.sizeRule) && !aspectRatioProviders.contains(e.provider)) {
					aspectRatioProviders.add(e.provider);
				}
			}
		}
		List<String> providers = new ArrayList<>();
		List<Entry> entries = new ArrayList<>();
		List<String> problems = new ArrayList<>();
		JsonNode root;
		try (JsonParser parser = Json.MAPPER.getFactory().createParser(bytes)) {
			parser.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
			root = Json.MAPPER.readTree(parser);
		}
		catch (IOException e) {
			problems.add(fileName + " is not valid JSON (" + firstLine(e.getMessage()) + "): none of its models is used.");
			return new Parsed(providers, entries, problems);
		}
		if (root == null || !root.isObject()) {
			problems.add(fileName + " must hold one object with a list of models per provider: none of its models is used.");
			return new Parsed(providers, entries, problems);
		}
		Set<String> seen = new HashSet<>(reservedIds);
		Iterator<Map.Entry<String, JsonNode>> groups = root.fields();
		while (groups.hasNext()) {
			Map.Entry<String, JsonNode> group = groups.next();
			String provider = group.getKey();
			if (known != null && !known.contains(provider)) {
				problems.add(fileName + ": \"" + provider + "\" is no provider (choose one of " + String.join(", ", known) +
					"), so its models are left out.");
				continue;
			}
			if (!group.getValue().isArray()) {
				problems.add(fileName + ": the models of " + provider + " must be a list, so they are left out.");
				continue;
			}
			providers.add(provider);
			int index = 0;
			for (JsonNode node : group.getValue()) {
				index++;
				String where = fileName + ": " + provider + " model " + index +
					(node.path("id").isTextual() ? " \"" + node.path("id").asText() + "\"" : "");
				String problem = problem(provider, node, aspectRatioProviders, builtIn == null);
				if (problem == null) {
					String key = provider + "/" + node.path("id").asText();
					if (!seen.add(key)) {
						problem = reservedIds.contains(key) ? "has the id of a built-in model, whose limits cannot be changed " +
							"here (give the model as the provider names it only if it is not built in)" : "repeats an id listed above";
					}
				}
				if (problem != null) {
					problems.add(where + " is left out: it " + problem + ".");
					continue;
				}
				entries.add(new Entry(provider, node));
			}
		}
		return new Parsed(providers, entries, problems);
	}

	/**
	 * What is wrong with one entry, as the end of a sentence; null when it passes.
	 *
	 * @param anyRule whether any provider may name {@value #ASPECT_RATIO} (the built-in catalogue,
	 *            checked against each provider's own rules by {@link #builtInModels})
	 */
	private static String problem(String provider, JsonNode node, List<String> aspectRatioProviders, boolean anyRule) {
		if (!node.isObject()) return "is not an object";
		for (Iterator<String> names = node.fieldNames(); names.hasNext();) {
			String name = names.next();
			if (!FIELDS.contains(name)) return "has the unknown field \"" + name + "\" (known: " + String.join(", ",
				new java.util.TreeSet<>(FIELDS)) + ")";
		}
		if (!node.path("id").isTextual() || node.path("id").asText().isBlank()) return "has no \"id\"";
		if (!node.path("source").isTextual() || !node.path("source").asText().matches("https?://\\S+")) {
			return "needs a \"source\": the http(s) address of the page its limits were read from";
		}
		for (String text : List.of("note", "size_rule")) {
			if (node.has(text) && !node.get(text).isTextual()) return "has a \"" + text + "\" that is not text";
		}
		for (String flag : List.of("negative_prompt", "prompt_extend", "watermark", "size_only_with_one_output",
			"default_size_follows_input", "self_hosted"))
		{
			if (node.has(flag) && !node.get(flag).isBoolean()) return "has a \"" + flag + "\" that is not true or false";
		}
		if (node.path("self_hosted").asBoolean(false) && node.has("price")) {
			return "is self_hosted and has a price: a model on your own server has no price per image";
		}
		for (String number : List.of("max_outputs", "max_images", "min_side", "max_side", "max_image_bytes",
			"input_min_side"))
		{
			if (node.has(number) && !node.get(number).canConvertToLong()) return "has a \"" + number + "\" that is not a whole number";
		}
		int inputMinSide = node.path("input_min_side").asInt(ModelSpec.DEFAULT_INPUT_MIN_SIDE);
		if (inputMinSide < 1 || inputMinSide > io.github.qwenedit.codec.InputFitting.MAX_SIDE) {
			return "has \"input_min_side\" " + inputMinSide + ", outside 1–" + io.github.qwenedit.codec.InputFitting.MAX_SIDE;
		}
		if (node.path("max_outputs").asInt(1) < 1) return "allows fewer than 1 output (\"max_outputs\")";
		int maxImages = node.path("max_images").asInt(io.github.qwenedit.core.EditRequest.MAX_IMAGES);
		if (maxImages < 1 || maxImages > io.github.qwenedit.core.EditRequest.MAX_IMAGES) {
			return "has \"max_images\" " + maxImages + ", outside 1–" + io.github.qwenedit.core.EditRequest.MAX_IMAGES;
		}
		if (node.path("max_image_bytes").asLong(0) < 0) return "has a negative \"max_image_bytes\"";
		String rule = node.path("size_rule").asText(null);
		if (rule == null) return "has no \"size_rule\" (one of " + String.join(", ", new java.util.TreeSet<>(SIZE_RULES)) + ")";
		if (!SIZE_RULES.contains(rule)) {
			return "has the unknown size rule \"" + rule + "\" (one of " + String.join(", ", new java.util.TreeSet<>(SIZE_RULES)) + ")";
		}
		if (ASPECT_RATIO.equals(rule) && !anyRule && !aspectRatioProviders.contains(provider)) {
			return "has the size rule " + ASPECT_RATIO + ", which only " + String.join(", ", aspectRatioProviders) + " can send";
		}
		boolean bounded = PER_SIDE.equals(rule) || TOTAL_PIXELS.equals(rule);
		if (bounded) {
			if (!node.has("min_side") || !node.has("max_side")) return "needs \"min_side\" and \"max_side\" for the size rule " + rule;
			int min = node.get("min_side").asInt();
			int max = node.get("max_side").asInt();
			if (min < 1) return "has a \"min_side\" below 1";
			if (min > max) return "has \"min_side\" " + min + " above \"max_side\" " + max;
		}
		else if (node.has("min_side") || node.has("max_side")) {
			return "gives sides, which the size rule " + rule + " does not use";
		}
		if (node.has("price")) {
			JsonNode price = node.get("price");
			if (!price.isObject()) return "has a \"price\" that is not an object with amount and currency";
			for (Iterator<String> names = price.fieldNames(); names.hasNext();) {
				String name = names.next();
				if (!PRICE_FIELDS.contains(name)) return "has the unknown price field \"" + name + "\" (known: amount, currency)";
			}
			if (!price.path("amount").isNumber() || price.path("amount").asDouble() <= 0) {
				return "needs a positive \"amount\" in its \"price\" (leave the price out when none is published)";
			}
			if (!CURRENCIES.contains(price.path("currency").asText())) {
				return "has a price currency other than " + String.join(", ", new java.util.TreeSet<>(CURRENCIES));
			}
		}
		return null;
	}

	private static String firstLine(String message) {
		if (message == null) return "unreadable";
		int end = message.indexOf('\n');
		return end < 0 ? message : message.substring(0, end);
	}

	/** Every built-in entry by provider, in the catalogue's order: for the README's tables. */
	public static Map<String, List<Entry>> builtInByProvider() {
		Map<String, List<Entry>> byProvider = new LinkedHashMap<>();
		for (String p : providers()) {
			byProvider.put(p, builtIn().of(p));
		}
		return byProvider;
	}
}
