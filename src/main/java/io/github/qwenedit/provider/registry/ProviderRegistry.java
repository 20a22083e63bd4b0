package io.github.qwenedit.provider.registry;

import java.util.ArrayList;
import java.util.List;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.provider.ProviderDescriptor;
import io.github.qwenedit.provider.comfyui.ComfyUiProvider;
import io.github.qwenedit.provider.dashscope.DashScopeProvider;
import io.github.qwenedit.provider.eachlabs.EachLabsProvider;
import io.github.qwenedit.provider.fal.FalProvider;
import io.github.qwenedit.provider.pixeldojo.PixelDojoProvider;
import io.github.qwenedit.provider.replicate.ReplicateProvider;

/** Every provider the plugin offers, in the order the dialog lists them. */
public final class ProviderRegistry {

	private static final List<ProviderDescriptor> PROVIDERS = List.of(DashScopeProvider.DESCRIPTOR, EachLabsProvider.DESCRIPTOR,
		PixelDojoProvider.DESCRIPTOR, FalProvider.DESCRIPTOR, ReplicateProvider.DESCRIPTOR, ComfyUiProvider.DESCRIPTOR);

	private ProviderRegistry() {}

	public static List<ProviderDescriptor> all() {
		return PROVIDERS;
	}

	public static List<String> ids() {
		List<String> ids = new ArrayList<>();
		for (ProviderDescriptor p : PROVIDERS) {
			ids.add(p.id());
		}
		return ids;
	}

	public static ProviderDescriptor get(String id) throws EditException {
		for (ProviderDescriptor p : PROVIDERS) {
			if (p.id().equalsIgnoreCase(id.trim())) return p;
		}
		throw new EditException(ErrorKind.INVALID_INPUT, "Unknown provider \"" + id + "\". Choose one of: " +
			String.join(", ", ids()) + ".");
	}
}
