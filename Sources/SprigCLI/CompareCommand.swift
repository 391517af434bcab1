import ArgumentParser
import Sprig

/// `sprig compare`: compares two safetensors files tensor by tensor.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two safetensors weight files; exit 1 when they differ beyond the tolerance.",
        discussion: "The relative difference of a tensor is max|a - b| / max|a|; names and shapes must match. A file's masks "
            + "(NAME.masks.safetensors beside it, or fcN.mask in older exports, as fcN.weight_mask) are compared too. "
            + "--tolerance 0 asks for the same bits: -0 against +0 differs."
    )

    @Argument(help: "The reference file.") var reference: String
    @Argument(help: "The file to compare with it.") var other: String
    @Option(name: .long, help: "Largest relative difference allowed.") var tolerance: Double = 1e-5

    func run() throws {
        let a: [NamedTensor], b: [NamedTensor]
        do {
            let (ta, ma, _) = try MaskSidecar.read(path: reference), (tb, mb, _) = try MaskSidecar.read(path: other)
            (a, b) = (ta + ma, tb + mb)
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
        if tolerance == 0 && comparison.differingBits > 0 {
            let tensors = comparison.rows.filter { $0.differingBits > 0 }.map { "\($0.name) \($0.differingBits)" }
            print("max relative difference \(comparison.maxRelativeDifference) (tolerance 0), but \(comparison.differingBits) values "
                  + "differ in their bits (-0 against +0, or NaN payloads: \(tensors.joined(separator: ", ")))")
            throw ExitCode(1)
        }
        print("max relative difference \(comparison.maxRelativeDifference) (tolerance \(tolerance))")
        if !(comparison.maxRelativeDifference <= tolerance) { throw ExitCode(1) }
    }
}
