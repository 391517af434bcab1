import Foundation
import MPI
import Testing
@testable import Sprig
@testable import SprigData
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

/// Fuzzing of the readers of untrusted files: thousands of truncated, bit-flipped,
/// byte-overwritten and oversized variants of valid inputs. Each must either parse or end
/// in a `SprigError` that names the file; a crash fails the whole test run. A test that
/// runs past the suite's time limit (5 minutes; each takes seconds) is recorded as failed
/// and cancelled, and the loop stops at the next mutation (a call that never returns still
/// blocks the run). The count per reader is bounded (SPRIG_FUZZ_COUNT, default 2000) so CI
/// stays quick.
@Suite(.timeLimit(.minutes(5))) struct FuzzTests {
    static let count = Int(ProcessInfo.processInfo.environment["SPRIG_FUZZ_COUNT"] ?? "") ?? 2000

    /// The `i`-th mutation of `seed`: truncation, bit flips, random bytes, a huge 32-bit
    /// field, or a duplicated tail.
    static func mutate(_ seed: [UInt8], _ i: Int) -> [UInt8] {
        var random = StatelessRandom(seed: UInt64(i), purpose: .shuffle, step: seed.count)
        var b = seed
        switch i % 5 {
        case 0:
            b = Array(b.prefix(random.nextInt(below: b.count + 1)))
        case 1:
            for _ in 0...random.nextInt(below: 4) {
                let p = random.nextInt(below: b.count)
                b[p] ^= UInt8(1 << random.nextInt(below: 8))
            }
        case 2:
            let p = random.nextInt(below: b.count)
            for k in p..<min(b.count, p + 1 + random.nextInt(below: 8)) { b[k] = UInt8(random.nextInt(below: 256)) }
        case 3:
            let p = random.nextInt(below: max(b.count - 3, 1))
            for k in p..<min(b.count, p + 4) { b[k] = 0xFF }
        default:
            b += b.suffix(random.nextInt(below: b.count + 1))
        }
        return b
    }

    /// What the mutations of one input did.
    struct Outcome: CustomStringConvertible {
        var parsed = 0, rejected = 0
        /// Mutations that changed the input, and those of them that were rejected.
        var changed = 0, changedRejected = 0
        /// Strict truncations (kind 0, shorter than the input), and those rejected.
        var truncated = 0, truncatedRejected = 0
        var description: String {
            "parsed \(parsed), rejected \(rejected); changed \(changed) (rejected \(changedRejected)); truncated \(truncated) (rejected \(truncatedRejected))"
        }
    }

    /// Runs `parse` on the input itself (it must parse) and on every mutation; a rejection
    /// must be a `SprigError` whose subject is `source`, the name the reader was given.
    static func fuzz(_ seed: [UInt8], source: String, _ parse: ([UInt8]) throws -> Void) -> Outcome {
        #expect(throws: Never.self, "the unmutated input must parse") { try parse(seed) }
        var o = Outcome()
        for i in 0..<count {
            if Task.isCancelled { // the time limit ran out (and recorded it)
                Issue.record("stopped after \(i) mutations: time limit")
                break
            }
            let b = mutate(seed, i)
            let changed = b != seed, truncated = i % 5 == 0 && b.count < seed.count
            if changed { o.changed += 1 }
            if truncated { o.truncated += 1 }
            do {
                try parse(b)
                o.parsed += 1
            } catch let error as SprigError {
                o.rejected += 1
                if changed { o.changedRejected += 1 }
                if truncated { o.truncatedRejected += 1 }
                if error.subject != source || error.message.isEmpty {
                    Issue.record("mutation \(i): the error does not name \(source): \(error)")
                }
            } catch {
                Issue.record("mutation \(i) threw a non-Sprig error: \(error)")
            }
        }
        #expect(o.parsed + o.rejected == count)
        return o
    }

    /// A binary reader must notice every cut: each strict truncation is rejected.
    static func expectEveryTruncationRejected(_ o: Outcome, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(o.truncatedRejected == o.truncated, "\(o)", sourceLocation: sourceLocation)
        if count >= 20 { #expect(o.truncated > 0, sourceLocation: sourceLocation) }
    }

    @Test func idxReader() {
        let raw = idxBytes([6, 4, 4], (0..<96).map { UInt8($0) })
        let r = FuzzTests.fuzz(raw, source: "fuzz.idx") { _ = try IDXFile(bytes: $0, source: "fuzz.idx", expectedRank: 3) }
        #expect(r.rejected > FuzzTests.count / 2, "\(r)")
        FuzzTests.expectEveryTruncationRejected(r)
        let gz = Gzip.compress(raw)
        let g = FuzzTests.fuzz(gz, source: "fuzz.gz") { bytes in
            let inflated = try Gzip.decompress(bytes, source: "fuzz.gz", limit: 1 << 20)
            _ = try IDXFile(bytes: inflated, source: "fuzz.gz", expectedRank: 3)
        }
        #expect(g.rejected > FuzzTests.count / 2, "\(g)")
        FuzzTests.expectEveryTruncationRejected(g)
    }

    @Test func cifarReader() {
        let records = CIFARRecords(labelClasses: [20, 100], labelNames: ["coarse label", "fine label"], trainedLabel: 1)
        let bytes = cifarBytes(labels: [[3, 77], [19, 99]], pixels: cifarPixels(2, seed: 1))
        let r = FuzzTests.fuzz(bytes, source: "fuzz.bin") { _ = try records.parse($0, source: "fuzz.bin") }
        // flips in pixels read as other pixels; cuts and added tails break the record size
        #expect(r.rejected > FuzzTests.count / 3 && r.parsed > 0, "\(r)")
        // a cut between records leaves a valid file of fewer records; every other cut is refused
        let cuts = (0..<bytes.count).filter { cut in (try? records.parse(Array(bytes[..<cut]), source: "c")) != nil }
        #expect(cuts == [3074], "\(cuts.prefix(5))")
    }

    @Test func numpyArrayReader() {
        let bytes = npyBytes(descr: "<f4", shape: [2, 3], data: floatBytes([1, 2, 3, 4, 5, 6]))
        let r = FuzzTests.fuzz(bytes, source: "fuzz.npy") { b in
            let a = try NumPyArray(bytes: b, source: "fuzz.npy")
            _ = (a.floats(), a.integers())
        }
        #expect(r.rejected > FuzzTests.count / 3 && r.parsed > 0, "\(r)")
        FuzzTests.expectEveryTruncationRejected(r)
    }

    @Test func numpyArchiveReader() throws {
        for compressed in [false, true] {
            let bytes = try npzBytes([("x", npyBytes(descr: "|u1", shape: [2, 1, 2, 2], data: Array(0..<8))),
                                      ("y", npyBytes(descr: "<i8", shape: [2], data: littleEndianBytes([Int64(1), 0])))],
                                     compressed: compressed)
            let dir = TemporaryDirectory()
            let path = dir.file("fuzz.npz")
            let r = FuzzTests.fuzz(bytes, source: path) { b in
                dir.write("fuzz.npz", b)
                _ = try NumPyReader.examples(try NumPyArchive(path: path), layout: .nchw)
            }
            // the archive's CRC-32s catch changed members
            #expect(r.rejected > FuzzTests.count / 2, "\(r)")
        }
    }

    @Test func configReader() throws {
        let text = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("configs/rigl-mnist.yaml").path, encoding: .utf8)
        let r = FuzzTests.fuzz(Array(text.utf8), source: "fuzz.yaml") { bytes in
            _ = try TrainingConfig.parse(text: String(decoding: bytes, as: UTF8.self), source: "fuzz.yaml")
        }
        // many mutations leave valid YAML with valid values (a changed comment, number or
        // tail), but a good share is rejected
        #expect(r.rejected > FuzzTests.count / 3 && r.parsed > 0, "\(r)")
    }

    @Test func checkpointReader() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10)
        var config = try TrainingConfig.parse(text: "model: {mlp: [64, 8, 4]}\nbatch_size: 20\nmax_steps: 4\nsparsity: {method: snfs, sparsity: 0.5, delta_t: 2}",
                                              source: "f.yaml")
        config.data.path = dir.path
        let trainer = try Trainer(config: config, replicas: .single(), data: try DataSource(path: dir.path, classes: 4).load())
        try trainer.train { _ in }
        let bytes = trainer.checkpoint().encode()
        #expect(try Checkpoint.decode(bytes, source: "c") == trainer.checkpoint())
        let r = FuzzTests.fuzz(bytes, source: "fuzz.ckpt") { b in
            let c = try Checkpoint.decode(b, source: "fuzz.ckpt")
            let fresh = try Trainer(config: config, replicas: .single(), data: try DataSource(path: dir.path, classes: 4).load())
            try fresh.restore(c, source: "fuzz.ckpt")
        }
        // every mutation that changes a byte breaks the checksum
        #expect(r.changedRejected == r.changed && r.parsed == FuzzTests.count - r.changed, "\(r)")
    }

    @Test func safetensorsReader() {
        let bytes = Safetensors.encode([NamedTensor(name: "w", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
                                        NamedTensor(name: "b", shape: [2], values: [7, 8])], metadata: ["config": "x"])
        let r = FuzzTests.fuzz(bytes, source: "fuzz.safetensors") { _ = try Safetensors.decode($0, source: "fuzz.safetensors") }
        // flips in the data section read as other floats; header damage and cut data do not
        #expect(r.rejected > FuzzTests.count / 2 && r.parsed > 0, "\(r)")
        FuzzTests.expectEveryTruncationRejected(r)
    }
}
