import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity

/// Measures cblas_sgemm on this machine: the reference against which Sprig's kernels and
/// training throughput are read.
public enum GEMMThroughput {
    /// GFLOP/s (2 m n k per product) of `C = A B` with A m x k and B k x n, row-major, over
    /// at least `seconds` of repetitions after one warm-up product.
    public static func measure(m: Int, n: Int, k: Int, seconds: Double = 0.5) -> Double {
        let a = Matrix(rows: m, cols: k), b = Matrix(rows: k, cols: n), c = Matrix(rows: m, cols: n)
        var random = StatelessRandom(seed: 7, purpose: .weightInit)
        for i in 0..<a.count { a.data[i] = random.nextUniform(-1, 1) }
        for i in 0..<b.count { b.data[i] = random.nextUniform(-1, 1) }
        func product() {
            BLAS.sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a.data, lda: k,
                       b: b.data, ldb: n, beta: 0, c: c.data, ldc: n)
        }
        product()
        var reps = 0
        let start = monotonicSeconds()
        var elapsed = 0.0
        repeat {
            product()
            reps += 1
            elapsed = monotonicSeconds() - start
        } while elapsed < seconds
        return 2 * Double(m) * Double(n) * Double(k) * Double(reps) / elapsed / 1e9
    }
}
