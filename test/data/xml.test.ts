// The strict XML reader used for VOC annotations: what annotation files contain is read, anything
// malformed is rejected with its line and column.

import { describe, expect, test } from 'vitest';
import { childElement, childElements, parseXml, XmlSyntaxError } from '../../runtime/data/xml.js';

describe('parseXml', () => {
  test('elements, attributes, entities, CDATA, comments and the declaration', () => {
    const root = parseXml(
      '\ufeff<?xml version="1.0" encoding="utf-8"?>\n<!-- c -->\n<a x="1" y=\'&lt;2&gt;\'>\n' +
        '  <b>R&amp;D &#65;&#x42;</b><!-- inner -->\n  <b><![CDATA[<raw>]]></b>\n  <c/>\n</a>\n',
    );
    expect(root.name).toBe('a');
    expect(root.attributes.get('y')).toBe('<2>');
    expect(childElements(root, 'b').map((b) => b.text)).toEqual(['R&D AB', '<raw>']);
    expect(childElement(root, 'c')?.children).toEqual([]);
    expect(childElement(root, 'b')?.line).toBe(4);
  });

  const bad: [string, string, RegExp][] = [
    ['<a><b></a>', '1:7', /does not match <b>/],
    ['<a>\n<b>', '2:4', /end of file inside <b>/],
    ['<a>x & y</a>', '1:4', /bare "&"/],
    ['<a></a><b/>', '1:8', /content after the root/],
    ['text', '1:1', /expected the root/],
    ['<a x=1/>', '1:6', /quoted value/],
    ['<a>&nope;</a>', '1:4', /unknown entity/],
  ];
  for (const [source, where, reason] of bad) {
    test(`rejects ${JSON.stringify(source)} at ${where}`, () => {
      try {
        parseXml(source);
        throw new Error('parsed');
      } catch (error) {
        expect(error).toBeInstanceOf(XmlSyntaxError);
        const e = error as XmlSyntaxError;
        expect(`${e.line}:${e.column}`).toBe(where);
        expect(e.reason).toMatch(reason);
      }
    });
  }
});
