// The sharp peer for scripts/bench, doing the work with sharp's own operations: each step of
// the chain is one `linear` (a * v + b) in a pipeline of its own, cast back to 8 bits between
// steps through a raw buffer, as bild truncates and clamps after every step (libvips's cast
// from float to uchar truncates and clamps too). The last pipeline writes a PNG with sharp's
// defaults, or FORMAT with the options scripts/bench --formats compares. At most CONCURRENCY
// files at once, one libvips thread each.
// usage: node sharp_batch.js STEPS IN_DIR OUT_DIR CONCURRENCY [FORMAT]
//   FORMAT: png (default), tiff (Deflate, horizontal predictor), jpeg (quality 90), webp
//   (quality 90), webp-lossless
//   STEPS: 'a,b;a,b;...' e.g. '1.25,0;1.25,-31.875' for brightness=0.25,contrast=0.25
const fs = require('fs');
const path = require('path');
const sharp = require('sharp');

async function main() {
  const [stepsText, inDir, outDir, concurrencyText] = process.argv.slice(2);
  const steps = stepsText.split(';').map((s) => s.split(',').map(Number));
  const concurrency = Number(concurrencyText) || 2;
  const format = process.argv[6] || 'png';
  const save = {
    png: (p) => p.png(),
    tiff: (p) => p.tiff({ compression: 'deflate', predictor: 'horizontal' }),
    jpeg: (p) => p.jpeg({ quality: 90 }),
    webp: (p) => p.webp({ quality: 90 }),
    'webp-lossless': (p) => p.webp({ lossless: true }),
  }[format];
  const extension = { png: '.png', tiff: '.tif', jpeg: '.jpg', webp: '.webp', 'webp-lossless': '.webp' }[format];
  sharp.concurrency(1);
  fs.mkdirSync(outDir, { recursive: true });
  const files = fs.readdirSync(inDir).filter((f) => /\.(png|jpg|tif)$/.test(f)).sort();
  let next = 0;
  async function worker() {
    while (next < files.length) {
      const name = files[next++];
      let input = path.join(inDir, name), raw;
      // Gray stays gray (sharp would otherwise convert to sRGB and write three channels).
      const { channels } = await sharp(input).metadata();
      for (let k = 0; k < steps.length; k++) {
        const [a, b] = steps[k];
        const image = raw ? sharp(raw.data, { raw: raw.info }) : sharp(input);
        let adjusted = image.linear(a, b);
        if (channels <= 2) adjusted = adjusted.toColourspace('b-w');
        if (k + 1 < steps.length) {
          raw = await adjusted.raw().toBuffer({ resolveWithObject: true });
          raw.info = { width: raw.info.width, height: raw.info.height, channels: raw.info.channels };
        } else {
          await save(adjusted).toFile(path.join(outDir, name.replace(/\.[a-z]+$/, extension)));
        }
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
}

main().catch((e) => { console.error(e); process.exit(1); });
