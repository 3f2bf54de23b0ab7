// A small, strict XML reader for dataset annotation files (Pascal VOC). Data side of the flow:
// annotation text → element tree → dataset samples. It handles what annotation files contain
// (elements, attributes, text, comments, the XML declaration, CDATA, the five predefined entities and
// numeric character references) and rejects anything malformed with the line and column, so a broken
// annotation is reported instead of being read as a wrong box. No DTDs, no namespaces.

export interface XmlElement {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** The concatenated character data directly inside this element (not in its children). */
  readonly text: string;
  /** 1-based line of the opening tag. */
  readonly line: number;
}

/** Thrown for malformed XML; `line`/`column` are 1-based. Callers turn it into a dataset warning. */
export class XmlSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${line}:${column}: ${reason}`);
    this.name = 'XmlSyntaxError';
  }
}

interface MutableElement {
  name: string;
  attributes: Map<string, string>;
  children: MutableElement[];
  text: string;
  line: number;
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Parses a whole document and returns its root element. */
export function parseXml(source: string): XmlElement {
  let pos = 0;

  const where = (at: number): [number, number] => {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < source.length; i++) {
      if (source.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    return [line, at - lineStart + 1];
  };
  const fail = (reason: string, at = pos): never => {
    const [line, column] = where(at);
    throw new XmlSyntaxError(reason, line, column);
  };
  const decode = (raw: string, at: number): string =>
    raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (match, body: string | undefined) => {
      if (body === undefined) return fail('a bare "&" (write &amp;)', at);
      if (body.startsWith('#x')) return String.fromCodePoint(parseInt(body.slice(2), 16));
      if (body.startsWith('#')) return String.fromCodePoint(parseInt(body.slice(1), 10));
      const value = ENTITIES[body];
      return value ?? fail(`unknown entity ${match}`, at);
    });
  const readName = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(source);
    if (m === null) return fail('expected a name');
    pos += m[0].length;
    return m[0];
  };
  const skipSpace = (): void => {
    while (pos < source.length && /\s/.test(source[pos])) pos++;
  };
  const skipUntil = (end: string, what: string): void => {
    const close = source.indexOf(end, pos);
    if (close < 0) fail(`unterminated ${what}`);
    pos = close + end.length;
  };
  const skipMisc = (): void => {
    for (;;) {
      skipSpace();
      if (source.startsWith('<?', pos)) skipUntil('?>', 'processing instruction');
      else if (source.startsWith('<!--', pos)) skipUntil('-->', 'comment');
      else if (source.startsWith('<!DOCTYPE', pos)) skipUntil('>', 'DOCTYPE');
      else return;
    }
  };

  if (source.charCodeAt(0) === 0xfeff) pos = 1;
  skipMisc();
  if (source[pos] !== '<') fail('expected the root element');

  const stack: MutableElement[] = [];
  let root: MutableElement | undefined;
  while (pos < source.length) {
    if (stack.length === 0 && root !== undefined) {
      skipMisc();
      if (pos < source.length) fail('content after the root element');
      break;
    }
    const current = stack[stack.length - 1];
    if (source.startsWith('<!--', pos)) {
      skipUntil('-->', 'comment');
    } else if (source.startsWith('<![CDATA[', pos)) {
      const start = pos + 9;
      skipUntil(']]>', 'CDATA section');
      if (current === undefined) fail('CDATA outside the root element', start);
      current.text += source.slice(start, pos - 3);
    } else if (source.startsWith('<?', pos)) {
      skipUntil('?>', 'processing instruction');
    } else if (source.startsWith('</', pos)) {
      const at = pos;
      pos += 2;
      const name = readName();
      skipSpace();
      if (source[pos] !== '>') fail(`expected ">" to close </${name}`);
      pos++;
      const open = stack.pop();
      if (open === undefined) fail(`closing tag </${name}> without an opening tag`, at);
      else if (open.name !== name) {
        fail(
          `closing tag </${name}> does not match <${open.name}> opened on line ${open.line}`,
          at,
        );
      }
    } else if (source[pos] === '<') {
      const at = pos;
      pos++;
      const element: MutableElement = {
        name: readName(),
        attributes: new Map(),
        children: [],
        text: '',
        line: where(at)[0],
      };
      for (;;) {
        skipSpace();
        if (source.startsWith('/>', pos) || source[pos] === '>') break;
        if (pos >= source.length) fail(`unterminated tag <${element.name}`, at);
        const attribute = readName();
        skipSpace();
        if (source[pos] !== '=') fail(`expected "=" after attribute ${attribute}`);
        pos++;
        skipSpace();
        const quote = source[pos];
        if (quote !== '"' && quote !== "'") fail(`expected a quoted value for ${attribute}`);
        const close = source.indexOf(quote, pos + 1);
        if (close < 0) fail(`unterminated value of ${attribute}`);
        element.attributes.set(attribute, decode(source.slice(pos + 1, close), pos));
        pos = close + 1;
      }
      if (current === undefined) {
        if (root !== undefined) fail('a second root element', at);
        root = element;
      } else {
        current.children.push(element);
      }
      if (source.startsWith('/>', pos)) {
        pos += 2;
      } else {
        pos++;
        stack.push(element);
      }
    } else {
      const next = source.indexOf('<', pos);
      const end = next < 0 ? source.length : next;
      const raw = source.slice(pos, end);
      if (current === undefined) fail('text outside the root element');
      else current.text += decode(raw, pos);
      pos = end;
    }
  }
  if (stack.length > 0) {
    const open = stack[stack.length - 1];
    fail(`end of file inside <${open.name}> opened on line ${open.line}`);
  }
  if (root === undefined) return fail('no root element');
  return root;
}

/** The first child element with this name, if any. */
export function childElement(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((child) => child.name === name);
}

/** All child elements with this name, in document order. */
export function childElements(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}
