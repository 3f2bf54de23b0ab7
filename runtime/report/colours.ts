// The report's colours (runtime/report): one list for plot series and category boxes, chosen to
// stay distinguishable for the common colour-vision deficiencies (the Okabe–Ito set, plus greys).

export const SERIES_COLOURS = [
  '#0072b2',
  '#d55e00',
  '#009e73',
  '#cc79a7',
  '#e69f00',
  '#56b4e9',
  '#000000',
  '#f0e442',
] as const;

/** The colour of the i-th series or category, wrapping around. */
export function seriesColour(index: number): string {
  return SERIES_COLOURS[index % SERIES_COLOURS.length];
}

/** Proposals that match nothing: dark, to show on the light stains of blood smears. */
export const UNMATCHED_COLOUR = '#222222';
/** Ground truth in the predictions panel. */
export const GROUND_TRUTH_COLOUR = '#ffffff';

/**
 * A colour per category name, the same in every plot and picture of a report: names sorted, then
 * numbered through SERIES_COLOURS; names already in `given` keep their colour.
 */
export function categoryColours(
  names: Iterable<string>,
  given: ReadonlyMap<string, string> = new Map(),
): Map<string, string> {
  const out = new Map(given);
  for (const name of [...new Set(names)].sort())
    if (!out.has(name)) out.set(name, seriesColour(out.size));
  return out;
}

/** The three COCO summary curves, in greys so the category colours stay distinct. */
export const SUMMARY_COLOURS = { AP: '#000000', AP50: '#666666', AP75: '#aaaaaa' } as const;
