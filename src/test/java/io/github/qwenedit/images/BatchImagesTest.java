package io.github.qwenedit.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ij.CompositeImage;
import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;
import io.github.qwenedit.core.EditOptions;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.fixtures.TestImages;

/** Which jobs a stack makes: one per slice and frame, channels kept together, in plane order. */
class BatchImagesTest {

	@TempDir
	Path work;

	private static ImagePlus hyperstack() {
		ImagePlus imp = IJ.createImage("embryo", "8-bit black", 64, 48, 2 * 3 * 4);
		imp.setDimensions(2, 3, 4);
		for (int i = 1; i <= imp.getStackSize(); i++) {
			imp.getStack().getProcessor(i).set(5, 5, i);
		}
		return new CompositeImage(imp, IJ.COMPOSITE);
	}

	@Test
	void everySliceAndFrameOfAHyperstackIsOneJobWithItsChannels() throws Exception {
		ImagePlus embryo = hyperstack();
		List<BatchImages.Job> jobs = BatchImages.ofStack(embryo, new BatchImages.Shared(work, null, 0, List.of()));
		assertEquals(12, jobs.size());
		assertEquals(Map.of("slice", 1, "frame", 1), jobs.get(0).position());
		assertEquals(Map.of("slice", 3, "frame", 1), jobs.get(2).position());
		assertEquals(Map.of("slice", 1, "frame", 2), jobs.get(3).position());
		assertEquals(12, jobs.get(11).plane());
		ImagePlus plane = BatchImages.planeOf(embryo, 2, 3, "p");
		assertEquals(2, plane.getStackSize());
		assertEquals(embryo.getStackIndex(1, 2, 3), plane.getStack().getProcessor(1).get(5, 5));
		assertEquals(embryo.getStackIndex(2, 2, 3), plane.getStack().getProcessor(2).get(5, 5));
		EditRequest request = jobs.get(4).request("x", EditOptions.builder("m").build());
		assertEquals("embryo plane 005", request.images().get(0).sourceTitle());
	}

	@Test
	void readsTheDimensionsOfAStackFileFromItsHeader() throws Exception {
		Path file = work.resolve("embryo.tif");
		new FileSaver(hyperstack()).saveAsTiffStack(file.toString());
		assertArrayEquals(new int[] { 2, 3, 4 }, BatchImages.dimensions(file));
		Path single = work.resolve("one.tif");
		new FileSaver(TestImages.pattern("one", 32, 32)).saveAsTiff(single.toString());
		assertArrayEquals(new int[] { 1, 1, 1 }, BatchImages.dimensions(single));
		List<BatchImages.Job> jobs = BatchImages.ofFiles(List.of(single, file), new BatchImages.Shared(work.resolve("out"),
			null, 0, List.of()));
		assertEquals(1 + 12, jobs.size());
		assertEquals(0, jobs.get(0).plane());
	}
}
