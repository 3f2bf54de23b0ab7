// Writes plots as files for the docs (runtime/report: plots → `alignc report --plots DIR`, and the
// reproduction script's figures): each plot as NAME.svg (the same markup the HTML report inlines)
// and NAME.png rasterised from it by sharp (librsvg) at twice the SVG's size, for places that do not
// show SVG.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { FileError } from '../errors.js';

export interface PlotFile {
  readonly id: string;
  readonly svg: string;
}

/** Rasterises SVG text to PNG bytes; `scale` 2 gives a sharp image on high-density screens. */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const buffer = await sharp(Buffer.from(svg), { density: 72 * scale })
    .png()
    .toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Writes `id.svg` and `id.png` for every plot into `dir`; returns the paths written. */
export async function writePlotFiles(dir: string, plots: readonly PlotFile[]): Promise<string[]> {
  const written: string[] = [];
  try {
    mkdirSync(dir, { recursive: true });
    for (const p of plots) {
      const svgPath = join(dir, `${p.id}.svg`);
      const pngPath = join(dir, `${p.id}.png`);
      writeFileSync(svgPath, p.svg + '\n');
      writeFileSync(pngPath, await svgToPng(p.svg));
      written.push(svgPath, pngPath);
    }
  } catch (error) {
    if (error instanceof Error && 'code' in error)
      throw new FileError(`cannot write plots into '${dir}': ${error.message}`, { cause: error });
    throw error;
  }
  return written;
}
