/// Dense training: every layer dense, no masks (the baseline every table compares with).
public enum DenseTraining: MethodDefinition {
    public static let name = "dense"
    public static let summary = "every layer dense"

    public static func traits(_ options: MethodOptions) -> MethodTraits {
        var traits = MethodTraits()
        traits.sparsifiesLayers = false
        return traits
    }

    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? { nil }
}
