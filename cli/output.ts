/** Where commands write: people get tables, scripts get JSON (`--json`). */
export interface Output {
  json: boolean;
  write(text: string): void;
}

/** Prints `value` as JSON, or `rows` as an aligned table of the given columns. */
export function printRows(out: Output, value: unknown, rows: Record<string, unknown>[], columns: string[]): void {
  if (out.json) {
    out.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    out.write('(none)\n');
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  const line = (values: string[]) => values.map((v, i) => v.slice(0, widths[i]).padEnd(widths[i]!)).join('  ').trimEnd();
  out.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of rows) out.write(`${line(columns.map((c) => cell(row[c])))}\n`);
}

/** Prints one object: JSON for scripts, `key: value` lines for people. */
export function printObject(out: Output, value: Record<string, unknown>): void {
  if (out.json) {
    out.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(value).map((k) => k.length));
  for (const [key, v] of Object.entries(value)) {
    out.write(`${key.padEnd(width)}  ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? '')}\n`);
  }
}
