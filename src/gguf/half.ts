// Conversions between f32 and the two 16-bit float formats GGUF stores (IEEE half and bfloat16).
// Both directions round to nearest, ties to even, as ggml does, so a written model loads in
// llama.cpp with exactly the values a reader here reports.

/** Bits of the IEEE half nearest to `x` (ties to even; overflow -> infinity; NaN stays NaN). */
export function f32ToF16Bits(x: number): number {
  F32_SCRATCH[0] = x;
  return f32BitsToF16Bits(U32_SCRATCH[0]);
}

/** The value of IEEE half `bits`. */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Bits of the bfloat16 nearest to `x` (ties to even; NaN stays a quiet NaN). */
export function f32ToBf16Bits(x: number): number {
  F32_SCRATCH[0] = x;
  return f32BitsToBf16Bits(U32_SCRATCH[0]);
}

/** The value of bfloat16 `bits`. */
export function bf16BitsToF32(bits: number): number {
  U32_SCRATCH[0] = (bits & 0xffff) << 16;
  return F32_SCRATCH[0];
}

/** Converts every element of `values` to IEEE half bits. */
export function f32ArrayToF16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]);
  return out;
}

/** Converts IEEE half bits to f32 values. */
export function f16ArrayToF32(halves: Uint16Array): Float32Array {
  const table = f16Table();
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]];
  return out;
}

/** Converts every element of `values` to bfloat16 bits. */
export function f32ArrayToBf16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToBf16Bits(bits[i]);
  return out;
}

/** Converts bfloat16 bits to f32 values. */
export function bf16ArrayToF32(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) outBits[i] = halves[i] << 16;
  return out;
}

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  // Re-bias from f32 (127) to half (15).
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Half subnormal: value = m * 2^-24, so m = (1.mantissa as a 24-bit integer) >> (14 - halfExponent).
    const shift = 14 - halfExponent;
    // Even the largest such input is below half of the smallest subnormal: it rounds to zero.
    if (shift > 24) return sign;
    const full = mantissa | 0x800000;
    return sign | roundShift(full, shift);
  }
  // A carry out of the rounded mantissa correctly bumps the exponent (up to infinity).
  return sign | ((halfExponent << 10) + roundShift(mantissa, 13));
}

function f32BitsToBf16Bits(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return (bits >>> 16) | 0x40;
  return ((bits >>> 0) + 0x7fff + ((bits >>> 16) & 1)) / 0x10000 >>> 0;
}

/** `value >> shift`, rounded to nearest with ties to even. */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const dropped = value - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  return dropped > half || (dropped === half && (kept & 1) === 1) ? kept + 1 : kept;
}

let F16_TABLE: Float32Array | undefined;

// Decoding through a 65536-entry table is several times faster than the arithmetic per element.
function f16Table(): Float32Array {
  if (!F16_TABLE) {
    F16_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) F16_TABLE[h] = f16BitsToF32(h);
  }
  return F16_TABLE;
}
