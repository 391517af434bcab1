import Foundation
import Sprig

/// Rank 0's checkpoints during `sprig train --checkpoint PATH`: every `checkpoint_every`
/// steps and every `checkpoint_every_minutes` minutes, and at the end, each kept with the
/// ones before it (`CheckpointFiles`).
///
/// A checkpoint that cannot be written (a full disk, an I/O error, a read-only folder) is
/// a warning, not the end of the run: the files already on disk are left as they were, and
/// training goes on. Only rank 0 writes, and when it writes does not change the run, so the
/// ranks need not agree on the clock.
struct RunCheckpoints {
    let files: CheckpointFiles
    let everySteps: Int
    let everySeconds: Double
    /// The step of the newest checkpoint on disk (written by this run, or resumed from).
    private(set) var newestStep: Int?
    private var lastAttempt = monotonicSeconds()

    init(path: String, config: TrainingConfig, resumedAt: Int?) {
        files = CheckpointFiles(path: path, keep: config.checkpointKeep)
        everySteps = config.checkpointEvery
        everySeconds = config.checkpointEveryMinutes * 60
        newestStep = resumedAt
    }

    /// Whether a periodic checkpoint is due after `step` (never at the last step: the end
    /// writes its own).
    func isDue(after step: Int, of total: Int) -> Bool {
        guard step < total else { return false }
        return (everySteps > 0 && step % everySteps == 0) || (everySeconds > 0 && monotonicSeconds() - lastAttempt >= everySeconds)
    }

    /// Writes the trainer's checkpoint now. Returns nil when written, else the warning to
    /// print: the path, the error, and which checkpoint is still on disk.
    mutating func write(_ trainer: Trainer) -> String? {
        lastAttempt = monotonicSeconds()
        do {
            try files.write(trainer.checkpoint())
            newestStep = trainer.step
            return nil
        } catch {
            return "\(error) (step \(trainer.step)); \(kept)"
        }
    }

    /// Which checkpoint a failed write left in place.
    var kept: String {
        newestStep.map { "the checkpoint of step \($0) in \(files.path) is kept" } ?? "no earlier checkpoint of this run is on disk"
    }
}
