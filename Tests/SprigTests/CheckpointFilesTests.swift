import Foundation
import Testing
@testable import Sprig
@testable import SprigExport
@testable import SprigTensor
@testable import SprigTraining

/// The checkpoints a run keeps (`CheckpointFiles`), the fallback past a damaged newest one,
/// and a resumed metrics file (`MetricsFile(continuing:atStep:)`).
@Suite struct CheckpointFilesTests {
    private func checkpoint(step: Int) -> Checkpoint {
        Checkpoint(step: step, seed: 1, configText: "epochs: 1", configSource: "c.yaml", names: ["w"], counts: [2],
                   values: [Float(step), 1], states: [], optimizerSteps: step, masks: [], averages: [], maskUpdates: 0,
                   connectionsChanged: 0, flops: 0, denseFLOPs: 0)
    }

    private func folder() throws -> String {
        let path = NSTemporaryDirectory() + "sprig-ckpt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Three writes with keep 2: the newest at PATH, the one before at PATH.1, none older,
    /// and no temporary file left.
    @Test func keepsTheNewestAndTheOnesBefore() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = CheckpointFiles(path: dir + "/run.ckpt", keep: 2)
        for step in [100, 200, 300] { try files.write(checkpoint(step: step)) }
        #expect(try Checkpoint.read(path: dir + "/run.ckpt").step == 300)
        #expect(try Checkpoint.read(path: dir + "/run.ckpt.1").step == 200)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["run.ckpt", "run.ckpt.1"])
        let three = CheckpointFiles(path: dir + "/three.ckpt", keep: 3)
        for step in [1, 2, 3, 4] { try three.write(checkpoint(step: step)) }
        #expect(try (0..<3).map { try Checkpoint.read(path: three.name(age: $0)).step } == [4, 3, 2])
        #expect(!FileManager.default.fileExists(atPath: three.name(age: 3)))
        // a temporary file of a writer that is gone is removed; a live one's is not
        let stale = dir + "/.run.ckpt.tmp-999999999", live = dir + "/.run.ckpt.tmp-1"
        for file in [stale, live] { FileManager.default.createFile(atPath: file, contents: Data([1])) }
        try files.write(checkpoint(step: 400))
        #expect(!FileManager.default.fileExists(atPath: stale) && FileManager.default.fileExists(atPath: live))
        try FileManager.default.removeItem(atPath: live)
    }

    /// A damaged newest file is skipped, with its reason, for the one before; every file
    /// damaged is the newest's error; no file at all is nil.
    @Test func fallsBackPastADamagedNewest() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = CheckpointFiles(path: dir + "/run.ckpt", keep: 2)
        #expect(try files.newestValid() == nil)
        try files.write(checkpoint(step: 100))
        try files.write(checkpoint(step: 200))
        #expect(try files.newestValid()?.checkpoint.step == 200)
        var bytes = [UInt8](FileManager.default.contents(atPath: files.path)!)
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: files.path))
        let found = try files.newestValid()
        #expect(found?.checkpoint.step == 100 && found?.file == files.path + ".1")
        #expect(found?.skipped.count == 1 && found?.skipped.first?.contains("checksum mismatch") == true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: files.path + ".1"))
        #expect(sprigError { _ = try files.newestValid() }?.subject == files.path)
        // the newest gone (a crash between renames on a file system without hard links): PATH.1
        try files.write(checkpoint(step: 300))
        try files.write(checkpoint(step: 400))
        try FileManager.default.removeItem(atPath: files.path)
        #expect(try files.newestValid()?.checkpoint.step == 300)
    }

    /// A write that cannot complete leaves the kept files as they were and no temporary file.
    @Test func aFailedWriteLeavesTheKeptFiles() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = CheckpointFiles(path: dir + "/run.ckpt", keep: 2)
        try files.write(checkpoint(step: 100))
        try files.write(checkpoint(step: 200))
        let unwritable = CheckpointFiles(path: dir + "/missing/run.ckpt", keep: 2)
        #expect(sprigError { try unwritable.write(checkpoint(step: 300)) }?.message.hasPrefix("cannot write") == true)
        chmod(dir, 0o500)
        defer { chmod(dir, 0o700) }
        if getuid() != 0 {   // root writes to read-only folders
            #expect(sprigError { try files.write(checkpoint(step: 300)) } != nil)
        }
        chmod(dir, 0o700)
        #expect(try Checkpoint.read(path: files.path).step == 200)
        #expect(try Checkpoint.read(path: files.path + ".1").step == 100)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["run.ckpt", "run.ckpt.1"])
    }

    /// A resumed run's metrics file keeps the lines up to the step it resumes from; lines of
    /// later steps (written before the run was killed) and the final line go.
    @Test func aResumedMetricsFileDropsTheLinesAfterItsStep() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/m.jsonl"
        try "{\"epoch\": 1, \"step\": 600}\n{\"epoch\": 2, \"step\": 1200}\n{\"epoch\": 3, \"step\": 1800}\n{\"final\": true, \"step\": 1800}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let metrics = MetricsFile(continuing: path, atStep: 1500)
        var line = JSONLine()
        line.add("epoch", 3)
        line.add("step", 1800)
        try metrics.append(line)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.map { MetricsFile.step(of: String($0)) } == [600, 1200, 1800])
        #expect(MetricsFile.step(of: "{\"epoch\": 1}") == nil)
    }

    /// The keys: checkpoint_keep at least 1, checkpoint_every_minutes non-negative; both in
    /// the config's YAML.
    @Test func theCheckpointKeys() throws {
        let c = try TrainingConfig.parse(text: "checkpoint_keep: 3\ncheckpoint_every_minutes: 0.5\n", source: "c.yaml")
        #expect(c.checkpointKeep == 3 && c.checkpointEveryMinutes == 0.5)
        let again = try TrainingConfig.parse(text: c.yaml, source: "again")
        #expect(again.checkpointKeep == 3 && again.checkpointEveryMinutes == 0.5)
        #expect(TrainingConfig().checkpointKeep == 2 && TrainingConfig().checkpointEveryMinutes == 0)
        #expect(sprigError { _ = try TrainingConfig.parse(text: "checkpoint_keep: 0\n", source: "c.yaml") }?.description.contains("checkpoint_keep") == true)
        #expect(sprigError { _ = try TrainingConfig.parse(text: "checkpoint_every_minutes: -1\n", source: "c.yaml") }?
            .description.contains("checkpoint_every_minutes") == true)
    }
}
