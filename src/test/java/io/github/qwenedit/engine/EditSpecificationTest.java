package io.github.qwenedit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.github.qwenedit.core.EditException;
import io.github.qwenedit.core.EditRequest;
import io.github.qwenedit.core.ErrorKind;
import io.github.qwenedit.core.ImageSize;
import io.github.qwenedit.core.InputImage;
import io.github.qwenedit.core.OptionText;
import io.github.qwenedit.provider.registry.ProviderRegistry;
import io.github.qwenedit.staging.StagingChoice;

/**
 * What a user types is read once, the same for the Fiji commands and the shell command, and what
 * cannot be read is refused with the one sentence every front end shows.
 */
class EditSpecificationTest {

	/** What every front end sends when the user changes nothing but the provider and the instruction. */
	private static EditSpecification.Text typed() {
		return EditSpecification.of("dashscope").instruction("remove the scale bar");
	}

	private static String refusal(EditSpecification.Text text) {
		EditException e = assertThrows(EditException.class, text::parse);
		assertEquals(ErrorKind.INVALID_INPUT, e.kind());
		return e.getMessage();
	}

	@Test
	void readsEveryOptionTheUserTyped() throws Exception {
		EditSpecification spec = EditSpecification.of(" DashScope ").model("qwen-image-edit-plus")
			.instruction("put the cell of image 2 into image 1").negativePrompt("blur").size(" 1024 * 768 ")
			.seed(" 42 ").outputs(3).promptExtend(false).watermark(true).staging("provider-upload").parse();
		assertEquals("dashscope", spec.provider().id());
		assertEquals("put the cell of image 2 into image 1", spec.instruction());
		assertEquals("qwen-image-edit-plus", spec.options().model());
		assertEquals("blur", spec.options().negativePrompt());
		assertEquals(Optional.of(new ImageSize(1024, 768)), spec.options().size());
		assertEquals(Optional.of(42L), spec.options().seed());
		assertEquals(3, spec.options().outputs());
		assertFalse(spec.options().promptExtend());
		assertTrue(spec.options().watermark());
		assertEquals(StagingChoice.PROVIDER_UPLOAD, spec.staging());

		InputImage image = new InputImage(new byte[] { 1, 2, 3 }, "image/png", 1, 1, "one");
		EditRequest request = spec.request(List.of(image));
		assertEquals(List.of(image), request.images());
		assertEquals(spec.instruction(), request.instruction());
		assertEquals(spec.options(), request.options());
	}

	/** The dialogs' defaults, and what the shell command leaves out, mean the provider's model, as input, random, auto. */
	@Test
	void whatIsNotGivenTakesTheDefaults() throws Exception {
		EditSpecification dialogDefaults = typed().size(OptionText.AS_INPUT).seed(OptionText.RANDOM_SEED).staging("auto")
			.parse();
		EditSpecification nothingGiven = typed().negativePrompt(null).parse();
		for (EditSpecification spec : List.of(dialogDefaults, nothingGiven)) {
			assertEquals(ProviderRegistry.get("dashscope").defaultModel(), spec.options().model());
			assertEquals(Optional.empty(), spec.options().size());
			assertEquals(Optional.empty(), spec.options().seed());
			assertEquals(1, spec.options().outputs());
			assertEquals("", spec.options().negativePrompt());
			assertTrue(spec.options().promptExtend());
			assertFalse(spec.options().watermark());
			assertEquals(StagingChoice.AUTO, spec.staging());
		}
		assertEquals("", EditSpecification.of("dashscope").instruction(null).parse().instruction());
	}

	@Test
	void refusesAnUnknownProvider() {
		assertEquals("Unknown provider \"openai\". Choose one of: " + String.join(", ", ProviderRegistry.ids()) + ".",
			refusal(EditSpecification.of("openai").instruction("x")));
	}

	@Test
	void refusesASeedThatIsNoWholeNumber() {
		assertEquals("The seed must be a whole number between 0 and 2147483647, or -1 for a random seed (it was \"seven\").",
			refusal(typed().seed(" seven ")));
	}

	@Test
	void refusesASizeWrittenWithAnotherSeparatorThanAStar() {
		assertEquals("Write the size as width*height with a star, for example 1024*768 instead of \"1024x768\".",
			refusal(typed().size("1024x768")));
	}

	@Test
	void refusesASizeThatIsNotWidthTimesHeight() {
		assertEquals("The size \"large\" is not understood: write width*height in pixels, for example 1024*1024, or leave " +
			"it at 'as input'.", refusal(typed().size("large")));
	}

	@Test
	void refusesAnUnknownStagingRoute() {
		assertEquals("Unknown staging \"ftp\": choose auto, bucket, inline or provider_upload.",
			refusal(typed().staging("ftp")));
	}

	@Test
	void image3WithoutImage2IsRefusedInTheFrontEndsWords() throws EditException {
		EditSpecification.requireImage2ForImage3(true, true, "--image2", "--image3");
		EditSpecification.requireImage2ForImage3(true, false, "--image2", "--image3");
		EditSpecification.requireImage2ForImage3(false, false, "--image2", "--image3");
		EditException e = assertThrows(EditException.class,
			() -> EditSpecification.requireImage2ForImage3(false, true, "--image2", "--image3"));
		assertEquals(ErrorKind.INVALID_INPUT, e.kind());
		assertEquals("--image3 needs --image2 as well.", e.getMessage());
	}
}
