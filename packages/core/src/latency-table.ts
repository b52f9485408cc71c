import { z } from 'zod'
import { NasError } from './errors.js'

/**
 * The format name every latency lookup table carries in its header.
 * @since 0.1.0
 */
export const LATENCY_TABLE_FORMAT = 'nasjs-latency-table'
/**
 * The version of the format this build reads and writes.
 * @since 0.1.0
 */
export const LATENCY_TABLE_VERSION = 1

const Entry = z
  .object({
    ms: z.number().finite().describe('latency of one occurrence of the block (ms)'),
    spread: z
      .number()
      .min(0)
      .optional()
      .describe('spread of the measurement (ms): the median absolute deviation of the repeats'),
    context: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('what the block is, in its place: input size, channels, stride, ...'),
  })
  .strict()

/**
 * The JSON schema of a latency lookup table (the ProxylessNAS / Once-for-All idea): a network's
 * latency is predicted as `overhead` plus `scale` (1 when absent) times the sum, over the blocks of the
 * network, of the entry of each block's key. The header says what it was measured on, so a table is never used for a device it does not
 * describe without the user seeing it.
 * @since 0.1.0
 * @category latency tables
 */
export const LatencyTableSchema = z
  .object({
    format: z.literal(LATENCY_TABLE_FORMAT),
    version: z.literal(LATENCY_TABLE_VERSION),
    space: z.string().min(1).describe('the search space whose blocks the keys name'),
    /** Where the entries come from: measured here, or fitted to a published table. */
    source: z.enum(['measured', 'fitted']),
    device: z
      .object({
        name: z.string().describe('a device name, e.g. tfjs-wasm or pixel3'),
        backend: z.string().optional().describe('the TF.js backend measured, e.g. wasm'),
        description: z.string().optional(),
        platform: z.string().optional().describe('operating system and architecture'),
        cpu: z.string().optional(),
        runtime: z.string().optional().describe('e.g. node 20.20.0 or a browser user agent'),
      })
      .strict(),
    versions: z.record(z.string(), z.string()).describe('library versions, e.g. @tensorflow/tfjs-core'),
    created: z.string().optional().describe('ISO time of measurement'),
    setting: z
      .object({
        batch: z.number().int().min(1),
        inputShape: z.array(z.number().int().min(1)).optional(),
        resolutions: z
          .array(z.number().int().min(1))
          .optional()
          .describe(
            'input resolutions the table covers, for spaces whose architectures pick theirs (ofa-mbv3)',
          ),
        network: z.record(z.string(), z.unknown()).optional().describe('builder options of the network'),
      })
      .strict(),
    unit: z.literal('ms'),
    overhead: z.number().finite().describe('fixed cost of a network (ms), fitted or measured'),
    scale: z
      .number()
      .positive()
      .finite()
      .optional()
      .describe(
        'factor on the sum of the entries (1 when absent), fitted with the overhead on networks measured whole: blocks timed alone run a few per cent faster or slower than inside a network',
      ),
    entries: z.record(z.string(), Entry),
    fit: z
      .object({
        networks: z.number().int().min(0),
        rmse: z.number().min(0).optional(),
        within10: z.number().min(0).max(1).optional(),
      })
      .strict()
      .optional()
      .describe('how the overhead was fitted: on how many measured networks, and how well'),
  })
  .strict()

/**
 * A latency lookup table (see {@link LatencyTableSchema}).
 * @since 0.1.0
 */
export type LatencyTable = z.infer<typeof LatencyTableSchema>

/**
 * One block of a network as a latency table keys it, and how many times the network has it.
 * @since 0.1.0
 */
export interface LatencyBlock {
  readonly key: string
  readonly count: number
}

/**
 * Reads a latency table from parsed JSON: a `NasError` (`DATA_CORRUPT`) naming the first bad field
 * when it is not one, or one of another format version.
 * @since 0.1.0
 * @category latency tables
 */
export function parseLatencyTable(json: unknown, where = 'latency table'): LatencyTable {
  const header = json as { format?: unknown; version?: unknown } | null
  if (
    typeof header === 'object' &&
    header !== null &&
    header.format === LATENCY_TABLE_FORMAT &&
    header.version !== LATENCY_TABLE_VERSION
  ) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${where} is version ${String(header.version)} of ${LATENCY_TABLE_FORMAT}; this build reads version ${LATENCY_TABLE_VERSION}`,
      value: header.version,
      allowed: [LATENCY_TABLE_VERSION],
    })
  }
  const r = LatencyTableSchema.safeParse(json)
  if (!r.success) {
    const issue = r.error.issues[0]!
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${where} is not a ${LATENCY_TABLE_FORMAT} v${LATENCY_TABLE_VERSION}: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
      path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    })
  }
  return r.data
}

/**
 * The latency a table predicts for a network of `blocks`: the overhead plus the scale times the sum of
 * count times entry over the blocks. A block the table has no entry for is a `NasError` (`METRIC_MISSING`) naming it.
 * @example
 * ```ts
 * predictFromTable(table, [{ key: 'stage1:nor_conv_3x3', count: 10 }, { key: 'stem', count: 1 }])
 * ```
 * @since 0.1.0
 * @category latency tables
 */
export function predictFromTable(table: LatencyTable, blocks: readonly LatencyBlock[]): number {
  let ms = 0
  for (const b of blocks) {
    const e = table.entries[b.key]
    if (e === undefined) {
      throw new NasError({
        code: 'METRIC_MISSING',
        message: `the ${table.space} latency table (${table.device.name}) has no entry for block '${b.key}'; rebuild it for this network setting`,
        value: b.key,
      })
    }
    ms += b.count * e.ms
  }
  return table.overhead + (table.scale ?? 1) * ms
}

/**
 * Whether `name` is a hardware metric of `@nasjs/models`' `hardwareMetrics`: `latency.tfjs-<backend>`
 * (measured on the TF.js backend in use), `latency.lut` (predicted by a latency table), `latency.help`
 * (predicted by a HELP predictor adapted to a device), `memory.peak` (bytes of tensors alive at once
 * during one inference) or `size.bytes` (bytes of the float32 weights).
 * @since 0.1.0
 * @category latency tables
 */
export const isHardwareMetric = (name: string): boolean =>
  /^latency\.tfjs-[a-z0-9]+$/.test(name) ||
  name === 'latency.lut' ||
  name === 'latency.help' ||
  name === 'memory.peak' ||
  name === 'size.bytes'

/**
 * The hardware metrics there are, for help texts and errors.
 * @since 0.1.0
 */
export const HARDWARE_METRICS = [
  'latency.tfjs-<backend>',
  'latency.lut',
  'latency.help',
  'memory.peak',
  'size.bytes',
] as const
