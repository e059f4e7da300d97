// The thumbnail pipeline of make bench's section 1, driven by sharp: square, centre-cropped
// WebP variants, the largest from the original (sharp shrinks JPEGs on load), each smaller one
// from the largest, at the project's quality and libwebp effort. libvips' cache is off.
//
// Protocol (one JSON object a line on stdin, one answer a line on stdout):
//   {"input": PATH, "sizes": [512, 256, 128, 64], "quality": 80, "effort": 4}
//       -> {"ms": wall time of the whole set, "bytes": {size: bytes}}
//   {} -> {"ready": true} (sharp is loaded)
// Started with THREADS in the environment, libvips uses that many threads (default: cores).
"use strict";

const fs = require("fs");
const readline = require("readline");
const sharp = require("sharp");

sharp.cache(false);
if (process.env.THREADS) sharp.concurrency(Number(process.env.THREADS));

async function variants(job) {
  const data = fs.readFileSync(job.input);
  const sizes = [...job.sizes].sort((a, b) => b - a);
  const webp = { quality: job.quality, effort: job.effort };
  const began = process.hrtime.bigint();
  const largest = await sharp(data)
    .resize(sizes[0], sizes[0], { fit: "cover", position: "centre", withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { raw: largest.info };
  const bytes = {};
  for (const size of sizes) {
    let image = sharp(largest.data, raw);
    if (size < largest.info.width) image = image.resize(size, size, { fit: "cover" });
    bytes[size] = (await image.webp(webp).toBuffer()).length;
  }
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  return { ms, bytes };
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const job = JSON.parse(line);
    const answer = job.input ? await variants(job) : { ready: true };
    process.stdout.write(JSON.stringify(answer) + "\n");
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
