package io.github.qwenedit.provider.registry;

import java.util.HashSet;
import java.util.Set;

import io.github.qwenedit.core.SecretSettings;
import io.github.qwenedit.provider.ProviderDescriptor;

/** The secrets of every provider of the registry, as each descriptor names them. */
public final class ProviderSecrets implements SecretSettings {

	@Override
	public Set<String> names() {
		Set<String> names = new HashSet<>();
		for (ProviderDescriptor p : ProviderRegistry.all()) {
			names.addAll(p.secretSettings());
		}
		return Set.copyOf(names);
	}
}
