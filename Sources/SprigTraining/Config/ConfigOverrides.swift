import SprigTensor
import Yams

/// Command-line overrides of config keys, `--set key.path=value` (as Hydra and OmegaConf
/// users write them): each sets one key of the YAML tree, creating the sections on its
/// path, before the config is read, so that an override is checked exactly like the same
/// key in the file (unknown keys and impossible values are errors naming the override).
public struct ConfigOverride: Equatable, Sendable {
    /// The dotted key path, e.g. `sparsity.delta_t`.
    public let path: [String]
    /// The value as YAML (`50`, `set`, `{fc3: 0}`).
    public let value: String
    /// The override as given, which errors name.
    public let text: String

    /// Parses `key.path=value`.
    public init(parsing text: String) throws {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw SprigError("--set", "expected key=value (e.g. sparsity.delta_t=50), got '\(text)'")
        }
        let key = text[..<eq]
        path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard path.allSatisfy({ !$0.isEmpty }) else { throw SprigError("--set", "'\(key)' is not a key path (e.g. sparsity.method)") }
        value = String(text[text.index(after: eq)...])
        self.text = text
    }

    /// `tree` with this override applied.
    func applied(to tree: Node) throws -> Node {
        let parsed: Node
        do {
            parsed = try Yams.compose(yaml: value) ?? Node("")
        } catch {
            throw SprigError("--set \(text)", "the value is not valid YAML")
        }
        return try set(path[...], to: parsed, in: tree)
    }

    private func set(_ path: ArraySlice<String>, to value: Node, in node: Node) throws -> Node {
        guard var mapping = node.mapping else {
            throw SprigError("--set \(text)", "'\(self.path.dropLast(path.count).joined(separator: "."))' is not a section")
        }
        let key = path.first!
        if path.count == 1 {
            mapping[key] = value
        } else {
            mapping[key] = try set(path.dropFirst(), to: value, in: mapping[key] ?? Node.mapping([:]))
        }
        return Node.mapping(mapping)
    }
}

extension TrainingConfig {
    /// Parses config `text` (from `source`) with `overrides` applied in order. An error
    /// about a key an override set is reported against that override (`--set
    /// sparsity.metod=set: unknown key 'sparsity.metod'`), and fields set by an override
    /// are named in later errors.
    public static func parse(text: String, source: String, overrides: [ConfigOverride], validating: Bool = true) throws -> TrainingConfig {
        guard !overrides.isEmpty else {
            let c = try read(text: text, source: source)
            if validating { try c.validate() }
            return c
        }
        var tree: Node
        do {
            tree = try Yams.compose(yaml: text) ?? Node.mapping([:])
        } catch {
            throw SprigError(source, "not valid YAML")
        }
        if tree.scalar?.string == "" { tree = Node.mapping([:]) }
        tree = expandingDataFolder(tree, for: overrides)
        for override in overrides { tree = try override.applied(to: tree) }
        let yaml: String
        do { yaml = try Yams.serialize(node: tree) } catch { throw SprigError("--set", "cannot write the overridden config") }
        var config: TrainingConfig
        do {
            config = try read(text: yaml, source: source)
        } catch let error as SprigError {
            // The last override whose key the message names is the one to blame.
            let blamed = overrides.last { error.message.contains($0.path.joined(separator: ".")) }
            throw blamed.map { SprigError("--set \($0.text)", error.message) } ?? error
        }
        config.keysInFile = (try? read(text: text, source: source).keysInFile) ?? []
        for override in overrides { config.overriddenBy[override.path.joined(separator: ".")] = "--set \(override.text)" }
        if validating { try config.validate() }
        return config
    }
}
