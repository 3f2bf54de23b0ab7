// Loads chevrotain once for grammar/ (tokens → CST). The package's entry point is hundreds of small
// ESM modules (lodash-es included) that take 0.5–1 s to load on a cold start; the same release
// ships a single-file build beside it (lib/chevrotain.mjs) that loads in tens of milliseconds, so
// `alignc check` starts fast. We find that file from the package entry and fall back to the entry if
// the layout ever differs. Every value import of chevrotain goes through here, so token types and
// EOF are the same objects everywhere.

import type * as Chevrotain from 'chevrotain';

async function load(): Promise<typeof Chevrotain> {
  try {
    const entry = import.meta.resolve('chevrotain');
    return (await import(new URL('../chevrotain.mjs', entry).href)) as typeof Chevrotain;
  } catch {
    return await import('chevrotain');
  }
}

export const chevrotain: typeof Chevrotain = await load();
