// One official JavaScript client doing the benchmark's edit against the project's emulators, one edit
// per "run" line on stdin, one JSON line of monotonic timestamps (process.hrtime, the clock Java's
// System.nanoTime reads on Linux) per edit on stdout. Started by PeerBenchmarks; not a test.
//
//   node peer.mjs <fal|replicate> <emulator base URL> <key> <input image URL> <settings as JSON>
import { createInterface } from "node:readline";
import { createFalClient } from "@fal-ai/client";
import Replicate from "replicate";

const [client, base, key, imageUrl, settingsJson] = process.argv.slice(2);
const settings = JSON.parse(settingsJson || "{}");
const now = () => process.hrtime.bigint().toString();

function falEdit() {
  // The client builds https://queue.fal.run/... for submit, status, stream and result: all go to the emulator.
  const fal = createFalClient({
    credentials: key,
    requestMiddleware: async (request) => ({ ...request, url: request.url.replace("https://queue.fal.run", base) }),
  });
  return async () => {
    const result = await fal.subscribe("fal-ai/qwen-image-2/edit", {
      input: { prompt: "remove the scale bar", image_urls: [imageUrl], num_images: 1, output_format: "png" },
      ...settings,
    });
    return result.data.images[0].url;
  };
}

function replicateEdit() {
  const replicate = new Replicate({ auth: key, baseUrl: `${base}/v1` });
  return async () => {
    const output = await replicate.run("qwen/qwen-image-edit-plus", {
      input: { prompt: "remove the scale bar", image: [imageUrl], aspect_ratio: "match_input_image", output_format: "png" },
      ...settings,
    });
    return String(Array.isArray(output) ? output[0] : output);
  };
}

const edit = client === "fal" ? falEdit() : replicateEdit();
const lines = createInterface({ input: process.stdin });
console.log(JSON.stringify({ ready: true, now: now() }));
for await (const line of lines) {
  if (line.trim() !== "run") break;
  try {
    const start = now();
    const url = await edit();
    const result = now();
    const bytes = (await (await fetch(url)).arrayBuffer()).byteLength;
    console.log(JSON.stringify({ start, result, end: now(), bytes }));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
  }
}
process.exit(0);
