// Addresses named the way a kernel oops names them: symbol+offset.

/** The closest symbol at or below `addr`, as `name+0xoff` (or the bare address when none); local .L labels do not count. */
export function symbolize(symbols: ReadonlyMap<string, bigint>, addr: bigint): string {
  let best: [string, bigint] | undefined;
  for (const [name, a] of symbols) {
    if (name.startsWith('.L')) continue;
    if (a <= addr && (!best || a > best[1] || (a === best[1] && name.startsWith('.') && !best[0].startsWith('.')))) best = [name, a];
  }
  return best ? `${best[0]}+0x${(addr - best[1]).toString(16)}` : `0x${addr.toString(16)}`;
}
