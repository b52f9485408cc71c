/**
 * Small dense linear algebra in float64 on the CPU, for the batch-by-batch matrices of NASWOT,
 * Jacobian covariance and EPE-NAS (64 x 64 at the usual batch size). Matrices are row-major
 * `Float64Array`s of `n * n` entries.
 */

/**
 * `[sign, log|det|]` of a square matrix by LU decomposition with partial pivoting (as `numpy.linalg.slogdet`).
 * A singular matrix gives `[0, -Infinity]`.
 */
export function slogdet(a: Float64Array, n: number): [number, number] {
  const m = Float64Array.from(a)
  let sign = 1
  let logdet = 0
  for (let k = 0; k < n; k++) {
    let p = k
    let best = Math.abs(m[k * n + k]!)
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(m[i * n + k]!)
      if (v > best) {
        best = v
        p = i
      }
    }
    if (best === 0) return [0, -Infinity]
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j]!
        m[k * n + j] = m[p * n + j]!
        m[p * n + j] = t
      }
      sign = -sign
    }
    const pivot = m[k * n + k]!
    if (pivot < 0) sign = -sign
    logdet += Math.log(Math.abs(pivot))
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k]! / pivot
      if (f === 0) continue
      for (let j = k + 1; j < n; j++) m[i * n + j] = m[i * n + j]! - f * m[k * n + j]!
    }
  }
  return [sign, logdet]
}

/**
 * Eigenvalues of a symmetric matrix by cyclic Jacobi rotations, in ascending order.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a)
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i * n + j]! ** 2
    if (off < 1e-22) break
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!
        if (Math.abs(apq) < 1e-300) continue
        const app = m[p * n + p]!
        const aqq = m[q * n + q]!
        const theta = (aqq - app) / (2 * apq)
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p]!
          const akq = m[k * n + q]!
          m[k * n + p] = c * akp - s * akq
          m[k * n + q] = s * akp + c * akq
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k]!
          const aqk = m[q * n + k]!
          m[p * n + k] = c * apk - s * aqk
          m[q * n + k] = s * apk + c * aqk
        }
      }
    }
  }
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = m[i * n + i]!
  return out.sort()
}

/**
 * The Pearson correlation matrix of the rows of `x` (`rows x cols`, row-major), as `numpy.corrcoef(x)`:
 * a constant row gives NaN entries, as numpy does.
 */
export function corrcoef(x: Float64Array | Float32Array, rows: number, cols: number): Float64Array {
  const centred = new Float64Array(rows * cols)
  const norms = new Float64Array(rows)
  for (let i = 0; i < rows; i++) {
    let mean = 0
    for (let j = 0; j < cols; j++) mean += x[i * cols + j]!
    mean /= cols
    let ss = 0
    for (let j = 0; j < cols; j++) {
      const v = x[i * cols + j]! - mean
      centred[i * cols + j] = v
      ss += v * v
    }
    norms[i] = Math.sqrt(ss)
  }
  const out = new Float64Array(rows * rows)
  for (let i = 0; i < rows; i++) {
    for (let k = i; k < rows; k++) {
      let dot = 0
      for (let j = 0; j < cols; j++) dot += centred[i * cols + j]! * centred[k * cols + j]!
      const r = dot / (norms[i]! * norms[k]!)
      out[i * rows + k] = r
      out[k * rows + i] = r
    }
  }
  return out
}
