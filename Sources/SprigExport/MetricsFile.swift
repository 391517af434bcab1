/// A JSON Lines metrics file that is whole after every append: each append rewrites the
/// file atomically (temporary file, then rename), so a reader or a crash never sees half
/// a line. Metrics files are a few hundred lines, so the rewrite costs nothing.
public final class MetricsFile {
    public let path: String
    private var lines: [String] = []

    public init(path: String) {
        self.path = path
    }

    /// A metrics file that continues `path`'s lines (a resumed run), less a final line.
    public init(continuing path: String) {
        self.path = path
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            lines = text.split(separator: "\n").map(String.init).filter { !$0.contains("\"final\": true") }
        }
    }

    public func append(_ line: JSONLine) throws {
        lines.append(line.text)
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
    }
}
