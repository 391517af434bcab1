import Foundation
import Testing
@testable import SprigData
@testable import SprigTensor

/// `.npy` arrays and `.npz` archives (as numpy.save and numpy.savez write them), read back.
@Suite struct NumPyReaderTests {
    @Test func npyHeadersTypesAndOrders() throws {
        let u8 = try NumPyArray(bytes: npyBytes(descr: "|u1", shape: [2, 3], data: [1, 2, 3, 4, 5, 6]), source: "a")
        #expect(u8.shape == [2, 3] && u8.typeName == "uint8" && u8.data == [1, 2, 3, 4, 5, 6])
        #expect(u8.integers() == [1, 2, 3, 4, 5, 6] && u8.floats() == nil)
        let f8 = try NumPyArray(bytes: npyBytes(descr: "<f8", shape: [2], data: littleEndianBytes([1.5, -2.25].map(\.bitPattern)), version2: true), source: "a")
        #expect(f8.typeName == "float64" && f8.floats() == [1.5, -2.25])
        let big = try NumPyArray(bytes: npyBytes(descr: ">i4", shape: [2], data: [0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE]), source: "a")
        #expect(big.integers() == [258, -2])
        // Fortran order: the column-major values of [[1, 2, 3], [4, 5, 6]]
        let fortran = try NumPyArray(bytes: npyBytes(descr: "|u1", shape: [2, 3], data: [1, 4, 2, 5, 3, 6], fortran: true), source: "a")
        #expect(fortran.data == [1, 2, 3, 4, 5, 6])
        let cube = try NumPyArray(bytes: npyBytes(descr: "<i2", shape: [2, 2, 2], data: littleEndianBytes([0, 4, 2, 6, 1, 5, 3, 7].map(Int16.init)), fortran: true), source: "a")
        #expect(cube.integers() == [0, 1, 2, 3, 4, 5, 6, 7])
        let scalar = try NumPyArray(bytes: npyBytes(descr: "<u2", shape: [], data: [7, 0]), source: "a")
        #expect(scalar.shape == [] && scalar.integers() == [7])
    }

    @Test(arguments: [
        (npyBytes(descr: "<c8", shape: [1], data: Array(repeating: 0, count: 8)), "element type '<c8' is not supported"),
        (npyBytes(descr: "<f2", shape: [1], data: [0, 0]), "element type '<f2' is not supported"),
        (npyBytes(descr: "|u1", shape: [4], data: [1, 2, 3]), "truncated array: shape [4] of |u1 needs 4 bytes, found 3"),
        (npyBytes(descr: "|u1", shape: [2], data: [1, 2, 3]), "trailing data after the array"),
        (Array("PK\u{3}\u{4}not numpy".utf8), "not a NumPy .npy array"),
        (Array(npyBytes(descr: "|u1", shape: [1], data: [1]).prefix(30)), "truncated .npy header"),
    ])
    func npyRejects(bytes: [UInt8], expected: String) {
        let error = sprigError { _ = try NumPyArray(bytes: bytes, source: "a.npy") }
        #expect(error?.subject == "a.npy" && error?.message.hasPrefix(expected) == true, "\(String(describing: error))")
    }

    @Test func npyRejectsStructuredAndMalformedHeaders() {
        var structured = npyBytes(descr: "|u1", shape: [1], data: [1])
        let text = "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }"
        structured.replaceSubrange(10..<(10 + text.utf8.count), with: Array(text.utf8))
        #expect(sprigError { _ = try NumPyArray(bytes: structured, source: "s") }?.message.contains("structured arrays are not supported") == true)
        var junk = npyBytes(descr: "|u1", shape: [1], data: [1])
        junk[10] = UInt8(ascii: "[")
        #expect(sprigError { _ = try NumPyArray(bytes: junk, source: "s") }?.message.hasPrefix("malformed .npy header") == true)
    }

    /// Images of 2 x 3 x 2 values per example, as x of N x C x H x W, or of N x H x W x C.
    static let nchw: [UInt8] = Array(0..<24)        // 2 examples x 12 values

    @Test func npzExamplesShapesLayoutsAndLabels() throws {
        let dir = TemporaryDirectory()
        let y = npyBytes(descr: "<i8", shape: [2], data: littleEndianBytes([Int64(1), 0]))
        try writeNPZ(dir.file("train.npz"), [("x", npyBytes(descr: "|u1", shape: [2, 2, 3, 2], data: NumPyReaderTests.nchw)), ("y", y)])
        try writeNPZ(dir.file("test.npz"), [("y", npyBytes(descr: "|i1", shape: [1, 1], data: [1])),
                                            ("x", npyBytes(descr: "|u1", shape: [1, 2, 3, 2], data: Array(0..<12)))], compressed: true)
        let data = try DataSource(path: dir.path).load()
        #expect(data.format == .npz && data.classes == 2 && data.train.exampleShape == [2, 3, 2])
        #expect(data.train.pixels! == NumPyReaderTests.nchw && data.train.labels == [1, 0] && data.test.labels == [1])
        // the same images as N x H x W x C: value (n, c, h, w) at ((n H + h) W + w) C + c
        var nhwc = [UInt8](repeating: 0, count: 24)
        for n in 0..<2 { for c in 0..<2 { for h in 0..<3 { for w in 0..<2 {
            nhwc[((n * 3 + h) * 2 + w) * 2 + c] = NumPyReaderTests.nchw[((n * 2 + c) * 3 + h) * 2 + w]
        } } } }
        try writeNPZ(dir.file("train.npz"), [("x", npyBytes(descr: "|u1", shape: [2, 3, 2, 2], data: nhwc)), ("y", y)])
        try writeNPZ(dir.file("test.npz"), [("x", npyBytes(descr: "|u1", shape: [1, 3, 2, 2], data: Array(nhwc[0..<12]))), ("y", y.prefix(0) + npyBytes(descr: "<u2", shape: [1], data: [1, 0]))])
        let transposed = try DataSource(path: dir.path, layout: .nhwc).load()
        #expect(transposed.train.exampleShape == [2, 3, 2] && transposed.train.pixels! == NumPyReaderTests.nchw)
        #expect(transposed.test.pixels! == Array(NumPyReaderTests.nchw[0..<12]))
        // float features N x F (float64 rounded to float32), and one-channel images N x H x W
        let features = [Float](arrayLiteral: 0.5, -1, 2, 0.25, 3, -0.125)
        try writeNPZ(dir.file("train.npz"), [("x", npyBytes(descr: "<f4", shape: [2, 3], data: floatBytes(features))), ("y", y)])
        try writeNPZ(dir.file("test.npz"), [("x", npyBytes(descr: "<f8", shape: [1, 3], data: littleEndianBytes([0.5, 1, 1.5].map(\.bitPattern)))), ("y", y.prefix(0) + npyBytes(descr: "<i4", shape: [1], data: [0, 0, 0, 0]))])
        let floats = try DataSource(path: dir.path, classes: 3).load()
        #expect(floats.train.values == .float32(features) && floats.test.values == .float32([0.5, 1, 1.5]))
        #expect(floats.train.exampleShape == [3] && floats.classes == 3)
        try writeNPZ(dir.file("train.npz"), [("x", npyBytes(descr: "|u1", shape: [2, 2, 3], data: Array(0..<12))), ("y", y)])
        try writeNPZ(dir.file("test.npz"), [("x", npyBytes(descr: "|u1", shape: [1, 2, 3], data: Array(0..<6))), ("y", y.prefix(0) + npyBytes(descr: "<i8", shape: [1], data: Array(repeating: 0, count: 8)))])
        #expect(try DataSource(path: dir.path).load().train.exampleShape == [1, 2, 3])
    }

    /// Each damaged pair of archives and the start of the error it must give, naming the file.
    @Test func npzErrorsNameTheFileAndTheProblem() throws {
        let dir = TemporaryDirectory()
        let x = npyBytes(descr: "|u1", shape: [2, 4], data: Array(0..<8)), y = npyBytes(descr: "<i8", shape: [2], data: littleEndianBytes([Int64(0), 1]))
        let cases: [([(String, [UInt8])], [(String, [UInt8])], String, String)] = [
            ([("x", x)], [("x", x), ("y", y)], "train.npz", "holds no array 'y' (it holds x;"),
            ([("x", x), ("y", npyBytes(descr: "<i8", shape: [3], data: Array(repeating: 0, count: 24)))], [("x", x), ("y", y)], "train.npz", "x holds 2 examples but y holds 3 labels"),
            ([("x", npyBytes(descr: "<i2", shape: [2, 4], data: Array(repeating: 0, count: 16))), ("y", y)], [("x", x), ("y", y)], "train.npz", "x is int16 ('<i2'): Sprig reads uint8 or float32"),
            ([("x", x), ("y", npyBytes(descr: "<f4", shape: [2], data: Array(repeating: 0, count: 8)))], [("x", x), ("y", y)], "train.npz", "y is float32: labels must be integers"),
            ([("x", x), ("y", npyBytes(descr: "<i8", shape: [2], data: littleEndianBytes([Int64(0), -1])))], [("x", x), ("y", y)], "train.npz", "label -1 at index 1 is out of range"),
            ([("x", x), ("y", y)], [("x", npyBytes(descr: "|u1", shape: [2, 5], data: Array(0..<10))), ("y", y)], "test.npz", "x's examples are 5, train.npz's are 4"),
            ([("x", x), ("y", y)], [("x", npyBytes(descr: "<f4", shape: [2, 4], data: floatBytes(Array(repeating: 1, count: 8)))), ("y", y)], "test.npz", "x is float32, train.npz's x is uint8"),
            ([("x", npyBytes(descr: "<f4", shape: [2, 4], data: floatBytes([1, 2, 3, 4, 5, .nan, 7, 8]))), ("y", y)], [("x", x), ("y", y)], "train.npz", "x holds nan in example 1: values must be finite"),
            ([("x", x), ("y", y)], [("x", x), ("y", npyBytes(descr: "<i8", shape: [2], data: littleEndianBytes([Int64(0), 2])))], "test.npz", "label 2 at index 1 is out of range 0..<2 (the training labels are 0..<2)"),
            ([("x", npyBytes(descr: "|u1", shape: [0, 4], data: [])), ("y", npyBytes(descr: "<i8", shape: [0], data: []))], [("x", x), ("y", y)], "train.npz", "x holds no examples"),
            ([("x", npyBytes(descr: "<f8", shape: [2, 4], data: littleEndianBytes([1, 2, 3, 4, 5, 6, 1e300, 8].map(\.bitPattern)))), ("y", y)], [("x", x), ("y", y)], "train.npz", "x holds 1e+300 in example 1: values must be finite and within ±1e30"),
            ([("x", x), ("y", npyBytes(descr: "<i8", shape: [2], data: littleEndianBytes([Int64(0), 1 << 40])))], [("x", x), ("y", y)], "train.npz", "label 1099511627776 at index 1 is out of range"),
            ([("x", x), ("y", npyBytes(descr: "<i4", shape: [2], data: littleEndianBytes([Int32(0), 1 << 20])))], [("x", x), ("y", y)], "train.npz", "label 1048576 at index 1 would make 1048577 classes (at most 1048576)"),
            ([("x", x), ("y", npyBytes(descr: "<i8", shape: [], data: Array(repeating: 0, count: 8)))], [("x", x), ("y", y)], "train.npz", "y has shape [], expected 2 labels"),
        ]
        for (train, test, file, expected) in cases {
            try writeNPZ(dir.file("train.npz"), train)
            try writeNPZ(dir.file("test.npz"), test)
            let error = sprigError { _ = try DataSource(path: dir.path).load() }
            #expect(error?.subject == dir.file(file) && error?.message.hasPrefix(expected) == true, "\(expected): \(String(describing: error))")
        }
        try writeNPZ(dir.file("train.npz"), [("x", x), ("y", y)])
        let nhwc = sprigError { _ = try DataSource(path: dir.path, layout: .nhwc).load() }
        #expect(nhwc?.message == "x has shape [2, 4], but data.layout nhwc needs N x H x W x C")
        dir.write("test.npz", "not a zip archive")
        #expect(sprigError { _ = try DataSource(path: dir.path).load() }?.message.hasPrefix("not an .npz file") == true)
    }

    /// MNIST-format data written as npz (uint8 N x 1 x H x W, int64 labels) reads as the
    /// same examples, and trains to the same bits.
    @Test func npzOfIDXDataIsTheSameData() throws {
        let idx = TemporaryDirectory(), npz = TemporaryDirectory()
        writeSyntheticMNIST(in: idx, train: 80, test: 20, side: 8)
        let fromIDX = try DataSource(path: idx.path).load()
        try writeNPZ(in: npz, from: fromIDX)
        let fromNPZ = try DataSource(path: npz.path).load()
        #expect(fromNPZ.train.pixels! == fromIDX.train.pixels! && fromNPZ.train.labels == fromIDX.train.labels)
        #expect(fromNPZ.test.pixels! == fromIDX.test.pixels! && fromNPZ.train.exampleShape == [1, 8, 8] && fromNPZ.classes == 4)
        #expect(fromNPZ.train.digest == fromIDX.train.digest && fromNPZ.test.digest == fromIDX.test.digest)
    }
}
