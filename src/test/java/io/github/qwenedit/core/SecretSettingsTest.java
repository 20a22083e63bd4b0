package io.github.qwenedit.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model learns which settings are secrets from the layers above it, through
 * {@code META-INF/services/io.github.qwenedit.core.SecretSettings}; without that list it stops rather
 * than store and show the providers' keys as plain settings.
 */
class SecretSettingsTest {

	@Test
	void withoutTheListOfSecretsTheSettingsAreNotRead(@TempDir Path copy) throws Exception {
		Path classes = Path.of(SecretSettings.class.getProtectionDomain().getCodeSource().getLocation().toURI());
		Path core = classes.resolve("io/github/qwenedit/core");
		try (Stream<Path> files = Files.list(core)) {
			Path into = Files.createDirectories(copy.resolve("io/github/qwenedit/core"));
			for (Path f : (Iterable<Path>) files::iterator) {
				Files.copy(f, into.resolve(f.getFileName()));
			}
		}
		assertTrue(Files.exists(classes.resolve("META-INF/services/" + SecretSettings.class.getName())),
			"the plugin's own classes list them");
		// Only the model's classes, without the list: as in a jar that lost its META-INF/services.
		try (URLClassLoader alone = new URLClassLoader(new URL[] { copy.toUri().toURL() },
			ClassLoader.getPlatformClassLoader()))
		{
			Class<?> configuration = alone.loadClass(Configuration.class.getName());
			Object config = configuration.getMethod("of", Map.class).invoke(null, Map.of("FAL_KEY", "fal-secret-51d0"));
			InvocationTargetException e = assertThrows(InvocationTargetException.class,
				() -> configuration.getMethod("redact", String.class).invoke(config, "fal-secret-51d0"));
			assertEquals(ExceptionInInitializerError.class, e.getCause().getClass());
			assertTrue(e.getCause().getCause().getMessage().contains("META-INF/services/" + SecretSettings.class.getName()),
				e.getCause().getCause().getMessage());
		}
	}
}
