import Foundation
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

/// A fresh temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "sprig-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ bytes: [UInt8]) {
        FileManager.default.createFile(atPath: file(name), contents: Data(bytes))
    }

    func write(_ name: String, _ text: String) { write(name, Array(text.utf8)) }
}

/// The bytes of an unsigned-byte IDX file with `dimensions` and `values`.
func idxBytes(_ dimensions: [Int], _ values: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
    for d in dimensions { out += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
    return out + values
}

/// Writes a small MNIST-format directory: `train` and `test` examples of `side x side`
/// pixels whose class is readable from the pixels (a bright block at a class-dependent
/// row), so that a model can learn it.
func writeSyntheticMNIST(in dir: TemporaryDirectory, train: Int = 400, test: Int = 100, side: Int = 8,
                         classes: Int = 4, gzipped: Bool = false) {
    func make(_ n: Int, seed: UInt64) -> ([UInt8], [UInt8]) {
        var random = StatelessRandom(seed: seed, purpose: .shuffle)
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        for _ in 0..<n {
            let label = random.nextInt(below: classes)
            labels.append(UInt8(label))
            for r in 0..<side {
                for _ in 0..<side {
                    let on = r / (side / classes) == label
                    pixels.append(UInt8(on ? 200 + random.nextInt(below: 55) : random.nextInt(below: 60)))
                }
            }
        }
        return (pixels, labels)
    }
    let (trainPixels, trainLabels) = make(train, seed: 1)
    let (testPixels, testLabels) = make(test, seed: 2)
    let files: [(String, [UInt8])] = [
        ("train-images-idx3-ubyte", idxBytes([train, side, side], trainPixels)),
        ("train-labels-idx1-ubyte", idxBytes([train], trainLabels)),
        ("t10k-images-idx3-ubyte", idxBytes([test, side, side], testPixels)),
        ("t10k-labels-idx1-ubyte", idxBytes([test], testLabels)),
    ]
    for (name, bytes) in files {
        if gzipped { dir.write(name + ".gz", Gzip.compress(bytes)) } else { dir.write(name, bytes) }
    }
}

/// Expects `body` to throw a `SprigError` and returns it.
func sprigError(_ body: () throws -> Void) -> SprigError? {
    do {
        try body()
    } catch let error as SprigError {
        return error
    } catch {
        return nil
    }
    return nil
}

/// A gradient buffer laid out like `store` (and, with `dense`, a dense-gradient buffer over
/// its sparse tensors), owned here, for backward passes run by the tests.
final class TestGradients {
    let store: ParameterStore
    let gradients: UnsafeMutablePointer<Float>
    let denseGradients: UnsafeMutablePointer<Float>?

    init(_ store: ParameterStore, dense: Bool = false) {
        self.store = store
        gradients = .allocate(capacity: max(store.count, 1))
        gradients.initialize(repeating: 0, count: max(store.count, 1))
        denseGradients = dense ? .allocate(capacity: max(store.denseCount, 1)) : nil
        denseGradients?.initialize(repeating: 0, count: max(store.denseCount, 1))
    }

    deinit {
        gradients.deallocate()
        denseGradients?.deallocate()
    }

    var buffers: GradientBuffers { GradientBuffers(gradients: gradients, denseGradients: denseGradients) }

    /// Every gradient, in the store's layout.
    var all: [Float] { Array(UnsafeBufferPointer(start: gradients, count: store.count)) }
}

extension Sequential {
    /// Back-propagates into a fresh buffer and returns every gradient, in the store's layout.
    func backwardGradients(_ dLogits: Matrix) -> [Float] {
        let g = TestGradients(store)
        defer { withExtendedLifetime(g) {} } // its buffers are used through raw pointers
        backward(dLogits, into: g.buffers)
        return g.all
    }
}

/// A rows x cols matrix of standard normal values from the stream (seed, shuffle).
func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
    var random = StatelessRandom(seed: seed, purpose: .shuffle)
    let m = Matrix(rows: rows, cols: cols)
    for i in 0..<m.count { m.data[i] = random.nextNormal() }
    return m
}
