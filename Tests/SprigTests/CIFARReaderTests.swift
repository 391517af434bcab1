import Foundation
import Testing
@testable import SprigData
@testable import SprigTensor

/// CIFAR-10 and CIFAR-100 binary files, written in their exact layouts, read back.
@Suite struct CIFARReaderTests {
    /// A CIFAR-10 folder: `batches` training files of `perBatch` records, a test file of
    /// `test` records, and the class names.
    static func writeCIFAR10(in dir: TemporaryDirectory, batches: Int = 2, perBatch: Int = 3, test: Int = 2) {
        for k in 1...batches {
            dir.write("data_batch_\(k).bin", cifarBytes(labels: (0..<perBatch).map { [UInt8(($0 + k) % 10)] },
                                                        pixels: cifarPixels(perBatch, seed: k)))
        }
        dir.write("test_batch.bin", cifarBytes(labels: (0..<test).map { [UInt8($0 % 10)] }, pixels: cifarPixels(test, seed: 99)))
        dir.write("batches.meta.txt", "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")
    }

    @Test func cifar10ReadsRecordsChannelByChannelAndBatchesInOrder() throws {
        let dir = TemporaryDirectory()
        CIFARReaderTests.writeCIFAR10(in: dir)
        let data = try DataSource(path: dir.path).load()
        #expect(data.format == .cifar10 && data.classes == 10)
        #expect(data.train.exampleShape == [3, 32, 32] && data.train.count == 6 && data.test.count == 2)
        #expect(data.train.pixels! == cifarPixels(3, seed: 1) + cifarPixels(3, seed: 2))
        #expect(data.train.labels == [1, 2, 3, 2, 3, 4])
        #expect(data.test.pixels! == cifarPixels(2, seed: 99) && data.test.labels == [0, 1])
        #expect(data.classNames?.first == "airplane" && data.classNames?.count == 10)
        // a record's first 1024 bytes after the label are the red plane: channel 0 of the example
        #expect(Array(data.train.pixels![0..<1024]) == Array(cifarPixels(1, seed: 1)[0..<1024]))
    }

    @Test func cifar10RefusesPartialRecordsBadLabelsAndGaps() throws {
        let dir = TemporaryDirectory()
        CIFARReaderTests.writeCIFAR10(in: dir)
        let whole = cifarBytes(labels: [[1], [2]], pixels: cifarPixels(2, seed: 5))
        dir.write("data_batch_2.bin", Array(whole.dropLast(100)))
        let partial = sprigError { _ = try DataSource(path: dir.path).load() }
        #expect(partial?.subject == dir.file("data_batch_2.bin"))
        #expect(partial?.message.hasPrefix("6046 bytes is not a whole number of 3073-byte records") == true, "\(String(describing: partial))")
        dir.write("data_batch_2.bin", cifarBytes(labels: [[1], [12]], pixels: cifarPixels(2, seed: 5)))
        #expect(sprigError { _ = try DataSource(path: dir.path).load() } == SprigError(dir.file("data_batch_2.bin"), "label 12 of record 1 is out of range 0..<10"))
        dir.write("data_batch_2.bin", [])
        #expect(sprigError { _ = try DataSource(path: dir.path).load() }?.message == "holds no records (an empty file)")
        try FileManager.default.removeItem(atPath: dir.file("data_batch_2.bin"))
        dir.write("data_batch_3.bin", whole)
        let gap = sprigError { _ = try DataSource(path: dir.path).load() }
        #expect(gap?.subject == dir.file("data_batch_2.bin") && gap?.message.hasPrefix("missing data file") == true)
        try FileManager.default.removeItem(atPath: dir.file("data_batch_3.bin"))
        // a stray number far past the batches is named without counting up to it; names CIFAR
        // does not write (a sign, a leading zero) are not batches
        dir.write("data_batch_99999999999999999.bin", whole)
        dir.write("data_batch_02.bin", whole)
        let stray = sprigError { _ = try DataSource(path: dir.path).load() }
        #expect(stray?.subject == dir.file("data_batch_2.bin") && stray?.message.contains("data_batch_99999999999999999.bin is there") == true)
        try FileManager.default.removeItem(atPath: dir.file("data_batch_99999999999999999.bin"))
        #expect(try DataSource(path: dir.path).load().train.count == 3)
        dir.write("data_batch_2.bin", whole)
        dir.write("batches.meta.txt", "cat\ndog\n")
        #expect(sprigError { _ = try DataSource(path: dir.path).load() } == SprigError(dir.file("batches.meta.txt"), "names 2 classes, expected 10 (one name a line)"))
        try FileManager.default.removeItem(atPath: dir.file("test_batch.bin"))
        #expect(sprigError { _ = try DataSource(path: dir.path).load() }?.subject == dir.file("test_batch.bin"))
    }

    @Test func cifar100TrainsOnFineOrCoarseLabels() throws {
        let dir = TemporaryDirectory()
        dir.write("train.bin", cifarBytes(labels: [[3, 77], [19, 99], [0, 0]], pixels: cifarPixels(3, seed: 1)))
        dir.write("test.bin", cifarBytes(labels: [[5, 42]], pixels: cifarPixels(1, seed: 2)))
        let fine = try DataSource(path: dir.path).load()
        #expect(fine.format == .cifar100 && fine.classes == 100 && fine.train.labels == [77, 99, 0] && fine.test.labels == [42])
        #expect(fine.train.pixels! == cifarPixels(3, seed: 1) && fine.classNames == nil)
        let coarse = try DataSource(path: dir.path, label: .coarse).load()
        #expect(coarse.classes == 20 && coarse.train.labels == [3, 19, 0] && coarse.test.labels == [5])
        dir.write("coarse_label_names.txt", (0..<20).map { "group\($0)" }.joined(separator: "\n"))
        #expect(try DataSource(path: dir.path, label: .coarse).load().classNames?.last == "group19")
        dir.write("test.bin", cifarBytes(labels: [[20, 42]], pixels: cifarPixels(1, seed: 2)))
        #expect(sprigError { _ = try DataSource(path: dir.path).load() } == SprigError(dir.file("test.bin"), "coarse label 20 of record 0 is out of range 0..<20"))
        // a CIFAR-10 file read as CIFAR-100 is not a whole number of 3074-byte records
        dir.write("test.bin", cifarBytes(labels: [[1], [2]], pixels: cifarPixels(2, seed: 3)))
        #expect(sprigError { _ = try DataSource(path: dir.path).load() }?.message.contains("is it truncated, or of the other CIFAR?") == true)
    }

    @Test func folderFormatIsRecognisedOrSaidOutright() throws {
        let root = TemporaryDirectory()
        let empty = sprigError { _ = try DataSource(path: root.path).load() }
        #expect(empty?.message.hasPrefix("holds no data set Sprig reads: looked for train-images-idx3-ubyte") == true)
        // the download's folder inside the given one is read through it
        try FileManager.default.createDirectory(atPath: root.file("cifar-10-batches-bin"), withIntermediateDirectories: false)
        let inner = TemporaryDirectory()
        CIFARReaderTests.writeCIFAR10(in: inner)
        for name in try FileManager.default.contentsOfDirectory(atPath: inner.path) {
            try FileManager.default.copyItem(atPath: inner.file(name), toPath: root.file("cifar-10-batches-bin/" + name))
        }
        #expect(try DataSource(path: root.path).resolve() == (.cifar10, root.file("cifar-10-batches-bin")))
        #expect(sprigError { _ = try DataSource(path: inner.file("test_batch.bin")).resolve() }?.message
            == "is a file; --data and data: name the folder that holds the data files")
        #expect(try DataSource(path: root.path, format: .cifar10).load().train.count == 6)
        try FileManager.default.createDirectory(atPath: root.file("cifar-100-binary"), withIntermediateDirectories: false)
        root.write("cifar-100-binary/train.bin", cifarBytes(labels: [[1, 2]], pixels: cifarPixels(1, seed: 1)))
        #expect(sprigError { _ = try DataSource(path: root.path).resolve() }?.message
            == "holds the folders of several data sets (cifar-10-batches-bin, cifar-100-binary): pass one of them")
        #expect(try DataSource(path: root.path, format: .cifar10).resolve().format == .cifar10)
        let wrong = sprigError { _ = try DataSource(path: inner.path, format: .npz).load() }
        #expect(wrong == SprigError(inner.path, "holds no NumPy .npz data: looked for train.npz and test.npz"))
        writeSyntheticMNIST(in: inner, train: 20, test: 5)
        let both = sprigError { _ = try DataSource(path: inner.path).load() }
        #expect(both?.message.hasPrefix("holds files of several formats (idx, cifar10): say which with data: {path:") == true)
        #expect(try DataSource(path: inner.path, format: .idx).load().train.count == 20)
        // options that do not apply to the format are errors naming the field
        let fail = { (field: String, message: String) in SprigError("c.yaml", "\(field): \(message)") }
        #expect(sprigError { _ = try DataSource(path: inner.path, format: .cifar10, label: .fine).load(fail: fail) }?.message
            == "data.label: applies to CIFAR-100 data only; \(inner.path) holds cifar10 data")
        #expect(sprigError { _ = try DataSource(path: inner.path, format: .cifar10, layout: .nhwc).load(fail: fail) }?.message
            .hasPrefix("data.layout: applies to NumPy (npz) data only") == true)
        #expect(sprigError { _ = try DataSource(path: inner.path, format: .cifar10, classes: 10).load(fail: fail) }?.message
            .hasPrefix("data.classes: applies to idx and npz data") == true)
    }
}
