import Foundation
import Testing
@testable import Sprig
@testable import SprigData
@testable import SprigTensor
@testable import SprigTraining

/// Crops and flips of training images, per-channel normalisation, and the batches they
/// make: the same transform of an example wherever it is gathered.
@Suite struct AugmentationTests {
    /// A 1 x 4 x 4 image 1...16, row by row.
    static let image: [UInt8] = Array(1...16)

    @Test func cropShiftsWithZerosAndFlipMirrors() {
        let a = Augmentation(cropPadding: 2, horizontalFlip: true)
        func apply(_ draw: (dy: Int, dx: Int, flip: Bool)) -> [UInt8] {
            var out = [UInt8](repeating: 99, count: 16)
            AugmentationTests.image.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { a.apply(src.baseAddress!, into: $0.baseAddress!, shape: [1, 4, 4], draw: draw, zero: 0) }
            }
            return out
        }
        #expect(apply((0, 0, false)) == AugmentationTests.image)
        // out[y, x] = in[y + 1, x - 2]: down one row, right two columns, zeros where it leaves the image
        #expect(apply((1, -2, false)) == [0, 0, 5, 6, 0, 0, 9, 10, 0, 0, 13, 14, 0, 0, 0, 0])
        #expect(apply((0, 0, true)) == [4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13])
        // the crop, then the flip (torchvision's RandomCrop before RandomHorizontalFlip)
        #expect(apply((-2, 1, true)) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 3, 2, 0, 8, 7, 6])
    }

    @Test func drawsArePureFunctionsOfSeedEpochAndExample() {
        let a = Augmentation(cropPadding: 4, horizontalFlip: true)
        let draws = (0..<4000).map { a.draw(seed: 1, epoch: 3, example: $0) }
        #expect(draws.map(\.dy) == (0..<4000).map { a.draw(seed: 1, epoch: 3, example: $0).dy })
        #expect(Set(draws.map(\.dy)) == Set(-4...4) && Set(draws.map(\.dx)) == Set(-4...4))
        let flips = draws.filter(\.flip).count
        #expect(flips > 1800 && flips < 2200, "\(flips) of 4000 flipped")
        #expect((0..<100).contains { a.draw(seed: 1, epoch: 4, example: $0).dy != draws[$0].dy })
        #expect((0..<100).contains { a.draw(seed: 2, epoch: 3, example: $0).dx != draws[$0].dx })
        #expect(!(0..<100).contains { Augmentation(cropPadding: 4).draw(seed: 1, epoch: 3, example: $0).flip })
    }

    /// A batch gathered with augmentation holds, column by column, each example transformed
    /// alone and normalised; any slice of the indices (a rank's share) gives the same columns.
    @Test func gatherTransformsEachExampleWhereverItIsGathered() {
        let n = 40, shape = [3, 5, 6], f = 90
        let pixels = (0..<(n * f)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 7) }
        let d = Dataset(pixels: pixels, labels: (0..<n).map { Int32($0 % 3) }, exampleShape: shape)
        let norm = Normalization(fitting: d)
        let augmenting = EpochAugmentation(Augmentation(cropPadding: 2, horizontalFlip: true), seed: 5, epoch: 2)
        let indices: [Int32] = (0..<20).map { Int32(($0 * 7) % n) }
        let x = Matrix(rows: f, cols: 20)
        var labels: [Int32] = []
        d.gather(indices[...], normalization: norm, augmenting: augmenting, into: x, labels: &labels)
        for (j, index) in indices.enumerated() {
            var alone = [UInt8](repeating: 0, count: f)
            let draw = augmenting.augmentation.draw(seed: 5, epoch: 2, example: Int(index))
            pixels.withUnsafeBufferPointer { src in
                alone.withUnsafeMutableBufferPointer {
                    augmenting.augmentation.apply(src.baseAddress! + Int(index) * f, into: $0.baseAddress!, shape: shape, draw: draw, zero: 0)
                }
            }
            let expected = (0..<f).map { norm.table[256 * ($0 / 30) + Int(alone[$0])] }
            #expect((0..<f).map { x.data[$0 * 20 + j] } == expected, "column \(j)")
        }
        #expect(labels == indices.map { $0 % 3 })
        let half = Matrix(rows: f, cols: 10)
        d.gather(indices[10...], normalization: norm, augmenting: augmenting, into: half, labels: &labels)
        #expect((0..<f).allSatisfy { r in (0..<10).allSatisfy { half.data[r * 10 + $0] == x.data[r * 20 + 10 + $0] } })
        // without augmentation, the examples as they are
        d.gather(indices[...], normalization: norm, into: x, labels: &labels)
        #expect((0..<f).map { x.data[$0 * 20] } == (0..<f).map { norm.table[256 * ($0 / 30) + Int(pixels[$0])] })
    }

    @Test func normalisationIsPerChannel() {
        // channel 0 holds 0 and 255, channel 1 only 51: means 0.5 and 0.2, stds 0.5 and ~0
        let d = Dataset(pixels: [0, 255, 51, 51, 255, 0, 51, 51], labels: [0, 1], exampleShape: [2, 1, 2])
        let n = Normalization(fitting: d)
        #expect(n.channels == 2 && abs(n.mean[0] - 0.5) < 1e-6 && abs(n.mean[1] - 0.2) < 1e-6)
        #expect(abs(n.std[0] - 0.5) < 1e-6 && n.std[1] < 1e-5)
        #expect(n.table[255] == (1 - n.mean[0]) / n.std[0] && n.table[256 + 51] == (Float(51) / 255 - n.mean[1]) / n.std[1])
        let floats = Dataset(values: .float32([1, 3, 10, 10, 3, 1, 20, 20]), labels: [0, 1], exampleShape: [2, 1, 2])
        let m = Normalization(fitting: floats)
        #expect(!m.scalesBytes && m.mean == [2, 15] && m.std == [1, 5])
        let x = Matrix(rows: 4, cols: 2)
        var labels: [Int32] = []
        floats.gather([Int32(0), 1], normalization: m, into: x, labels: &labels)
        #expect(x.values == [-1, 1, 1, -1, -1, 1, -1, 1])
        #expect(Normalization.json([0.5]) == "0.5" && Normalization.json([0.5, 0.25]) == "[0.5, 0.25]")
    }

    /// Training batches are augmented, evaluation is not: two trainers that differ only in
    /// `augment` evaluate alike before training and train apart.
    @Test func evaluationIsNotAugmented() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10, side: 8)
        let data = try DataSource(path: dir.path).load()
        var plain = try TrainingConfig.parse(text: "model: {mlp: [64, 8, 4]}\nbatch_size: 20\nmax_steps: 2\n", source: "a.yaml")
        plain.data.path = dir.path
        var augmented = plain
        augmented.augmentation = Augmentation(cropPadding: 2, horizontalFlip: true)
        let a = try Trainer(config: plain, replicas: .single(), data: data), b = try Trainer(config: augmented, replicas: .single(), data: data)
        #expect(a.evaluate(data.test) == b.evaluate(data.test))
        try a.train { _ in }
        try b.train { _ in }
        #expect(a.evaluate(data.test) != b.evaluate(data.test))
    }

    /// On CIFAR-format files, a zoo conv net takes the data's 3 x 32 x 32 input and its 10
    /// classes, and an augmented run stopped mid-epoch resumes to the whole run's bits.
    @Test func augmentedCIFARRunResumesExactly() throws {
        let dir = TemporaryDirectory()
        CIFARReaderTests.writeCIFAR10(in: dir, batches: 2, perBatch: 20, test: 10)
        let files = try DataSource(path: dir.path).load()
        var config = try TrainingConfig.parse(text: """
            model: lenet-5
            epochs: 2
            batch_size: 8
            augment: {random_crop: {padding: 4}, horizontal_flip: true}
            sparsity: {method: rigl, distribution: erk, sparsity: 0.8, delta_t: 3}
            """, source: "c.yaml")
        config.data.path = dir.path
        let whole = try Trainer(config: config, replicas: .single(), data: files)
        #expect(whole.config.model.inputShape == [3, 32, 32] && whole.config.model.classes == 10)
        try whole.train { _ in }
        let stopped = try Trainer(config: config, replicas: .single(), data: files)
        var steps = 0
        stopped.stopVote = { steps == 6 }
        #expect(throws: Trainer.Stopped.self) { try stopped.train(afterStep: { steps = $0 }) { _ in } }
        let resumed = try Trainer(config: config, replicas: .single(), data: files)
        try resumed.restore(try Checkpoint.decode(try stopped.checkpoint().encode(), source: "c"), source: "c")
        try resumed.train { _ in }
        #expect(resumed.step == whole.step && resumed.tensors() == whole.tensors())
        var plain = config
        plain.augmentation = Augmentation()
        let unaugmented = try Trainer(config: plain, replicas: .single(), data: files)
        try unaugmented.train { _ in }
        #expect(unaugmented.tensors() != whole.tensors())
    }
}
