import SprigTensor
import SprigExport
import SprigSparsity
import Yams

/// Typed access to one YAML mapping of a config file, that remembers which keys were read
/// so that every key nobody asked for is reported as unknown (a misspelt key must not be
/// silently ignored).
///
/// Errors name the file and the dotted path of the field (`optimizer.lr`).
public final class ConfigReader {
    public let source: String
    public let path: String
    private let entries: [(key: String, value: Node)]
    private var used: Set<String> = []

    /// Parses `text` (the contents of `source`), which must be a YAML mapping.
    public convenience init(text: String, source: String) throws {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw SprigError(source, "not valid YAML: \(ConfigReader.summary(of: error))")
        } catch {
            throw SprigError(source, "not valid YAML")
        }
        guard let node else { throw SprigError(source, "empty config") }
        try self.init(node: node, source: source, path: "")
    }

    init(node: Node, source: String, path: String) throws {
        self.source = source
        self.path = path
        guard let mapping = node.mapping else {
            throw SprigError(source, "\(path.isEmpty ? "the config" : path) must be a mapping of keys to values")
        }
        // Yams rejects duplicate keys while parsing.
        var entries: [(String, Node)] = []
        for (k, v) in mapping {
            guard let key = k.string else { throw SprigError(source, "\(path.isEmpty ? "" : path + ": ")keys must be strings") }
            entries.append((key, v))
        }
        self.entries = entries
    }

    /// The dotted path of `key` in this mapping.
    public func qualified(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error about `key`.
    public func error(_ key: String, _ message: String) -> SprigError {
        SprigError(source, "\(qualified(key)): \(message)")
    }

    /// The mapping's keys, in file order.
    public var keys: [String] { entries.map(\.key) }

    public func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    private func node(_ key: String) -> Node? {
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        used.insert(key)
        if case .scalar(let s) = entry.value, s.style == .plain, ["~", "null", ""].contains(s.string) { return nil }
        return entry.value
    }

    private func scalar(_ key: String, _ what: String) throws -> String? {
        guard let n = node(key) else { return nil }
        guard let s = n.scalar?.string else { throw error(key, "must be \(what)") }
        return s
    }

    public func string(_ key: String) throws -> String? {
        try scalar(key, "a string")
    }

    public func int(_ key: String) throws -> Int? {
        guard let s = try scalar(key, "an integer") else { return nil }
        guard let v = Int(s.replacingOccurrences(of: "_", with: "")) else { throw error(key, "must be an integer, got '\(s)'") }
        return v
    }

    public func double(_ key: String) throws -> Double? {
        guard let s = try scalar(key, "a number") else { return nil }
        guard let v = Double(s.replacingOccurrences(of: "_", with: "")), v.isFinite else {
            throw error(key, "must be a finite number, got '\(s)'")
        }
        return v
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let s = try scalar(key, "true or false") else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "must be true or false, got '\(s)'")
        }
    }

    public func intList(_ key: String) throws -> [Int]? {
        guard let n = node(key) else { return nil }
        guard let seq = n.sequence else { throw error(key, "must be a list of integers") }
        return try seq.map { item in
            guard let s = item.scalar?.string, let v = Int(s) else { throw error(key, "must be a list of integers") }
            return v
        }
    }

    /// The items of the list at `key`, if present.
    public func list(_ key: String) throws -> [Node]? {
        guard let n = node(key) else { return nil }
        guard let seq = n.sequence else { throw error(key, "must be a list") }
        return Array(seq)
    }

    /// A mapping of names to numbers, e.g. per-layer sparsities `{fc1: 0.98, fc3: 0}`.
    public func doubleMap(_ key: String) throws -> [String: Double]? {
        guard let n = node(key) else { return nil }
        guard let mapping = n.mapping else { throw error(key, "must be a mapping of names to numbers") }
        var out: [String: Double] = [:]
        for (k, v) in mapping {
            guard let name = k.string, let s = v.scalar?.string, let value = Double(s), value.isFinite else {
                throw error(key, "must be a mapping of names to numbers")
            }
            out[name] = value
        }
        return out
    }

    /// The nested mapping at `key`, if present.
    public func section(_ key: String) throws -> ConfigReader? {
        guard let n = node(key) else { return nil }
        return try ConfigReader(node: n, source: source, path: qualified(key))
    }

    /// True when `key` holds a nested mapping (not a scalar).
    public func isSection(_ key: String) -> Bool {
        entries.first(where: { $0.key == key })?.value.mapping != nil
    }

    /// Fails on the first key that was never read.
    public func rejectUnknownKeys() throws {
        if let unknown = entries.first(where: { !used.contains($0.key) }) {
            throw SprigError(source, "unknown key '\(qualified(unknown.key))'")
        }
    }

    private static func summary(of error: YamlError) -> String {
        String(describing: error).split(separator: "\n").first.map(String.init) ?? "parse error"
    }
}
