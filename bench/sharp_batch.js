// The sharp peer for scripts/bench: decode each image (PNG, JPEG, TIFF) to raw pixels, apply the same 256-entry
// table (exact), encode a PNG with sharp's defaults. At most CONCURRENCY files at once.
// usage: node sharp_batch.js LUT.png IN_DIR OUT_DIR CONCURRENCY
const fs = require('fs');
const path = require('path');
const sharp = require('sharp');

async function main() {
  const [lutPath, inDir, outDir, concurrencyText] = process.argv.slice(2);
  const concurrency = Number(concurrencyText) || 2;
  sharp.concurrency(1);  // one libvips thread per image; files run in parallel instead
  const lut = await sharp(lutPath).extractChannel(0).raw().toBuffer();
  fs.mkdirSync(outDir, { recursive: true });
  const files = fs.readdirSync(inDir).filter((f) => /\.(png|jpg|tif)$/.test(f)).sort();
  let next = 0;
  async function worker() {
    while (next < files.length) {
      const name = files[next++];
      const { data, info } = await sharp(path.join(inDir, name)).raw().toBuffer({ resolveWithObject: true });
      const alpha = info.channels === 2 || info.channels === 4;
      for (let i = 0; i < data.length; i++) {
        if (!(alpha && i % info.channels === info.channels - 1)) data[i] = lut[data[i]];
      }
      await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
        .png()
        .toFile(path.join(outDir, name.replace(/\.[a-z]+$/, '.png')));
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
}

main().catch((e) => { console.error(e); process.exit(1); });
