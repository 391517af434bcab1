/// Static sparse training: the random initial mask never changes (the baseline the RigL
/// paper calls Static).
public final class StaticMask: MaskPolicy, MethodDefinition {
    public static let name = "static"
    public static let summary = "a random mask at initialisation that never changes"

    public static func traits(_ options: MethodOptions) -> MethodTraits { MethodTraits() }
    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? { StaticMask() }

    public init() {}
    public func updatesMasks(atStep t: Int) -> Bool { false }
    public func decide(_ context: MaskContext) -> [MaskDiff] {
        context.layers.indices.map { MaskDiff(sparseLayer: $0, dropped: [], grown: []) }
    }
}
