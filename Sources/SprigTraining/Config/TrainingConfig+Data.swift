import SprigTensor
import SprigData
import SprigExport
import SprigModels
import Yams

/// The config's data keys: `data` (a folder, or how to read it) and `augment`, and the
/// model fitted to what the data holds.
extension TrainingConfig {
    /// `data: DIR`, or `data: {path: DIR, format: idx|cifar10|cifar100|npz,
    /// label: fine|coarse, layout: nchw|nhwc, classes: N}` (every key optional: the path
    /// defaults to data/mnist, and `--data` sets it); nil when the key is absent.
    static func readDataSource(_ r: ConfigReader) throws -> DataSource? {
        guard r.isSection("data") else { return try r.string("data").map { DataSource(path: $0) } }
        let d = try r.section("data")!
        var source = DataSource(path: try d.string("path") ?? TrainingConfig().data.path)
        source.format = try d.string("format").map { try DataSource.option($0, kind: "format") { d.error("format", $0) } }
        source.label = try d.string("label").map { try DataSource.option($0) { d.error("label", $0) } }
        source.layout = try d.string("layout").map { try DataSource.option($0) { d.error("layout", $0) } }
        if let classes = try d.int("classes") {
            guard classes >= 1 && classes <= DataSplits.maximumClasses else {
                throw d.error("classes", "must be in 1...\(DataSplits.maximumClasses), got \(classes)")
            }
            source.classes = classes
        }
        try d.rejectUnknownKeys()
        return source
    }

    /// `tree` with `data: DIR` written as `data: {path: DIR}` when an override sets a key
    /// inside `data` (`--set data.format=npz` on a config whose data is a folder).
    static func expandingDataFolder(_ tree: Node, for overrides: [ConfigOverride]) -> Node {
        guard overrides.contains(where: { $0.path.count > 1 && $0.path[0] == "data" }), var mapping = tree.mapping,
              let folder = mapping["data"], folder.scalar != nil else { return tree }
        mapping["data"] = Node.mapping([Node("path"): folder])
        return Node.mapping(mapping)
    }

    /// `augment: {random_crop: {padding: P}, horizontal_flip: true}` (`random_crop: true`
    /// pads 4, `false` crops nothing); nil when the key is absent.
    static func readAugmentation(_ r: ConfigReader) throws -> Augmentation? {
        guard let a = try r.section("augment") else { return nil }
        var augmentation = Augmentation()
        if a.isSection("random_crop") {
            let crop = try a.section("random_crop")!
            augmentation.cropPadding = try crop.int("padding") ?? 4
            guard augmentation.cropPadding >= 0 else { throw crop.error("padding", "must be non-negative, got \(augmentation.cropPadding)") }
            try crop.rejectUnknownKeys()
        } else if let crop = try a.bool("random_crop") {
            augmentation.cropPadding = crop ? 4 : 0
        }
        augmentation.horizontalFlip = try a.bool("horizontal_flip") ?? false
        try a.rejectUnknownKeys()
        return augmentation
    }

    /// The `data:` and `augment:` lines of the effective config (`yaml`).
    var dataYAML: [String] {
        var lines: [String] = []
        if data.isPathOnly {
            lines.append("data: \(JSONLine.quote(data.path))")
        } else {
            var fields = ["path: \(JSONLine.quote(data.path))"]
            if let format = data.format { fields.append("format: \(format.rawValue)") }
            if let label = data.label { fields.append("label: \(label.rawValue)") }
            if let layout = data.layout { fields.append("layout: \(layout.rawValue)") }
            if let classes = data.classes { fields.append("classes: \(classes)") }
            lines.append("data: {\(fields.joined(separator: ", "))}")
        }
        if !augmentation.isIdentity {
            lines.append("augment: {random_crop: {padding: \(augmentation.cropPadding)}, horizontal_flip: \(augmentation.horizontalFlip)}")
        }
        return lines
    }

    /// Reads the config's data (`DataSource.load`), errors about its options naming the
    /// config's fields.
    public func loadData() throws -> DataSplits {
        try data.load(fail: fieldError)
    }

    /// The config's model for `data`'s examples and classes: a zoo model takes its input
    /// shape and class count from the data (`ModelArchitecture.adapted`), a layer list its
    /// input shape; a model given by its layer widths must already fit them. A model that cannot take the examples is an
    /// error naming both shapes.
    public func model(fitting data: DataSplits) throws -> ModelArchitecture {
        let shape = data.train.exampleShape
        let isZoo = ModelArchitecture.zoo[modelName] != nil
        var fitted = isZoo ? model.adapted(toInput: shape, classes: data.classes) : model
        if !isZoo, case .graph(_, let layers) = model, shape.count == 3 { fitted = .graph(input: shape, layers: layers) } // a layer list's input
        let examples = "the data's examples are \(data.train.shapeText) (\(data.train.featureCount) features) of \(data.classes) classes"
        let name = isZoo ? "\(modelName) (\(fitted))" : "\(fitted)"
        if let problem = fitted.shapeProblem(input: shape) {
            throw fieldError("model", "\(name) cannot take the data: \(problem); \(examples)")
        }
        guard fitted.classes == data.classes else {
            throw fieldError("model", "\(name) gives \(fitted.classes) classes; \(examples)"
                             + (data.format == .idx || data.format == .npz ? " (set data.classes if the labels do not show them all)" : ""))
        }
        return fitted
    }

    /// Checks that the augmentation applies to `data`: images, and crops smaller than them.
    public func checkAugmentation(for data: DataSplits) throws {
        guard !augmentation.isIdentity else { return }
        let shape = data.train.exampleShape
        guard data.train.isImage else {
            throw fieldError("augment", "crops and flips need images; the data's examples are \(data.train.featureCount) flat features")
        }
        guard augmentation.cropPadding < min(shape[1], shape[2]) else {
            throw fieldError("augment.random_crop.padding", "\(augmentation.cropPadding) is not below the images' \(shape[1]) x \(shape[2])")
        }
    }
}
