// A minimal baseline-TIFF encoder for float32 rasters (little-endian, one IFD, band-sequential strips,
// Deflate with the floating-point predictor), enough for GeoTIFF exports.
//
// Why not geotiff.js's writeArrayBuffer: as of geotiff 3.0.5 it (1) reserves a fixed 1000 bytes for the
// IFD and its out-of-line values and silently drops anything beyond, (2) has no type table for the
// user-defined projection geokeys (ProjCoordTransGeoKey, ProjNatOriginLatGeoKey, ...) and skips them with
// a console warning, so a proj4-only CRS such as the project's local transverse Mercator cannot be
// described, (3) cannot write GDAL_METADATA (band names, units), and (4) encodes each sample through a
// fresh DataView (slow for 1024²×2 floats) without compression. The format is small; we write it here and
// read it back with GDAL and geotiff.js in the tests.

import { zlibSync } from 'fflate';

export const TIFF_TYPE = { BYTE: 1, ASCII: 2, SHORT: 3, LONG: 4, DOUBLE: 12 } as const;
type TypeName = keyof typeof TIFF_TYPE;
const TYPE_SIZE: Record<TypeName, number> = { BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, DOUBLE: 8 };

export interface TiffTag {
  tag: number;
  type: TypeName;
  /** Numbers for numeric types, a string for ASCII (NUL added here). */
  values: number[] | string;
}

export interface Float32TiffInput {
  width: number;
  height: number;
  /** One Float32Array (row-major, width*height) per band. */
  bands: Float32Array[];
  /** Extra tags (geokeys, GDAL metadata, ...). Image-structure tags are set here. */
  tags: TiffTag[];
  /** Deflate + floating-point predictor (default true). */
  compress?: boolean;
}

const TAG = {
  ImageWidth: 256, ImageLength: 257, BitsPerSample: 258, Compression: 259, Photometric: 262,
  StripOffsets: 273, SamplesPerPixel: 277, RowsPerStrip: 278, StripByteCounts: 279,
  PlanarConfiguration: 284, Software: 305, Predictor: 317, ExtraSamples: 338, SampleFormat: 339,
} as const;

/**
 * TIFF floating-point predictor (Adobe Photoshop TIFF Technical Note 3): per row, the bytes of each sample
 * are split into planes most-significant first, then each byte is replaced by its difference to the
 * previous byte in the row. Smooth fields compress several times better than raw floats.
 */
function predictRow(src: Float32Array, from: number, width: number, out: Uint8Array, at: number): void {
  const bytes = new Uint8Array(src.buffer, src.byteOffset + from * 4, width * 4);
  const le = isLittleEndianHost;
  for (let i = 0; i < width; i++) {
    for (let b = 0; b < 4; b++) {
      // byte plane b holds the b-th most significant byte of every sample
      out[at + b * width + i] = bytes[i * 4 + (le ? 3 - b : b)];
    }
  }
  for (let i = width * 4 - 1; i > 0; i--) out[at + i] = (out[at + i] - out[at + i - 1]) & 0xff;
}

const isLittleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function rawRows(src: Float32Array, from: number, count: number): Uint8Array {
  // little-endian file: copy the bytes on a little-endian host, swap on a big-endian one
  const out = new Uint8Array(count * 4);
  const view = new DataView(out.buffer);
  if (isLittleEndianHost) out.set(new Uint8Array(src.buffer, src.byteOffset + from * 4, count * 4));
  else for (let i = 0; i < count; i++) view.setFloat32(i * 4, src[from + i], true);
  return out;
}

export function encodeFloat32Tiff(input: Float32TiffInput): Uint8Array {
  const { width, height, bands } = input;
  const compress = input.compress ?? true;
  if (bands.length === 0) throw new Error('encodeFloat32Tiff: no band');
  for (const b of bands) if (b.length !== width * height) throw new Error('encodeFloat32Tiff: band length differs from width*height');

  // strips of about 64 KiB of raw data
  const rowsPerStrip = Math.max(1, Math.min(height, Math.floor(65536 / (width * 4))));
  const stripsPerBand = Math.ceil(height / rowsPerStrip);
  const strips: Uint8Array[] = [];
  for (const band of bands) {
    for (let s = 0; s < stripsPerBand; s++) {
      const r0 = s * rowsPerStrip;
      const rows = Math.min(rowsPerStrip, height - r0);
      if (!compress) {
        strips.push(rawRows(band, r0 * width, rows * width));
        continue;
      }
      const pred = new Uint8Array(rows * width * 4);
      for (let r = 0; r < rows; r++) predictRow(band, (r0 + r) * width, width, pred, r * width * 4);
      strips.push(zlibSync(pred, { level: 6 }));
    }
  }

  const n = bands.length;
  const structural: TiffTag[] = [
    { tag: TAG.ImageWidth, type: 'LONG', values: [width] },
    { tag: TAG.ImageLength, type: 'LONG', values: [height] },
    { tag: TAG.BitsPerSample, type: 'SHORT', values: new Array(n).fill(32) },
    { tag: TAG.Compression, type: 'SHORT', values: [compress ? 8 : 1] },
    { tag: TAG.Photometric, type: 'SHORT', values: [1] }, // BlackIsZero
    { tag: TAG.StripOffsets, type: 'LONG', values: new Array(strips.length).fill(0) },
    { tag: TAG.SamplesPerPixel, type: 'SHORT', values: [n] },
    { tag: TAG.RowsPerStrip, type: 'LONG', values: [rowsPerStrip] },
    { tag: TAG.StripByteCounts, type: 'LONG', values: strips.map((s) => s.length) },
    { tag: TAG.PlanarConfiguration, type: 'SHORT', values: [2] }, // one plane per band
    { tag: TAG.Software, type: 'ASCII', values: 'emfmap' },
    { tag: TAG.SampleFormat, type: 'SHORT', values: new Array(n).fill(3) }, // IEEE float
  ];
  if (compress) structural.push({ tag: TAG.Predictor, type: 'SHORT', values: [3] });
  if (n > 1) structural.push({ tag: TAG.ExtraSamples, type: 'SHORT', values: new Array(n - 1).fill(0) });
  const tags = [...structural, ...input.tags].sort((a, b) => a.tag - b.tag);
  for (let i = 1; i < tags.length; i++) if (tags[i].tag === tags[i - 1].tag) throw new Error(`encodeFloat32Tiff: tag ${tags[i].tag} given twice`);

  // layout: header | IFD | out-of-line values | strips
  const valueBytes = (t: TiffTag) => (t.type === 'ASCII' ? (t.values as string).length + 1 : (t.values as number[]).length * TYPE_SIZE[t.type]);
  const ifdOffset = 8;
  const ifdSize = 2 + tags.length * 12 + 4;
  let extra = ifdOffset + ifdSize;
  const extraOffsets = new Map<number, number>();
  for (const t of tags) {
    const size = valueBytes(t);
    if (size > 4) {
      extraOffsets.set(t.tag, extra);
      extra += size + (size & 1); // word alignment
    }
  }
  let pos = extra;
  const offsets = strips.map((s) => {
    const o = pos;
    pos += s.length;
    return o;
  });
  tags.find((t) => t.tag === TAG.StripOffsets)!.values = offsets;
  if (pos > 0xffffffff) throw new Error('encodeFloat32Tiff: file over 4 GiB needs BigTIFF');

  const out = new Uint8Array(pos);
  const dv = new DataView(out.buffer);
  out[0] = 0x49; out[1] = 0x49; // "II": little-endian
  dv.setUint16(2, 42, true);
  dv.setUint32(4, ifdOffset, true);
  dv.setUint16(ifdOffset, tags.length, true);
  const writeValues = (t: TiffTag, at: number) => {
    if (t.type === 'ASCII') {
      const s = t.values as string;
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) throw new Error('encodeFloat32Tiff: ASCII tags must be 7-bit');
        out[at + i] = c;
      }
      out[at + s.length] = 0;
      return;
    }
    const v = t.values as number[];
    for (let i = 0; i < v.length; i++) {
      if (t.type === 'BYTE') out[at + i] = v[i];
      else if (t.type === 'SHORT') dv.setUint16(at + 2 * i, v[i], true);
      else if (t.type === 'LONG') dv.setUint32(at + 4 * i, v[i], true);
      else dv.setFloat64(at + 8 * i, v[i], true);
    }
  };
  tags.forEach((t, i) => {
    const e = ifdOffset + 2 + i * 12;
    dv.setUint16(e, t.tag, true);
    dv.setUint16(e + 2, TIFF_TYPE[t.type], true);
    dv.setUint32(e + 4, t.type === 'ASCII' ? (t.values as string).length + 1 : (t.values as number[]).length, true);
    const off = extraOffsets.get(t.tag);
    if (off !== undefined) {
      dv.setUint32(e + 8, off, true);
      writeValues(t, off);
    } else {
      writeValues(t, e + 8);
    }
  });
  dv.setUint32(ifdOffset + 2 + tags.length * 12, 0, true); // no next IFD
  strips.forEach((s, i) => out.set(s, offsets[i]));
  return out;
}
