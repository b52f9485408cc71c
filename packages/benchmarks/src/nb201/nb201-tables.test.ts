import { readFileSync } from 'node:fs'
import { gunzipSync, gzipSync } from 'node:zlib'

import { isNasError } from '@nasjs/core'
import { beforeAll, describe, expect, it } from 'vitest'

import { decodeTableText } from '../data/table-text.js'
import { locateDataFile } from '../node/data-dir.js'
import { loadNb201 } from '../node/nb201.js'
import { NB201_DATASETS } from './metrics.js'
import { NB201_FILES, nb201FromTables, nb201RawColumnNames, type Nb201Benchmark } from './nb201.js'

/** The files' bytes, as a browser's `fetch(...).arrayBuffer()` would give them. */
const bytesOf = (rel: string): Uint8Array => readFileSync(locateDataFile(rel))
const sameBits = (a: Float64Array, b: Float64Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))

describe('nb201FromTables (platform-free) and loadNb201 (node)', () => {
  let fromTables: Nb201Benchmark
  const fromFiles = loadNb201()
  beforeAll(async () => {
    fromTables = await nb201FromTables(
      {
        master: bytesOf(NB201_FILES.master),
        hw: {
          cifar10: bytesOf(NB201_FILES.hw.cifar10),
          // an ArrayBuffer, and text already unzipped (a server sending Content-Encoding: gzip)
          cifar100: Uint8Array.from(bytesOf(NB201_FILES.hw.cifar100)).buffer,
          'imagenet16-120': gunzipSync(bytesOf(NB201_FILES.hw['imagenet16-120'])).toString('utf8'),
        },
        // plain bytes, not gzip
        help: gunzipSync(bytesOf(NB201_FILES.help)),
      },
      { base: 'https://example.org/data/' },
    )
  })

  it('give identical queries on a few cells', () => {
    for (const ds of NB201_DATASETS) {
      for (const i of [0, 11, 284, 7777, 15624]) {
        expect(fromTables.query(i, ds)).toEqual(fromFiles.query(i, ds))
        expect(fromTables.archStrAt(i)).toBe(fromFiles.archStrAt(i))
      }
      const arch = fromFiles.archAt(4321)
      expect(fromTables.query(arch, ds)).toEqual(fromFiles.query(arch, ds))
    }
    expect(fromTables.query(0, 'cifar10').test_acc).toBe(85.8633)
  })

  it('hold bit-identical columns', () => {
    expect(fromTables.rawColumnNames()).toEqual(nb201RawColumnNames())
    expect(fromFiles.rawColumnNames()).toEqual(nb201RawColumnNames())
    for (const name of nb201RawColumnNames()) {
      expect(sameBits(fromTables.rawColumn(name), fromFiles.rawColumn(name)), name).toBe(true)
    }
    for (const ds of NB201_DATASETS) {
      for (const m of fromFiles.metricNames(ds)) {
        expect(sameBits(fromTables.column(ds, m), fromFiles.column(ds, m)), `${ds} ${m}`).toBe(true)
      }
    }
  })

  it('name the files by base and NB201_FILES path', () => {
    expect(fromTables.files[0]).toBe(`https://example.org/data/${NB201_FILES.master}`)
    expect(fromTables.files).toHaveLength(5)
  })

  it('reject a corrupt table with DATA_CORRUPT naming the file', async () => {
    const master = bytesOf(NB201_FILES.master)
    const tables = {
      master: master.subarray(0, master.length >> 1),
      hw: { cifar10: '', cifar100: '', 'imagenet16-120': '' },
      help: '',
    }
    const e: unknown = await nb201FromTables(tables, { base: '/data' }).catch((x: unknown) => x)
    expect(isNasError(e) && e.code).toBe('DATA_CORRUPT')
    expect(String((e as Error).message)).toContain(`'/data/${NB201_FILES.master}': not a valid gzip stream`)
  })
})

describe('decodeTableText', () => {
  const text = 'a,b\n1,"x,y"\n2,é\n'
  const gz = gzipSync(Buffer.from(text, 'utf8'))

  it('unzips gzip bytes and reads plain bytes as UTF-8, in any byte container', async () => {
    expect(await decodeTableText(text, 't.csv')).toBe(text)
    expect(await decodeTableText(gz, 't.csv.gz')).toBe(text)
    expect(await decodeTableText(Uint8Array.from(gz).buffer, 't.csv.gz')).toBe(text)
    expect(await decodeTableText(new TextEncoder().encode(text), 't.csv')).toBe(text)
    // a view into a larger buffer (e.g. a Node Buffer from the pool) is read from its own offset
    const padded = new Uint8Array(gz.length + 8)
    padded.set(gz, 5)
    expect(await decodeTableText(padded.subarray(5, 5 + gz.length), 't.csv.gz')).toBe(text)
  })

  it('rejects a truncated gzip stream as DATA_CORRUPT naming the file', async () => {
    const e: unknown = await decodeTableText(gz.subarray(0, gz.length - 6), 'cut.csv.gz').catch(
      (x: unknown) => x,
    )
    expect(isNasError(e) && e.code).toBe('DATA_CORRUPT')
    expect(isNasError(e) && e.path).toEqual(['cut.csv.gz'])
  })
})
