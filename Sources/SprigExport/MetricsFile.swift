/// A JSON Lines metrics file that is whole after every append: each append rewrites the
/// file atomically (temporary file, then rename), so a reader or a crash never sees half
/// a line. Metrics files are a few hundred lines, so the rewrite costs nothing.
public final class MetricsFile {
    public let path: String
    private var lines: [String] = []

    public init(path: String) {
        self.path = path
    }

    /// A metrics file that continues `path`'s lines (a resumed run), less a final line and
    /// less the lines of steps after `step` (written after the checkpoint the run resumes
    /// from, before it was interrupted; the resumed run writes them again).
    public init(continuing path: String, atStep step: Int) {
        self.path = path
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            lines = text.split(separator: "\n").map(String.init).filter { line in
                !line.contains("\"final\": true") && (MetricsFile.step(of: line).map { $0 <= step } ?? true)
            }
        }
    }

    /// The `"step": N` of a metrics line, if it has one.
    static func step(of line: String) -> Int? {
        guard let range = line.range(of: "\"step\": ") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    public func append(_ line: JSONLine) throws {
        lines.append(line.text)
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
    }
}
