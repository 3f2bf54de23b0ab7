// Renders one drawn sample into PNG panels (runtime/report: images/*.json + the image file →
// pictures in the HTML report). The image is decoded with runtime/data/image.ts, shrunk to the
// report's width, and three copies get boxes drawn: ground truth with every proposal, the matched
// proposals in the colour of the ground truth they match, and the predictions over the ground
// truth. Panels are palette PNGs (about a third of a full-colour PNG for BCCD-like images).

import { isAbsolute, join } from 'node:path';
import sharp from 'sharp';
import { decodeImage, type RgbImage } from '../data/image.js';
import { drawOutline, rgbOfHex } from './draw-boxes.js';
import { categoryColours, GROUND_TRUTH_COLOUR, UNMATCHED_COLOUR } from './colours.js';
import type { Box, SampleRecord } from './sample-record.js';

export interface SamplePanel {
  readonly title: string;
  readonly png: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface RenderedSample {
  readonly record: SampleRecord;
  /** The image file as resolved against the run directory. */
  readonly imagePath: string;
  readonly originalWidth: number;
  readonly originalHeight: number;
  readonly panels: readonly SamplePanel[];
  /** Predictions at or above this score are drawn. */
  readonly scoreThreshold: number;
}

export interface RenderOptions {
  /** Panels wider than this are shrunk (boxes scaled with them). Default 368: three to a row. */
  readonly maxWidth?: number;
  readonly scoreThreshold?: number;
  /** Category name → colour; names not in it get the next free series colour. */
  readonly categoryColours?: ReadonlyMap<string, string>;
}

async function shrink(image: RgbImage, maxWidth: number): Promise<RgbImage> {
  if (image.width <= maxWidth) return image;
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .resize({ width: maxWidth })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

async function encodePalettePng(image: RgbImage): Promise<Uint8Array> {
  const buffer = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png({ palette: true })
    .toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export async function renderSample(
  record: SampleRecord,
  runDir: string,
  options: RenderOptions = {},
): Promise<RenderedSample> {
  const imagePath = isAbsolute(record.image) ? record.image : join(runDir, record.image);
  const original = await decodeImage(imagePath);
  const base = await shrink(original, options.maxWidth ?? 368);
  const sx = base.width / original.width;
  const sy = base.height / original.height;
  const scaled = (b: Box): Box => [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy];
  const threshold = options.scoreThreshold ?? 0.3;
  const colours = categoryColours(
    [...record.groundTruth.map((g) => g.label), ...record.predictions.map((p) => p.label)],
    options.categoryColours,
  );
  const colourOf = (label: string) => rgbOfHex(colours.get(label) ?? UNMATCHED_COLOUR);
  const copy = (): RgbImage => ({ ...base, data: new Uint8Array(base.data) });

  const proposalsPanel = copy();
  for (const p of record.proposals)
    drawOutline(proposalsPanel, scaled(p.box), {
      colour: rgbOfHex(UNMATCHED_COLOUR),
      thickness: 1,
      dash: [4, 3],
    });
  for (const g of record.groundTruth)
    drawOutline(proposalsPanel, scaled(g.box), { colour: colourOf(g.label), thickness: 3 });

  const matchesPanel = copy();
  for (const g of record.groundTruth)
    drawOutline(matchesPanel, scaled(g.box), { colour: colourOf(g.label), thickness: 3 });
  for (const m of record.matches)
    drawOutline(matchesPanel, scaled(record.proposals[m.proposal].box), {
      colour: colourOf(record.groundTruth[m.groundTruth].label),
      thickness: 1,
    });

  const predictionsPanel = copy();
  for (const g of record.groundTruth)
    drawOutline(predictionsPanel, scaled(g.box), {
      colour: rgbOfHex(GROUND_TRUTH_COLOUR),
      thickness: 2,
      dash: [6, 4],
    });
  // Lowest score first, so the most confident boxes end up on top.
  const shown = record.predictions
    .filter((p) => p.score >= threshold)
    .sort((a, b) => a.score - b.score);
  for (const p of shown)
    drawOutline(predictionsPanel, scaled(p.box), { colour: colourOf(p.label), thickness: 2 });

  const panel = async (title: string, image: RgbImage): Promise<SamplePanel> => ({
    title,
    png: await encodePalettePng(image),
    width: image.width,
    height: image.height,
  });
  return {
    record,
    imagePath,
    originalWidth: original.width,
    originalHeight: original.height,
    scoreThreshold: threshold,
    panels: [
      await panel(
        `ground truth (solid) and ${record.proposals.length} proposals (dark, dashed)`,
        proposalsPanel,
      ),
      await panel(
        `${record.matches.length} matched proposals, coloured by their ground truth`,
        matchesPanel,
      ),
      await panel(
        `${shown.length} predictions with score ≥ ${threshold} over ground truth (white, dashed)`,
        predictionsPanel,
      ),
    ],
  };
}
