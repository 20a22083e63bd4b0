package io.github.qwenedit.provider.comfyui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.github.qwenedit.http.Json;

/** The check for a cycle in a user's graph, which ComfyUI would stop with "Dependency cycle detected". */
class UserWorkflowCycleTest {

	/** A chain of {@code length} nodes, each taking its input from the one before. */
	private static ObjectNode chain(int length) {
		ObjectNode graph = Json.object();
		for (int i = 1; i <= length; i++) {
			ObjectNode inputs = graph.putObject(String.valueOf(i)).put("class_type", "ImageInvert").putObject("inputs");
			if (i > 1) inputs.putArray("image").add(String.valueOf(i - 1)).add(0);
		}
		return graph;
	}

	@Test
	void aLongChainIsNoCycleAndItsLastLinkBackMakesOne() {
		// Deeper than a recursive search survives: a 7000-node chain overflowed its stack.
		ObjectNode graph = chain(20_000);
		assertEquals(Optional.empty(), UserWorkflow.nodeInACycle(graph));
		((ObjectNode) graph.get("1").get("inputs")).putArray("image").add("20000").add(0);
		assertTrue(UserWorkflow.nodeInACycle(graph).isPresent());
	}

	@Test
	void aNodeFeedingItselfIsNamed() {
		ObjectNode graph = chain(3);
		((ObjectNode) graph.get("2").get("inputs")).putArray("mask").add("2").add(0);
		assertEquals(Optional.of("2"), UserWorkflow.nodeInACycle(graph));
	}
}
