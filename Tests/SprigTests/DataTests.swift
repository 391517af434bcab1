import Foundation
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

@Suite struct IDXTests {
    @Test func parsesImagesAndLabels() throws {
        let images = try IDXFile(bytes: idxBytes([2, 2, 3], Array(0..<12)), source: "x", expectedRank: 3)
        #expect(images.dimensions == [2, 2, 3])
        #expect(images.values == Array(0..<12))
    }

    @Test func rejectsWrongMagic() {
        var bytes = idxBytes([3], [0, 1, 2])
        bytes[0] = 0x50
        let error = sprigError { _ = try IDXFile(bytes: bytes, source: "labels.idx", expectedRank: 1) }
        #expect(error?.subject == "labels.idx")
        #expect(error?.message.contains("magic number") == true)
    }

    @Test func rejectsUnsupportedTypeAndRank() {
        var bytes = idxBytes([3], [0, 1, 2])
        bytes[2] = 0x0D
        #expect(sprigError { _ = try IDXFile(bytes: bytes, source: "f", expectedRank: 1) }?.message.contains("not supported") == true)
        #expect(sprigError { _ = try IDXFile(bytes: idxBytes([3], [0, 1, 2]), source: "f", expectedRank: 3) }?
            .message.contains("expected 3") == true)
    }

    @Test func rejectsTruncatedAndTrailingData() {
        let full = idxBytes([2, 2, 2], Array(repeating: 7, count: 8))
        for cut in [0, 3, 10, full.count - 1] {
            let error = sprigError { _ = try IDXFile(bytes: Array(full[..<cut]), source: "t", expectedRank: 3) }
            #expect(error?.message.contains("truncated") == true, "cut at \(cut): \(String(describing: error))")
        }
        let error = sprigError { _ = try IDXFile(bytes: full + [1], source: "t", expectedRank: 3) }
        #expect(error?.message.contains("trailing") == true)
    }

    @Test func readsGzippedFilesAndRejectsTruncatedGzip() throws {
        let dir = TemporaryDirectory()
        let raw = idxBytes([4], [3, 1, 4, 1])
        let packed = Gzip.compress(raw)
        dir.write("l.gz", packed)
        #expect(try IDXFile(path: dir.file("l.gz"), expectedRank: 1).values == [3, 1, 4, 1])
        dir.write("cut.gz", Array(packed[..<(packed.count - 6)]))
        let error = sprigError { _ = try IDXFile(path: dir.file("cut.gz"), expectedRank: 1) }
        #expect(error?.subject == dir.file("cut.gz"))
        #expect(error?.message.contains("gzip") == true)
    }

    @Test func gzipRoundTripsLargeData() throws {
        var random = StatelessRandom(seed: 5, purpose: .shuffle)
        let data = (0..<300_000).map { _ in UInt8(random.nextInt(below: 16)) }
        #expect(try Gzip.decompress(Gzip.compress(data), source: "mem") == data)
    }

    @Test func missingFileIsNamed() {
        let error = sprigError { _ = try IDXFile(path: "/nonexistent/train-images-idx3-ubyte", expectedRank: 3) }
        #expect(error?.subject == "/nonexistent/train-images-idx3-ubyte")
        #expect(error?.message == "no such file")
    }
}

@Suite struct DatasetTests {
    @Test func loadsADirectoryRawOrGzipped() throws {
        for gzipped in [false, true] {
            let dir = TemporaryDirectory()
            writeSyntheticMNIST(in: dir, train: 40, test: 10, gzipped: gzipped)
            let data = try DataSource(path: dir.path, classes: 4).load()
            #expect(data.train.count == 40)
            #expect(data.test.count == 10)
            #expect(data.train.exampleShape == [1, 8, 8])
            #expect(data.format == .idx && data.classes == 4)
        }
    }

    @Test func acceptsTheDottedNamesOfThePyPIWheel() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10)
        try FileManager.default.moveItem(atPath: dir.file("train-images-idx3-ubyte"), toPath: dir.file("train-images.idx3-ubyte"))
        #expect(try DataSource(path: dir.path, classes: 4).load().train.count == 40)
    }

    @Test func missingFileAndDirectoryAreNamed() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10)
        try FileManager.default.removeItem(atPath: dir.file("t10k-labels-idx1-ubyte"))
        let error = sprigError { _ = try DataSource(path: dir.path, classes: 4).load() }
        #expect(error?.subject == dir.file("t10k-labels-idx1-ubyte"))
        #expect(error?.message.contains("missing") == true)
        let noDir = sprigError { _ = try DataSource(path: dir.file("nope"), classes: 4).load() }
        #expect(noDir?.subject == dir.file("nope"))
    }

    @Test func countMismatchNamesBothFiles() {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10)
        dir.write("train-labels-idx1-ubyte", idxBytes([39], Array(repeating: 1, count: 39)))
        let error = sprigError { _ = try DataSource(path: dir.path, classes: 4).load() }
        #expect(error?.subject == dir.file("train-labels-idx1-ubyte"))
        #expect(error?.message.contains("39 labels") == true)
        #expect(error?.message.contains("40 images") == true)
    }

    @Test func imagesWithoutPixelsAreRefused() {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10)
        dir.write("train-images-idx3-ubyte", idxBytes([40, 0, 8], []))
        #expect(sprigError { _ = try DataSource(path: dir.path).load() }
            == SprigError(dir.file("train-images-idx3-ubyte"), "images of 0 x 8 pixels hold no values"))
    }

    @Test func labelOutOfRangeNamesIndex() {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10)
        var labels = [UInt8](repeating: 1, count: 10)
        labels[7] = 4
        dir.write("t10k-labels-idx1-ubyte", idxBytes([10], labels))
        let error = sprigError { _ = try DataSource(path: dir.path, classes: 4).load() }
        #expect(error?.subject == dir.file("t10k-labels-idx1-ubyte"))
        #expect(error?.message == "label 4 at index 7 is out of range 0..<4 (data.classes is 4)")
        // without data.classes the training labels (0..<4 here) set the range
        #expect(sprigError { _ = try DataSource(path: dir.path).load() }?.message
            == "label 4 at index 7 is out of range 0..<4 (the training labels are 0..<4)")
    }

    @Test func normalizationStandardises() {
        let d = Dataset(pixels: [0, 255, 0, 255], labels: [0, 1], exampleShape: [2])
        let n = Normalization(fitting: d)
        #expect(n.mean.count == 1 && abs(n.mean[0] - 0.5) < 1e-6)
        #expect(abs(n.std[0] - 0.5) < 1e-6)
        #expect(abs(n.table[0] + 1) < 1e-6 && abs(n.table[255] - 1) < 1e-6)
    }

    @Test func gatherWritesFeatureMajorColumns() {
        let d = Dataset(pixels: [1, 2, 3, 4, 5, 6], labels: [0, 1, 2], exampleShape: [2])
        let x = Matrix(rows: 2, cols: 2)
        var labels: [Int32] = []
        d.gather([Int32(2), 0], normalization: Normalization(mean: 0, std: 1.0 / 255), into: x, labels: &labels)
        #expect(x.values == [5, 1, 6, 2])
        #expect(labels == [2, 0])
    }
}

@Suite struct BatchPlanTests {
    @Test func ranksPartitionEveryGlobalBatch() {
        let single = BatchPlan(exampleCount: 103, globalBatch: 20, rank: 0, ranks: 1, seed: 9)
        #expect(single.stepsPerEpoch == 5)
        let order = single.order(epoch: 3)
        #expect(Set(order).count == 103)
        for ranks in [2, 4] {
            for batch in 0..<single.stepsPerEpoch {
                let union = (0..<ranks).flatMap {
                    Array(BatchPlan(exampleCount: 103, globalBatch: 20, rank: $0, ranks: ranks, seed: 9).localIndices(order, batch: batch))
                }
                #expect(union == Array(single.localIndices(order, batch: batch)))
            }
        }
    }

    @Test func shuffleDependsOnSeedAndEpoch() {
        let plan = BatchPlan(exampleCount: 1000, globalBatch: 10, rank: 0, ranks: 1, seed: 1)
        #expect(plan.order(epoch: 1) == plan.order(epoch: 1))
        #expect(plan.order(epoch: 1) != plan.order(epoch: 2))
        #expect(plan.order(epoch: 1) != BatchPlan(exampleCount: 1000, globalBatch: 10, rank: 0, ranks: 1, seed: 2).order(epoch: 1))
    }
}
