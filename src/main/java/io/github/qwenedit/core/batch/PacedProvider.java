package io.github.qwenedit.core.batch;

import java.util.List;
import java.util.Optional;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ModelSpec;
import io.github.qwenedit.http.Http;
import io.github.qwenedit.provider.EditProvider;
import io.github.qwenedit.provider.JobHandle;
import io.github.qwenedit.provider.JobState;
import io.github.qwenedit.staging.Staging;

/**
 * A provider whose creates wait their turn in a {@link CreateRateLimiter}: the wait sits right before
 * the create call, after staging, so the pace the provider sees is the pace the limiter grants.
 */
final class PacedProvider implements EditProvider {

	private final EditProvider provider;
	private final CreateRateLimiter limiter;

	PacedProvider(EditProvider provider, CreateRateLimiter limiter) {
		this.provider = provider;
		this.limiter = limiter;
	}

	@Override
	public JobState submit(EditRequest request, List<String> imageUrls, Http http) throws EditException {
		limiter.acquire(http.cancellation());
		return provider.submit(request, imageUrls, http);
	}

	@Override
	public String id() {
		return provider.id();
	}

	@Override
	public String displayName() {
		return provider.displayName();
	}

	@Override
	public List<ModelSpec> models() {
		return provider.models();
	}

	@Override
	public ModelSpec model(String id) throws EditException {
		return provider.model(id);
	}

	@Override
	public long maxInlineBytes() {
		return provider.maxInlineBytes();
	}

	@Override
	public boolean shrinksToFitInline() {
		return provider.shrinksToFitInline();
	}

	@Override
	public Optional<Staging> uploadStaging() {
		return provider.uploadStaging();
	}

	@Override
	public JobState poll(JobHandle job, Http http) throws EditException {
		return provider.poll(job, http);
	}

	@Override
	public String checkKey(Http http) throws EditException {
		return provider.checkKey(http);
	}

	@Override
	public boolean cancel(JobHandle job, Http http) {
		return provider.cancel(job, http);
	}
}
