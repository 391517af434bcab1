import Foundation
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

@Suite struct ExportTests {
    @Test func safetensorsRoundTrip() throws {
        let dir = TemporaryDirectory()
        let tensors = [NamedTensor(name: "fc1.weight", shape: [2, 3], values: [1, -2, 3.5, 0, .leastNonzeroMagnitude, 6]),
                       NamedTensor(name: "fc1.bias", shape: [2], values: [0.25, -0.5])]
        try Safetensors.write(tensors, metadata: ["config": "a: \"b\"\n"], to: dir.file("m.safetensors"))
        let (read, metadata) = try Safetensors.read(path: dir.file("m.safetensors"))
        #expect(read == tensors)
        #expect(metadata == ["config": "a: \"b\"\n"])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("m.safetensors"))))
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        #expect(headerLength % 8 == 0)
        #expect(bytes.count == 8 + headerLength + 8 * 4)
    }

    @Test func safetensorsRejectsDamage() throws {
        let good = Safetensors.encode([NamedTensor(name: "w", shape: [4], values: [1, 2, 3, 4])])
        #expect(sprigError { _ = try Safetensors.decode(Array(good[..<5]), source: "s") }?.message.contains("truncated") == true)
        #expect(sprigError { _ = try Safetensors.decode(Array(good.dropLast(4)), source: "s") }?.message.contains("data offsets") == true)
        var bad = good
        bad[8] = UInt8(ascii: "[")
        #expect(sprigError { _ = try Safetensors.decode(bad, source: "s") }?.subject == "s")
    }

    /// A crafted header whose dimensions each pass the per-dimension bound but whose
    /// product (or byte count) overflows Int is rejected with the reader's error, not a trap.
    @Test(arguments: [[1 << 31, 1 << 31, 1 << 31], // 2^93 values: the product overflows
                      [1 << 31, 1 << 31]]) // 2^62 values: the byte count 2^64 overflows
    func safetensorsRejectsShapesThatOverflow(shape: [Int]) throws {
        func file(shape: [Int]) -> [UInt8] {
            var header = Array("{\"w\": {\"dtype\": \"F32\", \"shape\": \(shape), \"data_offsets\": [0, 4]}}".utf8)
            while header.count % 8 != 0 { header.append(0x20) }
            var bytes: [UInt8] = []
            withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
            return bytes + header + [0, 0, 128, 63] // one float, 1.0
        }
        let error = sprigError { _ = try Safetensors.decode(file(shape: shape), source: "crafted.safetensors") }
        #expect(error == SprigError("crafted.safetensors", "tensor 'w': shape \(shape) is too large"))
        // the same file with a shape that fits its data reads
        #expect(try Safetensors.decode(file(shape: [1, 1]), source: "ok").tensors == [NamedTensor(name: "w", shape: [1, 1], values: [1])])
    }

    @Test func atomicWriteReplacesWholeAndLeavesNoTemporary() throws {
        let dir = TemporaryDirectory()
        try AtomicFile.write("first\n", to: dir.file("f.txt"))
        try AtomicFile.write("second\n", to: dir.file("f.txt"))
        #expect(try String(contentsOfFile: dir.file("f.txt"), encoding: .utf8) == "second\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["f.txt"])
        #expect(sprigError { try AtomicFile.write("x", to: dir.file("missing/f.txt")) }?.subject == dir.file("missing/f.txt"))
    }

    @Test func jsonLinesAreValidJSON() throws {
        var line = JSONLine()
        line.add("epoch", 3)
        line.add("loss", 0.25)
        line.add("nan", Double.nan)
        line.add("name", "a \"quoted\"\n\u{1}name")
        line.add("final", true)
        let object = try JSONSerialization.jsonObject(with: Data(line.text.utf8)) as! [String: Any]
        #expect(object["epoch"] as? Int == 3)
        #expect(object["loss"] as? Double == 0.25)
        #expect(object["nan"] is NSNull)
        #expect(object["name"] as? String == "a \"quoted\"\n\u{1}name")
        #expect(object["final"] as? Bool == true)
        #expect(line.text.hasPrefix("{\"epoch\": 3"))
    }

    @Test func metricsFileHoldsEveryLine() throws {
        let dir = TemporaryDirectory()
        let file = MetricsFile(path: dir.file("m.jsonl"))
        for i in 0..<3 {
            var j = JSONLine()
            j.add("epoch", i)
            try file.append(j)
        }
        #expect(try String(contentsOfFile: dir.file("m.jsonl"), encoding: .utf8) == "{\"epoch\": 0}\n{\"epoch\": 1}\n{\"epoch\": 2}\n")
    }

    @Test func tensorComparison() {
        let a = [NamedTensor(name: "w", shape: [2], values: [2, -4])]
        let b = [NamedTensor(name: "w", shape: [2], values: [2, -4.004])]
        #expect(abs(TensorComparison(reference: a, other: b).maxRelativeDifference - 0.001) < 1e-6)
        #expect(TensorComparison(reference: a, other: a).maxRelativeDifference == 0)
        #expect(TensorComparison(reference: a, other: [NamedTensor(name: "v", shape: [2], values: [2, -4])]).mismatch != nil)
    }

    /// A NaN facing a number is an infinite difference, whichever side it is on; NaNs at
    /// the same positions (and equal infinities) are no difference.
    @Test func tensorComparisonSeesNaN() {
        func compare(_ x: [Float], _ y: [Float]) -> TensorComparison {
            TensorComparison(reference: [NamedTensor(name: "w", shape: [x.count], values: x)],
                             other: [NamedTensor(name: "w", shape: [y.count], values: y)])
        }
        for (x, y) in [([1, .nan, 3], [1, 2, 3]), ([1, 2, 3], [1, .nan, 3]), ([.nan, 2, 3], [1, 2, .nan])] as [([Float], [Float])] {
            let c = compare(x, y)
            #expect(c.mismatch == nil)
            #expect(c.rows.map(\.maxAbsoluteDifference) == [.infinity], "\(x) vs \(y)")
            #expect(c.maxRelativeDifference == .infinity, "\(x) vs \(y)")
        }
        let same = compare([1, .nan, -.infinity, .infinity], [1, .nan, -.infinity, .infinity])
        #expect(same.rows.map(\.maxAbsoluteDifference) == [0] && same.maxRelativeDifference == 0)
        // NaN in the same place, and an ordinary difference elsewhere, still counts that difference
        let elsewhere = compare([.nan, 2], [.nan, 2.5])
        #expect(elsewhere.rows.map(\.maxAbsoluteDifference) == [0.5] && abs(elsewhere.maxRelativeDifference - 0.25) < 1e-12)
        // "the same bits": -0 against +0 is no difference in value but one in bits
        let signedZero = compare([1, -0.0, 3], [1, 0, 3])
        #expect(signedZero.maxRelativeDifference == 0 && signedZero.differingBits == 1)
        #expect(same.differingBits == 0)
    }
}
