package io.github.qwenedit.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

import org.junit.jupiter.api.Test;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;

/**
 * What tests share is in the {@code fixtures} package (docs/ARCHITECTURE.md), so that a test class
 * can be changed, moved or removed without breaking another.
 */
class IndependentTestsTest {

	private static final String ROOT = "io.github.qwenedit";

	private static final JavaClasses TESTS = new ClassFileImporter()
		.withImportOption(ImportOption.Predefined.ONLY_INCLUDE_TESTS)
		.importPackages(ROOT);

	@Test
	void noTestUsesAnotherTestClass() {
		classes().should(new ArchCondition<JavaClass>("use no other test class") {

			@Override
			public void check(JavaClass item, ConditionEvents events) {
				JavaClass own = outermost(item);
				for (Dependency d : item.getDirectDependenciesFromSelf()) {
					JavaClass target = outermost(d.getTargetClass());
					if (target.getPackageName().startsWith(ROOT) && target.getSimpleName().endsWith("Test") &&
						!target.equals(own))
					{
						events.add(SimpleConditionEvent.violated(d, d.getDescription()));
					}
				}
			}
		}).check(TESTS);
	}

	private static JavaClass outermost(JavaClass c) {
		JavaClass outer = c;
		for (int depth = 0; depth < 10 && outer.getEnclosingClass().isPresent(); depth++) {
			outer = outer.getEnclosingClass().get();
		}
		return outer;
	}
}
