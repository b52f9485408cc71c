import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { NasError } from '@nasjs/core'

/** Where one array sits in a directory's binary file. @internal */
export interface PackedArray<G extends string> {
  readonly group: G
  readonly name: string
  readonly shape: readonly number[]
  readonly offset: number
}

/** Concatenates arrays (float32, little-endian) with their manifest and the buffer's digest. @internal */
export function packArrays<G extends string>(
  items: readonly { group: G; name: string; shape: readonly number[]; values: Float32Array }[],
): { bin: Buffer; arrays: PackedArray<G>[]; sha256: string } {
  const arrays: PackedArray<G>[] = []
  let offset = 0
  for (const it of items) {
    arrays.push({ group: it.group, name: it.name, shape: [...it.shape], offset })
    offset += it.values.length * 4
  }
  const bin = Buffer.alloc(offset)
  items.forEach((it, i) => {
    const v = it.values
    Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(bin, arrays[i]!.offset)
  })
  return { bin, arrays, sha256: createHash('sha256').update(bin).digest('hex') }
}

/**
 * Reads the binary file a header names, checked against its size and SHA-256 (`DATA_MISSING`,
 * `DATA_CORRUPT`). @internal
 */
export function readCheckedBin(
  dir: string,
  bin: { readonly file: string; readonly bytes: number; readonly sha256: string },
  headerFile: string,
): Buffer {
  const path = join(dir, bin.file)
  let data: Buffer
  try {
    data = readFileSync(path)
  } catch {
    throw new NasError({ code: 'DATA_MISSING', message: `${path} is missing`, value: path })
  }
  if (data.length !== bin.bytes || createHash('sha256').update(data).digest('hex') !== bin.sha256) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${path} does not match ${headerFile} (size or SHA-256): the directory was changed or half written`,
      value: path,
    })
  }
  return data
}

/** One array of a checked binary. @internal */
export function readArray(bin: Buffer, m: PackedArray<string>): Float32Array {
  const n = m.shape.reduce((p, s) => p * s, 1)
  const values = new Float32Array(n)
  Buffer.from(values.buffer).set(bin.subarray(m.offset, m.offset + n * 4))
  return values
}
