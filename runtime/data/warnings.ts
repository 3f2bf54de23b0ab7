// Counted warnings for bad data (data side of the flow: files → datasets → views → batches). A bad
// item (corrupt image, missing or malformed annotation, zero-area box, …) is skipped, never crashes
// the run and never becomes a silently wrong box: the first item of each kind is reported with what
// and where, later ones of the same kind are only counted, and `summary()` gives one line per kind.

export const DataWarningKinds = [
  'corrupt-image',
  'missing-image',
  'missing-annotation',
  'malformed-annotation',
  'zero-area-box',
  'box-outside-image',
  'box-clipped',
  'unknown-category',
  'size-mismatch',
] as const;
export type DataWarningKind = (typeof DataWarningKinds)[number];

/** What happened to the item, for the message: skipped, or kept after a change. */
function action(kind: DataWarningKind): string {
  switch (kind) {
    case 'corrupt-image':
    case 'missing-image':
    case 'missing-annotation':
    case 'malformed-annotation':
      return 'skipped the image';
    case 'zero-area-box':
    case 'box-outside-image':
    case 'unknown-category':
      return 'skipped the box';
    case 'box-clipped':
      return 'clipped the box to the image';
    case 'size-mismatch':
      return 'used the decoded image size';
    default:
      return kind satisfies never;
  }
}

export interface DataWarningEntry {
  readonly kind: DataWarningKind;
  readonly count: number;
  /** The first item of this kind (file, box index) and what was wrong with it. */
  readonly first: string;
}

/** Receives each kind's first warning line as it happens. */
export type WarningSink = (line: string) => void;

export const stderrSink: WarningSink = (line) => {
  process.stderr.write(`${line}\n`);
};

export class DataWarnings {
  private readonly entries = new Map<DataWarningKind, { count: number; first: string }>();

  constructor(private readonly sink: WarningSink = stderrSink) {}

  /** Records one bad item; prints it only if it is the first of its kind. */
  add(kind: DataWarningKind, item: string, detail: string): void {
    const entry = this.entries.get(kind);
    if (entry !== undefined) {
      entry.count++;
      return;
    }
    const first = `${item}: ${detail}`;
    this.entries.set(kind, { count: 1, first });
    this.sink(`warning[${kind}]: ${first}; ${action(kind)} (further ones are counted)`);
  }

  count(kind: DataWarningKind): number {
    return this.entries.get(kind)?.count ?? 0;
  }

  get total(): number {
    let n = 0;
    for (const entry of this.entries.values()) n += entry.count;
    return n;
  }

  list(): DataWarningEntry[] {
    return DataWarningKinds.flatMap((kind) => {
      const entry = this.entries.get(kind);
      return entry === undefined ? [] : [{ kind, count: entry.count, first: entry.first }];
    });
  }

  /** One line per kind, e.g. `zero-area-box: 2 (first: a.xml object 4: …)`. */
  summary(): string[] {
    return this.list().map((e) => `${e.kind}: ${e.count} (first: ${e.first}; ${action(e.kind)})`);
  }
}

/** Where a reader reports bad items: a `DataWarnings` or a per-item `WarningBuffer`. */
export type WarningRecorder = Pick<DataWarnings, 'add'>;

/**
 * Holds one item's warnings while items are read concurrently, so they can be replayed in item
 * order: which file is printed as the first of its kind must not depend on I/O timing.
 */
export class WarningBuffer implements WarningRecorder {
  private readonly held: [DataWarningKind, string, string][] = [];

  add(kind: DataWarningKind, item: string, detail: string): void {
    this.held.push([kind, item, detail]);
  }

  replayInto(warnings: DataWarnings): void {
    for (const [kind, item, detail] of this.held) warnings.add(kind, item, detail);
  }
}

/** Runs `read` over `items` at most `width` at a time; warnings reach `warnings` in item order. */
export async function readInOrder<T, R>(
  items: readonly T[],
  warnings: DataWarnings,
  read: (item: T, warnings: WarningRecorder) => Promise<R>,
  width = 16,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    const part = items.slice(i, i + width).map(async (item) => {
      const buffer = new WarningBuffer();
      return { buffer, result: await read(item, buffer) };
    });
    for (const { buffer, result } of await Promise.all(part)) {
      buffer.replayInto(warnings);
      results.push(result);
    }
  }
  return results;
}
