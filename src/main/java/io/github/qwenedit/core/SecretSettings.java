package io.github.qwenedit.core;

import java.util.Set;

/**
 * Settings that are secrets, named by a layer above the model: each provider's key, named by the
 * provider registry from the providers' descriptors. {@link Configuration} finds the implementations
 * with {@link java.util.ServiceLoader} (listed in
 * {@code META-INF/services/io.github.qwenedit.core.SecretSettings}), so that the model, which may
 * import no layer above it (docs/ARCHITECTURE.md), keeps every provider's key in the owner-only file
 * and masks it without a list of providers of its own.
 */
public interface SecretSettings {

	/** The names of the secret settings, as environment variables. */
	Set<String> names();
}
