package io.github.qwenedit.core;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The size "as input" is sent as where a model needs one: the rule must then accept it. */
class SizeRuleTest {

	@Test
	void perSideBringsEachSideWithinItsRangeAtTheSameAspectRatio() throws Exception {
		SizeRule rule = SizeRule.perSide(512, 2048);
		assertEquals(new ImageSize(2048, 1024), rule.nearestAccepted(new ImageSize(2800, 1400)));
		assertEquals(new ImageSize(1024, 512), rule.nearestAccepted(new ImageSize(300, 150)));
		assertEquals(new ImageSize(1000, 700), rule.nearestAccepted(new ImageSize(1000, 700)));
		// Too elongated for both limits: the long side is capped and the short side raised.
		assertEquals(new ImageSize(2048, 512), rule.nearestAccepted(new ImageSize(8000, 100)));
	}

	@Test
	void totalPixelsScalesIntoItsPixelRangeAndTheRuleAcceptsTheResult() {
		SizeRule rule = SizeRule.totalPixels(512, 2048);
		for (ImageSize asked : new ImageSize[] { new ImageSize(4000, 3000), new ImageSize(300, 200),
			new ImageSize(2047, 2049), new ImageSize(1, 100_000) })
		{
			ImageSize sent = rule.nearestAccepted(asked);
			assertDoesNotThrow(() -> rule.check("m", sent), asked + " -> " + sent);
			double askedRatio = (double) asked.width() / asked.height();
			double sentRatio = (double) sent.width() / sent.height();
			assertTrue(Math.abs(askedRatio - sentRatio) / askedRatio < 0.01 || sent.width() <= 2, asked + " -> " + sent);
		}
		assertEquals(new ImageSize(1000, 700), rule.nearestAccepted(new ImageSize(1000, 700)));
	}
}
