package io.github.qwenedit.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.core.UsdPerCny;
import io.github.qwenedit.provider.registry.ProviderRegistry;

/**
 * The README's model and cost tables are written from the catalogue file, so what the README
 * promises is what the plugin checks. When they drift apart this test fails with the lines that
 * differ and the command that rewrites them (offline: it needs nothing beyond the build).
 */
class ReadmeCatalogueTablesTest {

	static final String UPDATE = "mvn -B -o test -Dtest=ReadmeCatalogueTablesTest -Dreadme.update=true";
	private static final Path README = Paths.get("README.md");

	@Test
	void readmeTablesMatchTheCatalogue() throws IOException {
		String readme = new String(Files.readAllBytes(README), StandardCharsets.UTF_8);
		String expected = replace(replace(readme, "models", modelsTable()), "prices", pricesTable());
		if (expected.equals(readme)) return;
		if (Boolean.getBoolean("readme.update")) {
			Files.write(README, expected.getBytes(StandardCharsets.UTF_8));
			return;
		}
		fail("README.md's tables differ from " + ModelCatalogue.RESOURCE + ". Lines only in README.md (-) and only in the " +
			"catalogue's tables (+):\n" + diff(readme, expected) + "\nRegenerate them with: " + UPDATE);
	}

	@Test
	void theDiffNamesTheLinesThatDiffer() {
		assertEquals("- | a | 1 |\n+ | a | 2 |\n", diff("x\n| a | 1 |\ny", "x\n| a | 2 |\ny"));
	}

	static String begin(String table) {
		return "<!-- generated from models.json (" + table + "): begin; " + UPDATE + " -->";
	}

	static String end(String table) {
		return "<!-- generated from models.json (" + table + "): end -->";
	}

	private static String replace(String readme, String table, String content) {
		int from = readme.indexOf(begin(table));
		int to = readme.indexOf(end(table));
		assertTrue(from >= 0 && to > from, "README.md lacks the markers " + begin(table) + " … " + end(table));
		return readme.substring(0, from + begin(table).length()) + "\n" + content + readme.substring(to);
	}

	static String modelsTable() {
		StringBuilder t = new StringBuilder("| provider | model | images in | outputs | size | notes | source |\n" +
			"|---|---|---|---|---|---|---|\n");
		for (Map.Entry<String, List<ModelCatalogue.Entry>> group : ModelCatalogue.builtInByProvider().entrySet()) {
			boolean first = true;
			for (ModelCatalogue.Entry e : group.getValue()) {
				ModelSpec m = e.spec(Map.of(ModelCatalogue.ASPECT_RATIO, ruleOf(group.getKey(), e.id())));
				t.append("| `").append(group.getKey()).append("` | `").append(e.id()).append('`')
					.append(first ? " (default)" : "").append(" | ").append(range(m.maxImages()))
					.append(" | ").append(range(m.maxOutputs())).append(" | ").append(m.sizeRule().describe())
					.append(m.sizeOnlyWithOneOutput() ? "; a custom size only with 1 output" : "")
					.append(" | ").append(options(m)).append(e.note().isEmpty() ? "" : (options(m).isEmpty() ? "" : "; ") + e.note())
					.append(" | [page](").append(e.source()).append(") |\n");
				first = false;
			}
		}
		return t.toString();
	}

	static String pricesTable() {
		StringBuilder t = new StringBuilder("| provider | model | list price per output image | source |\n|---|---|---|---|\n");
		for (Map.Entry<String, List<ModelCatalogue.Entry>> group : ModelCatalogue.builtInByProvider().entrySet()) {
			for (ModelCatalogue.Entry e : group.getValue()) {
				ModelSpec m = e.spec(Map.of(ModelCatalogue.ASPECT_RATIO, ruleOf(group.getKey(), e.id())));
				t.append("| `").append(group.getKey()).append("` | `").append(e.id()).append("` | ").append(price(m))
					.append(" | [page](").append(e.source()).append(") |\n");
			}
		}
		return t.toString();
	}

	/** The provider's own rule, as its models carry it. */
	private static io.github.qwenedit.core.SizeRule ruleOf(String provider, String id) {
		try {
			return ProviderRegistry.get(provider).models().stream().filter(m -> m.id().equals(id)).findFirst().orElseThrow()
				.sizeRule();
		}
		catch (io.github.qwenedit.core.EditException e) {
			throw new AssertionError(e);
		}
	}

	private static String range(int max) {
		return max == 1 ? "1" : "1–" + max;
	}

	private static String options(ModelSpec m) {
		List<String> missing = new ArrayList<>();
		if (!m.supportsNegativePrompt()) missing.add("no negative prompt");
		if (!m.supportsPromptExtend()) missing.add("no prompt extension");
		if (!m.supportsWatermark()) missing.add("no watermark");
		if (m.maxImageBytes() > 0) missing.add("each input file ≤ " + m.maxImageBytes() / 1_000_000 + " MB");
		return String.join(", ", missing);
	}

	private static String price(ModelSpec m) {
		if (m.selfHosted()) return "none: runs on your own server";
		if (m.priceAmount() <= 0) return "unknown: none found";
		String amount = BigDecimal.valueOf(m.priceAmount()).stripTrailingZeros().toPlainString();
		switch (m.priceCurrency()) {
			case ModelSpec.USD:
				return "$" + amount;
			case ModelSpec.CNY:
				return amount + " CNY (≈ " + String.format(Locale.ROOT, "$%.3f", m.priceAmount() * UsdPerCny.DEFAULT_VALUE) +
					" at the default " + UsdPerCny.DEFAULT_VALUE + " USD per CNY)";
			default:
				return amount + (m.priceAmount() == 1 ? " credit" : " credits");
		}
	}

	/** The lines of {@code actual} not in {@code expected} (-) and the reverse (+), in order. */
	static String diff(String actual, String expected) {
		Set<String> a = new LinkedHashSet<>(Arrays.asList(actual.split("\n", -1)));
		Set<String> e = new LinkedHashSet<>(Arrays.asList(expected.split("\n", -1)));
		StringBuilder out = new StringBuilder();
		for (String line : a) {
			if (!e.contains(line)) out.append("- ").append(line).append('\n');
		}
		for (String line : e) {
			if (!a.contains(line)) out.append("+ ").append(line).append('\n');
		}
		return out.toString();
	}

}
