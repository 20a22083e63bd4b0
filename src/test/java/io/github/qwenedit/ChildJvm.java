package io.github.qwenedit;

import java.io.File;

/**
 * How tests start a Java program of their own (a shell run, a Fiji command to kill halfway): this
 * JVM's java, with the Java preferences the build gives the tests (see the surefire configuration in
 * pom.xml), so that no child writes remembered values into the user's own Fiji preferences.
 */
public final class ChildJvm {

	public static final String JAVA = new File(System.getProperty("java.home"), "bin/java").getPath();
	public static final String PREFERENCES = "-Djava.util.prefs.userRoot=" +
		System.getProperty("java.util.prefs.userRoot", "target/java-prefs");

	private ChildJvm() {}
}
