// A small ELF reader (ELF32/ELF64, either endianness): section headers, section bytes,
// .symtab with its names. Enough to take the flat image and the symbols out of what
// GNU ld / ld.lld produced, without objcopy or nm subprocesses.

export const SHT_SYMTAB = 2;
export const SHT_NOBITS = 8;
export const SHF_ALLOC = 0x2n;
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const STT_SECTION = 3;
export const STT_FILE = 4;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
  type: number;
  bind: number;
  shndx: number;
}

export interface ElfFile {
  bits: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  flags: number;
  sections: ElfSection[];
  symbols: ElfSymbol[];
  section(name: string): ElfSection | undefined;
  /** The section's bytes (zeros for SHT_NOBITS). */
  data(s: ElfSection): Uint8Array;
}

export class ElfFormatError extends Error {
  constructor(msg: string) {
    super(`malformed ELF: ${msg}`);
    this.name = 'ElfFormatError';
  }
}

export function readElf(buf: Uint8Array): ElfFile {
  if (buf.length < 52 || buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) {
    throw new ElfFormatError('no ELF magic');
  }
  const bits = buf[4] === 1 ? 32 : buf[4] === 2 ? 64 : undefined;
  const le = buf[5] === 1 ? true : buf[5] === 2 ? false : undefined;
  if (bits === undefined || le === undefined) throw new ElfFormatError(`bad class/data bytes ${buf[4]}/${buf[5]}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (off: number, n: number, what: string) => {
    if (off < 0 || off + n > buf.length) throw new ElfFormatError(`${what} at 0x${off.toString(16)} lies outside the file`);
  };
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const u64 = (o: number) => dv.getBigUint64(o, le);
  const word = (o: number) => (bits === 64 ? u64(o) : BigInt(u32(o)));
  const num = (v: bigint, what: string) => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfFormatError(`${what} too large`);
    return Number(v);
  };

  const machine = u16(18);
  const flags = u32(bits === 64 ? 48 : 36);
  const shoff = num(word(bits === 64 ? 40 : 32), 'e_shoff');
  const shentsize = u16(bits === 64 ? 58 : 46);
  let shnum = u16(bits === 64 ? 60 : 48);
  let shstrndx = u16(bits === 64 ? 62 : 50);
  const minEnt = bits === 64 ? 64 : 40;
  if (shoff !== 0 && shentsize < minEnt) throw new ElfFormatError(`e_shentsize ${shentsize}`);

  const readShdr = (i: number): ElfSection => {
    const o = shoff + i * shentsize;
    need(o, minEnt, `section header ${i}`);
    const s64 = bits === 64;
    return {
      index: i,
      name: String(u32(o)), // resolved below
      type: u32(o + 4),
      flags: s64 ? u64(o + 8) : BigInt(u32(o + 8)),
      addr: s64 ? u64(o + 16) : BigInt(u32(o + 12)),
      offset: num(s64 ? u64(o + 24) : BigInt(u32(o + 16)), 'sh_offset'),
      size: num(s64 ? u64(o + 32) : BigInt(u32(o + 20)), 'sh_size'),
      link: u32(s64 ? o + 40 : o + 24),
      info: u32(s64 ? o + 44 : o + 28),
      addralign: num(s64 ? u64(o + 48) : BigInt(u32(o + 32)), 'sh_addralign'),
      entsize: num(s64 ? u64(o + 56) : BigInt(u32(o + 36)), 'sh_entsize'),
    };
  };
  const sections: ElfSection[] = [];
  if (shoff !== 0) {
    // Extended numbering: the real counts live in section 0.
    const s0 = readShdr(0);
    if (shnum === 0) shnum = s0.size;
    if (shstrndx === 0xffff) shstrndx = s0.link;
    for (let i = 0; i < shnum; i++) sections.push(readShdr(i));
  }

  const data = (s: ElfSection): Uint8Array => {
    if (s.type === SHT_NOBITS) return new Uint8Array(s.size);
    need(s.offset, s.size, `section ${s.name}`);
    return buf.subarray(s.offset, s.offset + s.size);
  };
  const str = (table: Uint8Array, off: number): string => {
    if (off >= table.length) throw new ElfFormatError(`string offset ${off} outside its table`);
    let end = off;
    while (end < table.length && table[end] !== 0) end++;
    return new TextDecoder().decode(table.subarray(off, end));
  };

  const shstr = sections[shstrndx];
  const shstrData = shstr ? data(shstr) : new Uint8Array(1);
  for (const s of sections) s.name = str(shstrData, Number(s.name));

  const symbols: ElfSymbol[] = [];
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (symtab) {
    const strtab = sections[symtab.link];
    if (!strtab) throw new ElfFormatError('.symtab links to no string table');
    const names = data(strtab);
    const ent = bits === 64 ? 24 : 16;
    const symData = data(symtab);
    const base = symtab.offset;
    for (let i = 1; i * ent + ent <= symData.length; i++) {
      const o = base + i * ent;
      const info = bits === 64 ? buf[o + 4]! : buf[o + 12]!;
      symbols.push({
        name: str(names, u32(o)),
        value: bits === 64 ? u64(o + 8) : BigInt(u32(o + 4)),
        size: bits === 64 ? u64(o + 16) : BigInt(u32(o + 8)),
        type: info & 0xf,
        bind: info >> 4,
        shndx: bits === 64 ? u16(o + 6) : u16(o + 14),
      });
    }
  }

  return {
    bits,
    endian: le ? 'little' : 'big',
    machine,
    flags,
    sections,
    symbols,
    section: (name) => sections.find((s) => s.name === name),
    data,
  };
}
