/**
 * HELP's NB201 setting (Lee et al., 2021, and its reference implementation): the reference
 * architectures of the hardware embedding (NB201 indices), and the split of the 27 device settings of
 * the HELP latency table into meta-training, validation and test devices.
 * @since 0.1.0
 * @category latency predictors
 */
export const HELP_NB201 = {
  references: [11982, 431, 55, 9, 14451, 8636, 9881, 13479, 6196, 1462],
  metaTrain: [
    '1080ti_1',
    '1080ti_32',
    '1080ti_256',
    'silver_4114',
    'silver_4210r',
    'samsung_a50',
    'pixel3',
    'essential_ph_1',
    'samsung_s7',
  ],
  metaValid: ['titanx_1', 'titanx_32', 'titanx_256', 'gold_6240'],
  metaTest: ['titan_rtx_256', 'gold_6226', 'fpga', 'pixel2', 'raspi4', 'eyeriss'],
  /** Support and query sets of meta-training come from the first 900 NB201 indices. */
  pool: 900,
  /** Meta-test queries: the next 1,000 indices. */
  query: 1000,
  /** HELP paper, Table 2 (NB201, 10 samples): Spearman on the test devices. */
  paperSpearman: {
    titan_rtx_256: 0.987,
    gold_6226: 0.989,
    fpga: 0.802,
    pixel2: 0.89,
    raspi4: 0.94,
    eyeriss: 0.985,
  },
} as const
