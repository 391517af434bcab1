import ArgumentParser
import Sprig

/// `sprig compare`: compares two safetensors files tensor by tensor.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two safetensors weight files; exit 1 when they differ beyond the tolerance.",
        discussion: "The relative difference of a tensor is max|a - b| / max|a|; names and shapes must match."
    )

    @Argument(help: "The reference file.") var reference: String
    @Argument(help: "The file to compare with it.") var other: String
    @Option(name: .long, help: "Largest relative difference allowed.") var tolerance: Double = 1e-5

    func run() throws {
        let a: [NamedTensor], b: [NamedTensor]
        do {
            a = try Safetensors.read(path: reference).tensors
            b = try Safetensors.read(path: other).tensors
        } catch {
            printError(String(describing: error))
            throw ExitCode(inputErrorCode)
        }
        let comparison = TensorComparison(reference: a, other: b)
        for row in comparison.rows {
            print("\(row.name)\t\(row.shape)\tmax_abs_diff \(row.maxAbsoluteDifference)\trel_diff \(row.relativeDifference)")
        }
        if let problem = comparison.mismatch {
            printError(problem)
            throw ExitCode(1)
        }
        print("max relative difference \(comparison.maxRelativeDifference) (tolerance \(tolerance))")
        if comparison.maxRelativeDifference > tolerance { throw ExitCode(1) }
    }
}
