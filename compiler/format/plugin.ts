// The Prettier plugin for `.align` files: a parser (grammar/parse → AST) and the printer in
// printer.ts. `alignc fmt` uses it through format.ts; editors and `prettier --plugin` can load it
// directly.

import type { Parser, Plugin, SupportLanguage } from 'prettier';
import type * as A from '../../grammar/ast.js';
import { parseSource } from '../../grammar/parse.js';
import { DiagnosticsError } from '../diagnostics.js';
import { alignPrinter } from './printer.js';

type Node = A.AstNode | A.Comment;

const languages: SupportLanguage[] = [
  { name: 'align', parsers: ['align'], extensions: ['.align'], vscodeLanguageIds: ['align'] },
];

const alignParser: Parser<Node> = {
  astFormat: 'align-ast',
  parse(text: string, options): Node {
    const file = options.filepath ?? '<input>';
    const result = parseSource(text, file);
    if (!result.module)
      throw new DiagnosticsError(result.diagnostics, (f) => (f === file ? text : undefined));
    // Prettier takes ownership of `comments` (it deletes and re-attaches them); hand it a copy.
    return { ...result.module, comments: [...result.module.comments] };
  },
  locStart: (node: Node) => node.span.start.offset,
  locEnd: (node: Node) => node.span.end.offset,
};

export const alignPlugin: Plugin<Node> = {
  languages,
  parsers: { align: alignParser },
  printers: { 'align-ast': alignPrinter },
};
