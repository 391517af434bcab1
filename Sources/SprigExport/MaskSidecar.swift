import Foundation

/// The masks of a dense export, in a file of their own beside it, so that the export itself
/// holds exactly the parameters of a plain PyTorch module (`load_state_dict(strict=True)`
/// accepts it: no keys a module does not have).
///
/// For weights `model.safetensors` the masks are `model.masks.safetensors` (any other name:
/// `NAME.masks.safetensors`); weight `fc1.weight`'s mask is `fc1.weight_mask`, F32 of the
/// weight's shape, 1 where the connection is active, the buffer name that PyTorch's
/// `torch.nn.utils.prune` gives a pruned parameter's mask, so
/// `prune.custom_from_mask(model.fc1, "weight", masks["fc1.weight_mask"])` keeps the
/// pattern during fine-tuning. Exports written before the sidecar held `fc1.mask` in the
/// weights file; `read(path:)` still takes them.
public enum MaskSidecar {
    /// The suffix of a mask's name after its weight's name.
    public static let suffix = "_mask"
    /// The suffix older exports used in place of `.weight`.
    public static let legacySuffix = ".mask"

    /// The sidecar path of the weights file `path`.
    public static func path(for path: String) -> String {
        let ext = ".safetensors"
        return (path.hasSuffix(ext) ? String(path.dropLast(ext.count)) : path) + ".masks" + ext
    }

    /// The mask name of weight `weightName` (`fc1.weight` -> `fc1.weight_mask`).
    public static func maskName(_ weightName: String) -> String { weightName + suffix }

    /// A weights file as its parameters, masks and metadata: the parameters are the file's
    /// tensors but legacy masks (`fcN.mask`); the masks are the legacy ones renamed
    /// (`fcN.weight_mask`) and those of the sidecar when it exists.
    public static func read(path: String) throws -> (tensors: [NamedTensor], masks: [NamedTensor], metadata: [String: String]) {
        let (all, metadata) = try Safetensors.read(path: path)
        var tensors: [NamedTensor] = [], masks: [NamedTensor] = []
        for t in all {
            guard t.name.hasSuffix(legacySuffix) else { tensors.append(t); continue }
            var mask = t
            mask.name = maskName(String(t.name.dropLast(legacySuffix.count)) + ".weight")
            masks.append(mask)
        }
        let sidecar = MaskSidecar.path(for: path)
        if FileManager.default.fileExists(atPath: sidecar) {
            masks += try Safetensors.read(path: sidecar).tensors
        }
        return (tensors, masks, metadata)
    }
}
