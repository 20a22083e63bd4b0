package io.github.qwenedit.staging;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.SAXException;
import org.xml.sax.helpers.DefaultHandler;

/** Reads S3's small XML replies (errors, listings) with the JDK's parser, entities and DTDs refused. */
final class S3Xml {

	private S3Xml() {}

	/** The document, or empty when the body is not XML (a proxy's HTML page, an empty 403). */
	static Optional<Document> parse(byte[] body) {
		if (body.length == 0) return Optional.empty();
		try {
			DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
			// A reply must never make us read files or other URLs (XXE).
			factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
			factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
			factory.setXIncludeAware(false);
			factory.setExpandEntityReferences(false);
			DocumentBuilder builder = factory.newDocumentBuilder();
			// The JDK's default handler prints to stderr; an unreadable reply is reported by its status instead.
			builder.setErrorHandler(new DefaultHandler());
			return Optional.of(builder.parse(new ByteArrayInputStream(body)));
		}
		catch (ParserConfigurationException | SAXException | IOException e) {
			return Optional.empty();
		}
	}

	/** The text of the first direct child of {@code parent} named {@code name}; empty if none. */
	static String text(Element parent, String name) {
		for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
			if (n instanceof Element && localName(n).equals(name)) return n.getTextContent().trim();
		}
		return "";
	}

	static List<Element> children(Element parent, String name) {
		List<Element> found = new ArrayList<>();
		for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
			if (n instanceof Element && localName(n).equals(name)) found.add((Element) n);
		}
		return found;
	}

	private static String localName(Node n) {
		String name = n.getNodeName();
		int colon = name.indexOf(':');
		return colon < 0 ? name : name.substring(colon + 1);
	}
}
