import SprigTensor

/// The header of a `.npy` array: the Python dict literal NumPy writes,
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }`. Only what that
/// literal holds is accepted: quoted strings, True and False, and tuples of integers.
struct NumPyHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    init(text: String, fail: (String) -> SprigError) throws {
        var scanner = Scanner(Array(text.unicodeScalars))
        var descr: String?, fortran: Bool?, shape: [Int]?
        func bad(_ what: String) -> SprigError { fail("malformed .npy header (\(what)): \(text.prefix(120))") }
        guard scanner.take("{") else { throw bad("it is not a dict") }
        while !scanner.take("}") {
            guard let key = scanner.quoted(), scanner.take(":") else { throw bad("expected 'key': value") }
            switch key {
            case "descr":
                guard let d = scanner.quoted() else { throw bad("descr is not a string (structured arrays are not supported)") }
                descr = d
            case "fortran_order":
                if scanner.word("True") { fortran = true } else if scanner.word("False") { fortran = false } else { throw bad("fortran_order is not True or False") }
            case "shape":
                guard let s = scanner.integerTuple() else { throw bad("shape is not a tuple of integers") }
                shape = s
            default:
                throw bad("unknown key '\(key)'")
            }
            if !scanner.take(",") {
                guard scanner.take("}") else { throw bad("expected ',' or '}'") }
                break
            }
        }
        guard let descr, let fortran, let shape else { throw bad("it lacks descr, fortran_order or shape") }
        self.descr = descr
        fortranOrder = fortran
        self.shape = shape
    }

    /// Characters of a header, read left to right; spaces between tokens are skipped.
    struct Scanner {
        let chars: [Unicode.Scalar]
        var i = 0
        init(_ chars: [Unicode.Scalar]) { self.chars = chars }

        mutating func skipSpace() { while i < chars.count, chars[i].properties.isWhitespace { i += 1 } }

        mutating func take(_ c: Unicode.Scalar) -> Bool {
            skipSpace()
            guard i < chars.count, chars[i] == c else { return false }
            i += 1
            return true
        }

        mutating func word(_ w: String) -> Bool {
            skipSpace()
            let w = Array(w.unicodeScalars)
            guard i + w.count <= chars.count, Array(chars[i..<(i + w.count)]) == w else { return false }
            i += w.count
            return true
        }

        mutating func quoted() -> String? {
            skipSpace()
            guard i < chars.count, chars[i] == "'" || chars[i] == "\"" else { return nil }
            let quote = chars[i]
            guard let end = chars[(i + 1)...].firstIndex(of: quote) else { return nil }
            let s = String(String.UnicodeScalarView(chars[(i + 1)..<end]))
            i = end + 1
            return s
        }

        mutating func integer() -> Int? {
            skipSpace()
            var j = i
            while j < chars.count, j - i < 18, ("0"..."9").contains(chars[j]) { j += 1 }
            guard j > i, let v = Int(String(String.UnicodeScalarView(chars[i..<j]))) else { return nil }
            while j < chars.count, chars[j] == "L" { j += 1 } // Python 2's long suffix
            i = j
            return v
        }

        /// `()`, `(n,)` or `(n, m, ...)`, a trailing comma allowed.
        mutating func integerTuple() -> [Int]? {
            guard take("(") else { return nil }
            var out: [Int] = []
            while !take(")") {
                guard let v = integer() else { return nil }
                out.append(v)
                if !take(",") { return take(")") ? out : nil }
            }
            return out
        }
    }
}
