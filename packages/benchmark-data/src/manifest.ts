/**
 * One table shipped in this package.
 * @since 0.1.0
 * @category data
 */
export interface DataFile {
  /** Path below the package's `data/` folder, with `/` separators, e.g. `nb201/nb201_master.csv.gz`. */
  readonly path: string
  /** Size in bytes. */
  readonly bytes: number
  /** SHA-256 of the file's bytes, lower-case hex. */
  readonly sha256: string
  /** The benchmark the values come from, to credit where they are used. */
  readonly credit: string
  /** The licence of the values as published. */
  readonly licence: string
}

const NB201 = 'NAS-Bench-201 (Dong and Yang 2020) / NATS-Bench (Dong et al. 2021)'
const HW = 'HW-NAS-Bench (Li et al. 2021)'
const HELP = 'HELP (Lee, Lee and Hwang 2021)'
const ZERO = 'NAS-Bench-Suite-Zero (Krishnakumar et al. 2022)'
const FASHION = 'Fashion-MNIST (Xiao, Rasul and Vollgraf 2017), 1,000 test images, 100 per class'
const DIGITS = 'UCI optical digits (Alpaydin and Kaynak 1998), as in scikit-learn'

/**
 * Every table and image file this package ships, with its size, SHA-256 and credit. `SHA256SUMS` (package root) holds the same
 * sums in `sha256sum` format; a test checks both against the files.
 * @since 0.1.0
 * @category data
 */
export const dataFiles: readonly DataFile[] = [
  {
    path: 'fbnet/help_fbnet_latency_27devices.csv.gz',
    bytes: 632441,
    sha256: 'c0aab0c3a41f16b3e1a5ba56dba07e32b504ae975488dcc40ce9f36944a4f6fa',
    credit: HELP,
    licence: 'MIT',
  },
  {
    path: 'images/digits.csv.gz',
    bytes: 57512,
    sha256: '46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a',
    credit: DIGITS,
    licence: 'BSD-3-Clause',
  },
  {
    path: 'images/fashion-mnist-t10k-subset1000-images-idx3-ubyte.gz',
    bytes: 436289,
    sha256: 'feaa9d3e61e47f011793a9b02fc7884cba81cc6ab8c2db025f00b47f002a8d0e',
    credit: FASHION,
    licence: 'MIT',
  },
  {
    path: 'images/fashion-mnist-t10k-subset1000-labels-idx1-ubyte.gz',
    bytes: 561,
    sha256: '81f0f7677a5d496e027df2658b7e7d5c68ee7a92bf9d279501cc0a47ae5ca0c9',
    credit: FASHION,
    licence: 'MIT',
  },
  {
    path: 'nb201/help_latency_27devices.csv.gz',
    bytes: 1434992,
    sha256: '3a6455a7e04d03050c05bc717f2f7ba0b113d66b6f26c5e3304f64c9b385507b',
    credit: HELP,
    licence: 'MIT',
  },
  {
    path: 'nb201/hw_nas_bench_cifar10.csv.gz',
    bytes: 763151,
    sha256: 'e3edb57484de4ccbbf96130857235172e2a29b7b3735b19660012a7259e4bbc9',
    credit: HW,
    licence: 'MIT',
  },
  {
    path: 'nb201/hw_nas_bench_cifar100.csv.gz',
    bytes: 762669,
    sha256: '45b1dcb0ef5aea7b9d08ae2f27670260b92cf346a44517c43acdd919ce83074f',
    credit: HW,
    licence: 'MIT',
  },
  {
    path: 'nb201/hw_nas_bench_imagenet16_120.csv.gz',
    bytes: 763078,
    sha256: '98c962b443c4748798e27a047077391b57bc3bc4db9fe352288b960a5424fd8e',
    credit: HW,
    licence: 'MIT',
  },
  {
    path: 'nb201/learning_curves_first200.csv.gz',
    bytes: 450230,
    sha256: 'd797a723ee72b6293ae5dd001940a17128a79bfed11abc39c5ceb59759b021be',
    credit: `${NB201} training curves, as collected in SamuelMintal/Masters_Thesis`,
    licence: 'Apache-2.0',
  },
  {
    path: 'nb201/nats_tss_official_records_0_11_284.json.gz',
    bytes: 374927,
    sha256: '0b9abcb76d3622ddb7c61e8c03965cc1c93decbad333562f3e06abfd67802bd9',
    credit: NB201,
    licence: 'MIT',
  },
  {
    path: 'nb201/nb201_master.csv.gz',
    bytes: 817095,
    sha256: '1112095d5c3129437df0644028654cbb5062879febeb5ea929fc93486d177d44',
    credit: `${NB201}; NASWOT scores (Mellor et al. 2021); Zen-NAS scores (Lin et al. 2021) as computed by NASLib`,
    licence: 'MIT (NATS-Bench, NASWOT), Apache-2.0 (NASLib values)',
  },
  {
    path: 'nb201/zc_proxies_cifar10_canonical.csv.gz',
    bytes: 1109612,
    sha256: '34f1f010ccf16f32864553d49bb2f138ca551ad0a3b7ce43e0c96e19c5289aad',
    credit: ZERO,
    licence: 'Apache-2.0',
  },
  {
    path: 'nb201/zc_proxies_imagenet16_120_canonical.csv.gz',
    bytes: 998640,
    sha256: 'fb3102edd3a2400b1a645f1f690d73352c1f7bff341389fa30e49ac156ff2a6f',
    credit: ZERO,
    licence: 'Apache-2.0',
  },
  {
    path: 'quantization/nats_bench_mcu_int8_100.csv',
    bytes: 11867,
    sha256: '96167baa5e24ed6f8e53c3c1f4565727ed3c7737bccc5fcbe3bdb3ad9a8c0fa6',
    credit: 'NATS-Bench-MCU (FP32 and INT8 accuracies of 100 NB201 cells)',
    licence: 'BSD-3-Clause',
  },
]
