import Foundation
import MPI
import Testing
@testable import Sprig

/// Fuzzing of the readers of untrusted files: thousands of truncated, bit-flipped,
/// byte-overwritten and oversized variants of valid inputs. Each must either parse or end
/// in a `SprigError`; a crash fails the whole test run, and a hang its time limit.
/// The count per reader is bounded (SPRIG_FUZZ_COUNT, default 2000) so CI stays quick.
@Suite struct FuzzTests {
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

    /// Runs `parse` on every mutation; returns how many parsed and how many were rejected.
    static func fuzz(_ seed: [UInt8], _ parse: ([UInt8]) throws -> Void) -> (parsed: Int, rejected: Int) {
        var parsed = 0, rejected = 0
        for i in 0..<count {
            do {
                try parse(mutate(seed, i))
                parsed += 1
            } catch is SprigError {
                rejected += 1
            } catch {
                Issue.record("mutation \(i) threw a non-Sprig error: \(error)")
            }
        }
        return (parsed, rejected)
    }

    @Test func idxReader() {
        let raw = idxBytes([6, 4, 4], (0..<96).map { UInt8($0) })
        let r = FuzzTests.fuzz(raw) { _ = try IDXFile(bytes: $0, source: "fuzz.idx", expectedRank: 3) }
        #expect(r.rejected > FuzzTests.count / 2, "\(r)")
        let gz = Gzip.compress(raw)
        let g = FuzzTests.fuzz(gz) { bytes in
            let inflated = try Gzip.decompress(bytes, source: "fuzz.gz", limit: 1 << 20)
            _ = try IDXFile(bytes: inflated, source: "fuzz.gz", expectedRank: 3)
        }
        #expect(g.rejected > FuzzTests.count / 2, "\(g)")
    }

    @Test func configReader() throws {
        let text = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("configs/rigl-mnist.yaml").path, encoding: .utf8)
        let r = FuzzTests.fuzz(Array(text.utf8)) { bytes in
            _ = try TrainingConfig.parse(text: String(decoding: bytes, as: UTF8.self), source: "fuzz.yaml")
        }
        #expect(r.parsed + r.rejected == FuzzTests.count)
        #expect(r.rejected > 0 && r.parsed > 0, "\(r)")
    }

    @Test func checkpointReader() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10)
        var config = try TrainingConfig.parse(text: "model: {mlp: [64, 8, 4]}\nbatch_size: 20\nmax_steps: 4\nsparsity: {method: snfs, sparsity: 0.5, delta_t: 2}",
                                              source: "f.yaml")
        config.data = dir.path
        let trainer = try Trainer(config: config, communicator: SingleProcessCommunicator(), data: try MNISTData(directory: dir.path, classes: 4))
        try trainer.train { _ in }
        let bytes = trainer.checkpoint().encode()
        #expect(try Checkpoint.decode(bytes, source: "c") == trainer.checkpoint())
        let r = FuzzTests.fuzz(bytes) { b in
            let c = try Checkpoint.decode(b, source: "fuzz.ckpt")
            let fresh = try Trainer(config: config, communicator: SingleProcessCommunicator(), data: try MNISTData(directory: dir.path, classes: 4))
            try fresh.restore(c, source: "fuzz.ckpt")
        }
        // every mutation but the no-op ones breaks the checksum
        #expect(r.rejected >= FuzzTests.count * 9 / 10, "\(r)")
    }

    @Test func safetensorsReader() {
        let bytes = Safetensors.encode([NamedTensor(name: "w", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
                                        NamedTensor(name: "b", shape: [2], values: [7, 8])], metadata: ["config": "x"])
        let r = FuzzTests.fuzz(bytes) { _ = try Safetensors.decode($0, source: "fuzz.safetensors") }
        #expect(r.parsed + r.rejected == FuzzTests.count)
    }
}
