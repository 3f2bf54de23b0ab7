// Text escaping for the HTML report and its SVG plots (runtime/report). Everything that comes from
// a run log or sample record (run names, loss names, error messages, paths) goes through here
// before it is put into markup, so a hostile or odd string shows as text, never as markup.

const REPLACEMENTS: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for use in XML/HTML element content and in quoted attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => REPLACEMENTS[c]);
}
