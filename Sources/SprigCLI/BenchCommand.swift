import ArgumentParser
import Foundation
import Sprig

/// `sprig bench`: training throughput beside the machine's sgemm rate.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training samples/s (one rank) beside sgemm GFLOP/s. Build with -c release.",
        discussion: "Synthetic batches; data loading and evaluation are left out. Compare ratios within one run: the machine is shared."
    )

    @Option(name: .long, help: "Comma-separated models from the zoo.")
    var models: String = "lenet-300-100"

    @Option(name: .long, help: "Batch size.")
    var batch: Int = 128

    @Option(name: .long, help: "Micro-batches per batch (the training default is 4; see TrainingConfig).")
    var microbatches: Int = 4

    @Option(name: .long, help: "Timed steps per row.")
    var steps: Int = 1000

    @Option(name: .long, help: "BLAS threads.")
    var threads: Int = 1

    @Flag(name: .long, help: "Print one JSON object per row instead of a table.")
    var json = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard microbatches >= 1, batch % microbatches == 0 else { throw ValidationError("--microbatches must divide --batch") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        for name in models.split(separator: ",") where ModelArchitecture.zoo[String(name)] == nil {
            throw ValidationError("--models: unknown model '\(name)' (known: \(ModelArchitecture.zoo.keys.sorted().joined(separator: ", ")))")
        }
    }

    func run() throws {
        BLAS.setThreads(threads)
        let square = GEMMThroughput.measure(m: 1024, n: 1024, k: 1024)
        if json {
            var j = JSONLine()
            j.add("kernel", "sgemm")
            j.add("shape", "1024x1024x1024")
            j.add("gflops", square)
            j.add("threads", threads)
            print(j.text)
        } else {
            print(String(format: "sgemm 1024x1024x1024: %.1f GFLOP/s (%d BLAS thread%@)", square, threads, threads == 1 ? "" : "s"))
            print("model            sparsity  batch  micro  samples/s  ms/step  GFLOP/s  model_bytes")
        }
        for name in models.split(separator: ",").map(String.init) {
            let arch = ModelArchitecture.zoo[name]!
            let r = TrainingThroughput(model: arch, batch: batch, microbatches: microbatches, steps: steps).run()
            let gflops = r.samplesPerSecond * Double(r.flopsPerExample) / 1e9
            if json {
                var j = JSONLine()
                j.add("model", name)
                j.add("sparsity", 0.0)
                j.add("batch", batch)
                j.add("microbatches", microbatches)
                j.add("samples_per_second", r.samplesPerSecond)
                j.add("gflops", gflops)
                j.add("model_bytes", r.modelBytes)
                j.add("peak_rss_bytes", ResourceUsage.peakResidentBytes ?? -1)
                print(j.text)
            } else {
                print(name.padding(toLength: 16, withPad: " ", startingAt: 0)
                      + String(format: " %8.2f  %5d  %5d  %9.0f  %7.3f  %7.1f  %11d", 0.0, batch, microbatches,
                               r.samplesPerSecond, r.secondsPerStep * 1000, gflops, r.modelBytes))
            }
        }
        if !json, let peak = ResourceUsage.peakResidentBytes {
            print(String(format: "peak resident memory: %.1f MiB", Double(peak) / 1_048_576))
        }
    }
}
