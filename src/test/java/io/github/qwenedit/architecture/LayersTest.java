package io.github.qwenedit.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import org.junit.jupiter.api.Test;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

/**
 * The layers of docs/ARCHITECTURE.md, from the bottom: the model ({@code core}); {@code http} and the
 * image {@code codec} beside each other; {@code staging}; {@code provider}; the {@code engine} (edit
 * session, batch, journal); ImageJ 1 image I/O ({@code images}); the front ends {@code imagej} and
 * {@code cli}. Each may use only what lies below it, so no package cycle can form.
 */
class LayersTest {

	private static final String ROOT = "io.github.qwenedit";

	private static final JavaClasses PLUGIN = new ClassFileImporter()
		.withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
		.importPackages(ROOT);

	@Test
	void noPackageDependsOnAPackageThatDependsOnIt() {
		slices().matching(ROOT + ".(**)").should().beFreeOfCycles().check(PLUGIN);
	}

	@Test
	void eachLayerUsesOnlyTheLayersBelowIt() {
		layeredArchitecture().consideringOnlyDependenciesInLayers()
			.layer("model").definedBy(ROOT + ".core..")
			.layer("http").definedBy(ROOT + ".http..")
			.layer("codec").definedBy(ROOT + ".codec..")
			.layer("staging").definedBy(ROOT + ".staging..")
			.layer("provider").definedBy(ROOT + ".provider..")
			.layer("engine").definedBy(ROOT + ".engine..")
			.layer("images").definedBy(ROOT + ".images..")
			.layer("imagej").definedBy(ROOT + ".imagej..")
			.layer("cli").definedBy(ROOT + ".cli..")
			.whereLayer("model").mayNotAccessAnyLayer()
			.whereLayer("http").mayOnlyAccessLayers("model")
			.whereLayer("codec").mayOnlyAccessLayers("model")
			.whereLayer("staging").mayOnlyAccessLayers("model", "http", "codec")
			.whereLayer("provider").mayOnlyAccessLayers("model", "http", "codec", "staging")
			.whereLayer("engine").mayOnlyAccessLayers("model", "http", "codec", "staging", "provider")
			.whereLayer("images").mayOnlyAccessLayers("model", "http", "codec", "staging", "provider", "engine")
			.whereLayer("imagej").mayOnlyAccessLayers("model", "http", "codec", "staging", "provider", "engine",
				"images")
			.whereLayer("cli").mayOnlyAccessLayers("model", "http", "codec", "staging", "provider", "engine",
				"images")
			.check(PLUGIN);
	}

	/** The model and the engine run the same in Fiji, headless and in the shell command. */
	@Test
	void theModelAndTheEngineKnowNothingOfImageJOrAUserInterface() {
		noClasses().that().resideInAnyPackage(ROOT + ".core..", ROOT + ".engine..")
			.should().dependOnClassesThat().resideInAnyPackage("ij..", "javax.swing..", "java.awt..", "org.scijava..")
			.check(PLUGIN);
	}
}
