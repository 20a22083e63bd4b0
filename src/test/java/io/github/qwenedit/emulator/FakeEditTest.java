package io.github.qwenedit.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;

class FakeEditTest {

	private static BufferedImage twoByTwo() {
		BufferedImage image = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);
		image.setRGB(0, 0, 0x000000);
		image.setRGB(1, 0, 0x102030);
		image.setRGB(0, 1, 0xFFFFFF);
		image.setRGB(1, 1, 0x80FF01);
		return image;
	}

	@Test
	void scalesTheFirstInputByNearestNeighbourAndInvertsItOutsideTheMarker() throws Exception {
		byte[] png = FakeEdit.renderPng(List.of(twoByTwo()), 64, 32, 0);
		BufferedImage result = ImageIO.read(new ByteArrayInputStream(png));

		assertEquals(64, result.getWidth());
		assertEquals(32, result.getHeight());
		assertEquals(0xEFDFCF, result.getRGB(40, 10) & 0xFFFFFF, "src (1, 0) = 0x102030 inverted");
		assertEquals(0x000000, result.getRGB(5, 20) & 0xFFFFFF, "src (0, 1) = white inverted");
		assertEquals(0x7F00FE, result.getRGB(63, 31) & 0xFFFFFF, "src (1, 1) = 0x80FF01 inverted");
		assertEquals(0xFFFFFF, result.getRGB(31, 15) & 0xFFFFFF, "src (0, 0) = black inverted");
	}

	@Test
	void marksEachOutputIndexInTheTopLeftCorner() {
		BufferedImage first = FakeEdit.render(List.of(twoByTwo()), 64, 32, 0);
		BufferedImage second = FakeEdit.render(List.of(twoByTwo()), 64, 32, 1);

		// max(4, 64/16) × max(4, 32/16) = 4 × 4
		assertEquals(0xFF0000, first.getRGB(3, 3) & 0xFFFFFF);
		assertEquals(0x00FF00, second.getRGB(3, 3) & 0xFFFFFF);
		assertEquals(0xFFFFFF, first.getRGB(4, 0) & 0xFFFFFF);
		assertEquals(0xFFFFFF, first.getRGB(0, 4) & 0xFFFFFF);
		assertEquals(FakeEdit.markerRgb(6), FakeEdit.markerRgb(0), "the palette repeats after six");
	}

	@Test
	void takesTheLastInputsSizeWhenNoneIsAsked() {
		BufferedImage last = new BufferedImage(30, 20, BufferedImage.TYPE_INT_RGB);

		BufferedImage result = FakeEdit.render(List.of(twoByTwo(), last), 0, 0, 2);

		assertEquals(30, result.getWidth());
		assertEquals(20, result.getHeight());
		assertEquals(0x0000FF, result.getRGB(0, 0) & 0xFFFFFF);
	}
}
