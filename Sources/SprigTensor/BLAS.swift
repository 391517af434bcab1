import CBLAS

/// The dense linear algebra Sprig uses, through OpenBLAS's CBLAS interface.
public enum BLAS {
    /// `C = alpha * op(A) * op(B) + beta * C` for row-major matrices (cblas_sgemm), where
    /// `op(X)` is `X` or its transpose. `op(A)` is `m x k`, `op(B)` is `k x n`, `C` is `m x n`;
    /// `lda`, `ldb`, `ldc` are the row strides of the matrices as stored.
    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Sets the number of threads OpenBLAS uses in this process. Under mpirun each rank
    /// gets one (two ranks with two threads each on two cores run slower than one).
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(n))
    }

    /// The number of threads OpenBLAS uses now.
    public static var threads: Int { Int(openblas_get_num_threads()) }
}
