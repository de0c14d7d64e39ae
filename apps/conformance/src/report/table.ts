// Plain-text table layout shared by the reporters.

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** Indents every line after the first by `pad`. */
export function indentRest(text: string, pad: string): string {
  return text.replace(/\r?\n/g, '\n' + pad);
}
