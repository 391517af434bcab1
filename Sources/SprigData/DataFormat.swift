/// The data formats Sprig reads, each with its reader (`DataReader`).
public enum DataFormat: String, CaseIterable, Sendable {
    /// IDX files in MNIST's layout (MNIST, Fashion-MNIST, any IDX set): `IDXReader`.
    case idx
    /// CIFAR-10's binary distribution (`cifar-10-batches-bin/`): `CIFAR10Reader`.
    case cifar10
    /// CIFAR-100's binary distribution (`cifar-100-binary/`): `CIFAR100Reader`.
    case cifar100
    /// NumPy arrays, `train.npz` and `test.npz` with arrays `x` and `y`: `NumPyReader`.
    case npz

    /// The reader of this format.
    public var reader: DataReader.Type {
        switch self {
        case .idx: return IDXReader.self
        case .cifar10: return CIFAR10Reader.self
        case .cifar100: return CIFAR100Reader.self
        case .npz: return NumPyReader.self
        }
    }

    /// The format's name as users know it.
    public var title: String {
        switch self {
        case .idx: return "MNIST-format IDX"
        case .cifar10: return "CIFAR-10 binary"
        case .cifar100: return "CIFAR-100 binary"
        case .npz: return "NumPy .npz"
        }
    }
}
