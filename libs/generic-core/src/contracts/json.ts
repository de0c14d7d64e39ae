// A strict JSON reader for hand-written descriptors: JSON.parse's grammar, plus what it lets
// through silently (a key written twice keeps the last value) reported as an error, and
// every error located as line:column.

export class JsonError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${line}:${column}: ${detail}`);
    this.name = 'JsonError';
  }
}

/** Where each object key was written: "a.b[2].c" -> line:column. */
export type KeyPositions = Map<string, { line: number; column: number }>;

export function parseStrictJson(text: string): { value: unknown; positions: KeyPositions } {
  let i = 0;
  const positions: KeyPositions = new Map();
  const at = (pos: number) => {
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    return { line, column: pos - (before.lastIndexOf('\n') + 1) + 1 };
  };
  const fail = (detail: string, pos = i): never => {
    const { line, column } = at(pos);
    throw new JsonError(line, column, detail);
  };
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const join = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

  function str(): string {
    const start = i;
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e === 'u') {
          const h = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(h, 16));
          i += 6;
        } else if (e !== undefined && map[e] !== undefined) {
          out += map[e];
          i += 2;
        } else fail(`bad escape \\${e ?? ''}`);
        continue;
      }
      if (c < ' ') fail('control character in string');
      out += c;
      i++;
    }
  }

  function value(path: string): unknown {
    ws();
    const c = text[i];
    if (c === undefined) fail('unexpected end of input');
    if (c === '{') {
      i++;
      const o: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const kpos = i;
        const k = str();
        const kpath = join(path, k);
        if (Object.prototype.hasOwnProperty.call(o, k)) {
          const first = positions.get(kpath);
          fail(`key "${kpath}" is written twice (first at ${first ? `${first.line}:${first.column}` : 'an earlier line'}); JSON keeps only the last`, kpos);
        }
        positions.set(kpath, at(kpos));
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        o[k] = value(kpath);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return o;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value(join(path, a.length)));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return a;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (m) {
      i += m[0].length;
      return Number(m[0]);
    }
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    return fail(`unexpected ${JSON.stringify(c)}`);
  }

  const v = value('');
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return { value: v, positions };
}
