/** One data row of a delimited file, keyed by header name, and its 1-based line. */
export interface DelimitedRow {
  readonly line: number;
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * Parse CSV or TSV text the way pandas' `read_csv`/`read_table` does for the
 * benchmark files: a header row, `"` quoting with `""` escapes, quoted fields
 * may span lines. Returns the header and the rows (line = where the row starts).
 */
export function parseDelimited(text: string, delimiter: ',' | '\t'): { header: string[]; rows: DelimitedRow[] } {
  const records: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let atCellStart = true;
  let line = 1;
  let rowLine = 1;
  const source = text.replace(/^\ufeff/, '');
  for (let i = 0; i < source.length; i += 1) {
    const ch = source[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (source[i + 1] === '"') {
          cell += '"';
          i += 1;
        } else {
          quoted = false;
        }
      } else {
        if (ch === '\n') line += 1;
        cell += ch;
      }
      continue;
    }
    if (ch === '"' && atCellStart) {
      quoted = true;
      atCellStart = false;
    } else if (ch === delimiter) {
      cells.push(cell);
      cell = '';
      atCellStart = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && source[i + 1] === '\n') i += 1;
      cells.push(cell);
      if (!(cells.length === 1 && cells[0] === '')) records.push({ line: rowLine, cells });
      cells = [];
      cell = '';
      atCellStart = true;
      line += 1;
      rowLine = line;
    } else {
      cell += ch;
      atCellStart = false;
    }
  }
  if (cell !== '' || cells.length > 0) {
    cells.push(cell);
    records.push({ line: rowLine, cells });
  }
  const [head, ...body] = records;
  const header = head?.cells ?? [];
  const rows = body.map(({ line: rowStart, cells: values }) => {
    const fields: Record<string, string> = {};
    header.forEach((name, index) => {
      fields[name] = values[index] ?? '';
    });
    return { line: rowStart, fields };
  });
  return { header, rows };
}

/** Quote one field for CSV/TSV output (only when needed, like Python's csv module). */
export function quoteDelimitedField(value: string, delimiter: ',' | '\t'): string {
  return /["\n\r]/.test(value) || value.includes(delimiter) ? `"${value.replaceAll('"', '""')}"` : value;
}
