/// One JSON object with its keys in the order they were added, written on one line (the
/// JSON Lines format of metrics files). Non-finite numbers are written as `null`.
public struct JSONLine {
    private var fields: [(String, String)] = []

    public init() {}

    public mutating func add(_ key: String, _ value: Int) { fields.append((key, String(value))) }
    public mutating func add(_ key: String, _ value: Bool) { fields.append((key, value ? "true" : "false")) }
    public mutating func add(_ key: String, _ value: Double) {
        fields.append((key, value.isFinite ? String(value) : "null"))
    }
    public mutating func add(_ key: String, _ value: String) { fields.append((key, JSONLine.quote(value))) }
    /// Adds an object of names to counts, in the given order (per-layer figures).
    public mutating func add(_ key: String, counts: [(String, Int)]) {
        add(key, json: "{" + counts.map { "\(JSONLine.quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}")
    }

    /// Adds an already-encoded JSON value.
    public mutating func add(_ key: String, json: String) { fields.append((key, json)) }

    public var text: String {
        "{" + fields.map { "\(JSONLine.quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// `s` as a JSON string literal.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
