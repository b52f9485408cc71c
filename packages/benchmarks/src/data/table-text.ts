import { NasError } from '@nasjs/core'

/**
 * A benchmark table as it arrives: CSV text, or the file's bytes (gzip-compressed or plain), e.g.
 * from `await (await fetch(url)).arrayBuffer()`.
 * @since 0.1.0
 */
export type TableInput = string | Uint8Array | ArrayBuffer

/** Whether `bytes` start with the gzip magic number (RFC 1952). */
const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

/** Gunzips with the web-standard `DecompressionStream` (browsers, Node 18+, Deno, Bun, workers). */
async function gunzip(bytes: Uint8Array): Promise<ArrayBuffer> {
  const plain = new Response(bytes as Uint8Array<ArrayBuffer>).body!.pipeThrough(
    new DecompressionStream('gzip'),
  )
  return new Response(plain).arrayBuffer()
}

/**
 * The CSV text of a benchmark table given as text or bytes. Bytes that start with the gzip magic
 * number are gunzipped (with `DecompressionStream`, so this works in browsers and in Node); other bytes
 * are read as UTF-8. A server that sends `.csv.gz` files with `Content-Encoding: gzip` makes `fetch`
 * unzip them already; both cases give the same text. A bad gzip stream is a `DATA_CORRUPT` NasError
 * naming `file`.
 *
 * @example
 * ```ts
 * const res = await fetch('/data/quantization/nats_bench_mcu_int8_100.csv')
 * const text = await decodeTableText(await res.arrayBuffer(), res.url)
 * const table = parseQuantizationTable(text, res.url)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export async function decodeTableText(input: TableInput, file: string): Promise<string> {
  if (typeof input === 'string') return input
  const bytes = ArrayBuffer.isView(input)
    ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    : new Uint8Array(input)
  if (!isGzip(bytes)) return new TextDecoder().decode(bytes)
  let plain: ArrayBuffer
  try {
    plain = await gunzip(bytes)
  } catch (cause) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `benchmark file '${file}': not a valid gzip stream (${(cause as Error).message})`,
      path: [file],
      cause,
    })
  }
  return new TextDecoder().decode(plain)
}
