import SprigTensor

/// How `--weights-out` stores sparse layers:
///
/// - `dense`: each sparse weight dense-shaped (zero at inactive connections), float32, what
///   NumPy uses directly and a PyTorch module's `load_state_dict(strict=True)` takes; the
///   masks (`fcN.weight_mask`, 1 where active) go to a sidecar file (`MaskSidecar`);
/// - `sparse`: each sparse weight in CSR form (`CSRTensors`: `fcN.weight.crow_indices`,
///   `.col_indices`, `.values`, dense shape in the metadata), so the file and the memory
///   used to write and read it follow the active weights;
/// - `auto` (the default): `sparse` when the sparse layers' dense sizes add up to more than
///   `autoThreshold` values (256 MB of float32), else `dense`.
///
/// Dense layers and biases are plain tensors in both forms.
public enum WeightsFormat: String, CaseIterable {
    case dense, sparse, auto

    /// Dense values of the sparse layers above which `auto` writes the sparse form.
    public static let autoThreshold = 64 << 20

    /// The format named `text` (a `--weights-format` value); `option` names it in errors.
    public init(parsing text: String, option: String) throws {
        guard let format = WeightsFormat(rawValue: text) else {
            throw SprigError(option, "unknown weights format '\(text)' (known: \(WeightsFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = format
    }

    /// Whether to write the sparse form, for sparse layers of `sparseDenseValues` dense values.
    public func isSparse(sparseDenseValues: Int) -> Bool {
        switch self {
        case .dense: return false
        case .sparse: return true
        case .auto: return sparseDenseValues > WeightsFormat.autoThreshold
        }
    }
}
