package io.github.qwenedit.core;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.provider.registry.ProviderRegistry;

class RequestValidatorTest {

	private static final InputImage IMAGE = InputImage.png(new byte[] { 1 }, 512, 512, "blobs.gif");

	private static ModelSpec model(String id) throws EditException {
		return ProviderRegistry.get("dashscope").create(Configuration.of(java.util.Map.of("DASHSCOPE_API_KEY", "k")))
			.model(id);
	}

	private static EditException refused(EditRequest request, String modelId) throws EditException {
		ModelSpec model = model(modelId);
		EditException e = assertThrows(EditException.class, () -> RequestValidator.validate(request, model));
		assertEquals(ErrorKind.INVALID_INPUT, e.kind());
		return e;
	}

	private static EditRequest request(String instruction, EditOptions options) {
		return new EditRequest(List.of(IMAGE), instruction, options);
	}

	@Test
	void acceptsAPlainEdit() throws EditException {
		ModelSpec m = model("qwen-image-2.0");
		assertDoesNotThrow(() -> RequestValidator.validate(request("remove the scale bar",
			EditOptions.builder("qwen-image-2.0").outputs(6).seed(2147483647L).size(new ImageSize(2048, 2048)).build()), m));
	}

	@Test
	void refusesNoImageAndFourImages() throws EditException {
		EditOptions o = EditOptions.builder("qwen-image-2.0").build();
		assertTrue(refused(new EditRequest(List.of(), "x", o), "qwen-image-2.0").getMessage().contains("open an image"));
		EditRequest four = new EditRequest(Collections.nCopies(4, IMAGE), "x", o);
		assertTrue(refused(four, "qwen-image-2.0").getMessage().contains("at most 3 images"));
	}

	@Test
	void instructionMustHaveOneTo800Characters() throws EditException {
		EditOptions o = EditOptions.builder("qwen-image-2.0").build();
		assertTrue(refused(request("   ", o), "qwen-image-2.0").getMessage().contains("empty"));
		String tooLong = "a".repeat(801);
		assertTrue(refused(request(tooLong, o), "qwen-image-2.0").getMessage().contains("801 characters"));
		assertDoesNotThrow(() -> RequestValidator.validate(request("a".repeat(800), o), model("qwen-image-2.0")));
	}

	@Test
	void negativePromptAtMost500Characters() throws EditException {
		EditOptions o = EditOptions.builder("qwen-image-2.0").negativePrompt("b".repeat(501)).build();
		assertTrue(refused(request("x", o), "qwen-image-2.0").getMessage().contains("limit is 500"));
	}

	@Test
	void outputsPerModel() throws EditException {
		assertTrue(refused(request("x", EditOptions.builder("qwen-image-2.0").outputs(0).build()), "qwen-image-2.0")
			.getMessage().contains("between 1 and 6"));
		assertTrue(refused(request("x", EditOptions.builder("qwen-image-2.0").outputs(7).build()), "qwen-image-2.0")
			.getMessage().contains("between 1 and 6"));
		assertTrue(refused(request("x", EditOptions.builder("qwen-image-edit").outputs(2).build()), "qwen-image-edit")
			.getMessage().contains("exactly 1 image"));
	}

	@Test
	void seedRange() throws EditException {
		assertTrue(refused(request("x", EditOptions.builder("qwen-image-2.0").seed(-2L).build()), "qwen-image-2.0")
			.getMessage().contains("between 0 and 2147483647"));
		assertTrue(refused(request("x", EditOptions.builder("qwen-image-2.0").seed(2147483648L).build()),
			"qwen-image-2.0").getMessage().contains("between 0 and 2147483647"));
	}

	@Test
	void sizeRulesDifferPerModel() throws EditException {
		// qwen-image-2.0: total pixels between 512*512 and 2048*2048, so a long thin size is fine.
		assertDoesNotThrow(() -> RequestValidator.validate(request("x",
			EditOptions.builder("qwen-image-2.0").size(new ImageSize(2560, 1024)).build()), model("qwen-image-2.0")));
		assertTrue(refused(request("x", EditOptions.builder("qwen-image-2.0").size(new ImageSize(5000, 5000)).build()),
			"qwen-image-2.0").getMessage().contains("512*512 and 2048*2048"));
		// qwen-image-edit-plus: each side within 512..2048.
		assertTrue(refused(request("x", EditOptions.builder("qwen-image-edit-plus").size(new ImageSize(2560, 1024))
			.build()), "qwen-image-edit-plus").getMessage().contains("between 512 and 2048"));
		assertTrue(refused(request("x", EditOptions.builder("qwen-image-edit").size(new ImageSize(1024, 1024)).build()),
			"qwen-image-edit").getMessage().contains("does not take a custom size"));
		assertTrue(refused(request("x", EditOptions.builder("qwen-image-edit-plus").size(new ImageSize(1024, 1024))
			.outputs(2).build()), "qwen-image-edit-plus").getMessage().contains("only with 1 output"));
		assertTrue(refused(request("x", EditOptions.builder("qwen-image-2.0").size(new ImageSize(0, 0)).build()),
			"qwen-image-2.0").getMessage().contains("0*0"));
	}

	@Test
	void sizeMustBeWrittenWithAStar() {
		EditException e = assertThrows(EditException.class, () -> ImageSize.parse("1024x1024"));
		assertTrue(e.getMessage().contains("1024*1024"), e.getMessage());
		assertThrows(EditException.class, () -> ImageSize.parse("big"));
		assertDoesNotThrow(() -> assertEquals(new ImageSize(1024, 768), ImageSize.parse(" 1024*768 ")));
	}

	@Test
	void unknownModelNamesTheChoices() {
		EditException e = assertThrows(EditException.class, () -> model("qwen-image-9"));
		assertTrue(e.getMessage().contains("qwen-image-2.0-pro"), e.getMessage());
	}
}
