// A small PNG decoder for the screenshot test (node:zlib only): 8-bit greyscale, RGB, RGBA,
// grey+alpha or palette, not interlaced, which is what Chromium writes.

import { inflateSync } from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, rows top to bottom */
  rgba: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function decodePng(buf: Buffer): Image {
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG file (bad signature)');
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let palette: Buffer | undefined;
  let trns: Buffer | undefined;
  const idat: Buffer[] = [];
  while (pos + 8 <= buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    pos += 12 + len;
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8]!;
      colorType = data[9]!;
      if (data[12] !== 0) throw new Error('interlaced PNGs are not supported');
    } else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') trns = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
  }
  if (depth !== 8) throw new Error(`PNG bit depth ${depth} is not supported (only 8)`);
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (channels === undefined) throw new Error(`PNG colour type ${colorType} is not supported`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length < height * (stride + 1)) throw new Error('PNG image data is truncated');
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = px.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? px.subarray((y - 1) * stride, y * stride) : undefined;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? row[x - channels]! : 0;
      const b = prev ? prev[x]! : 0;
      const c = prev && x >= channels ? prev[x - channels]! : 0;
      let v = src[x]!;
      switch (filter) {
        case 0:
          break;
        case 1:
          v += a;
          break;
        case 2:
          v += b;
          break;
        case 3:
          v += (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`bad PNG filter type ${filter} in row ${y}`);
      }
      row[x] = v & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    let r: number, g: number, b: number, al = 255;
    if (colorType === 0) r = g = b = px[s]!;
    else if (colorType === 4) {
      r = g = b = px[s]!;
      al = px[s + 1]!;
    } else if (colorType === 3) {
      const idx = px[s]!;
      if (!palette) throw new Error('palette PNG without PLTE');
      r = palette[idx * 3]!;
      g = palette[idx * 3 + 1]!;
      b = palette[idx * 3 + 2]!;
      if (trns && idx < trns.length) al = trns[idx]!;
    } else {
      r = px[s]!;
      g = px[s + 1]!;
      b = px[s + 2]!;
      if (colorType === 6) al = px[s + 3]!;
    }
    rgba.set([r, g, b, al], i * 4);
  }
  return { width, height, rgba };
}

/** "#c6efce" -> [198, 239, 206] */
export function hexColor(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

export interface Region {
  count: number;
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** The pixels of one colour (each channel within `tolerance`): how many, and their bounding box. */
export function findColor(img: Image, rgb: [number, number, number], tolerance = 2): Region {
  const r: Region = { count: 0, left: Infinity, top: Infinity, right: -1, bottom: -1 };
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      if (Math.abs(img.rgba[i]! - rgb[0]) <= tolerance && Math.abs(img.rgba[i + 1]! - rgb[1]) <= tolerance && Math.abs(img.rgba[i + 2]! - rgb[2]) <= tolerance) {
        r.count++;
        if (x < r.left) r.left = x;
        if (x > r.right) r.right = x;
        if (y < r.top) r.top = y;
        if (y > r.bottom) r.bottom = y;
      }
    }
  return r;
}

/** Pixels inside `box` that are clearly darker than the background `rgb` (text drawn on it). */
export function darkPixelsIn(img: Image, box: Region, rgb: [number, number, number]): number {
  let n = 0;
  const bright = (rgb[0] + rgb[1] + rgb[2]) / 3;
  for (let y = box.top; y <= box.bottom; y++)
    for (let x = box.left; x <= box.right; x++) {
      const i = (y * img.width + x) * 4;
      const v = (img.rgba[i]! + img.rgba[i + 1]! + img.rgba[i + 2]!) / 3;
      if (v < bright - 80) n++;
    }
  return n;
}
