import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity

/// Measures dense matrix products on this machine: OpenBLAS's cblas_sgemm, the reference
/// against which Sprig's kernels and training throughput are read, and Sprig's own
/// `DenseKernels`, which its dense layers use.
public enum GEMMThroughput {
    public enum Kernel: String, Sendable {
        case sgemm
        case denseKernels = "dense_kernels"
    }

    /// GFLOP/s (2 m n k per product) of `C = A B` with A m x k and B k x n, row-major, over
    /// at least `seconds` of repetitions after one warm-up product.
    public static func measure(m: Int, n: Int, k: Int, seconds: Double = 0.5, kernel: Kernel = .sgemm) -> Double {
        let a = Matrix(rows: m, cols: k), b = Matrix(rows: k, cols: n), c = Matrix(rows: m, cols: n)
        var random = StatelessRandom(seed: 7, purpose: .weightInit)
        for i in 0..<a.count { a.data[i] = random.nextUniform(-1, 1) }
        for i in 0..<b.count { b.data[i] = random.nextUniform(-1, 1) }
        let workspace = DenseWorkspace()
        func product() {
            switch kernel {
            case .sgemm:
                BLAS.sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a.data, lda: k,
                           b: b.data, ldb: n, beta: 0, c: c.data, ldc: n)
            case .denseKernels:
                DenseKernels.multiply(m: m, n: n, k: k, a: .init(a.data, rowStride: k), b: .init(b.data, rowStride: n),
                                      rowInitial: nil, c: c.data, ldc: n, workspace: workspace)
            }
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
