import SprigTensor

/// A residual block (He et al., CVPR 2016): `y = post(body(h) + shortcut(h))` with
/// `h = pre(x)`, each part a chain of layers, and the identity for a missing shortcut.
///
/// - The basic block of He et al.'s CIFAR ResNets: body conv 3x3, batch norm, ReLU, conv
///   3x3, batch norm; shortcut the identity, or a 1x1 convolution of stride 2 and batch
///   norm (a projection, option B) where the block halves the map and widens the channels;
///   post a ReLU.
/// - The pre-activation block of wide ResNets (Zagoruyko & Komodakis, BMVC 2016; He et al.,
///   ECCV 2016): body batch norm, ReLU, conv, batch norm, ReLU, conv, and the identity;
///   where the shape changes, pre is the first batch norm and ReLU, which both the body
///   and the 1x1 shortcut convolution read.
///
/// Backward: `dh = body'(dz) + shortcut'(dz)` for `dz = post'(dy)`, then `dx = pre'(dh)`.
/// Parameters are named by the part's layer names (`conv1.weight`, `shortcut.0.weight`).
public final class ResidualBlock: Layer {
    public let pre: [Layer], body: [Layer], shortcut: [Layer]?, post: [Layer]
    /// The name of each layer in `sublayers` order (nil for layers without parameters).
    public let names: [String?]
    private var sum: Matrix?
    private var branchGradient: Matrix?

    public init(pre: [Layer] = [], body: [Layer], shortcut: [Layer]?, post: [Layer], names: [String?]) {
        precondition(!body.isEmpty, "a residual block needs a body")
        for part in [body, shortcut ?? []] where !part.isEmpty {
            precondition(!(part.first is ReLU) && !(part.last is ReLU),
                         "a block's body and shortcut read their input and gradient without changing them: no ReLU at their ends")
        }
        self.pre = pre
        self.body = body
        self.shortcut = shortcut
        self.post = post
        self.names = names
        let inner = pre.last?.outputFeatures ?? body[0].inputFeatures
        precondition(ResidualBlock.chains(pre) && ResidualBlock.chains(body) && ResidualBlock.chains(shortcut ?? [])
                     && ResidualBlock.chains(post), "a residual block's layer sizes do not chain")
        precondition(body[0].inputFeatures == inner && (shortcut?.first?.inputFeatures ?? inner) == inner,
                     "a residual block's body and shortcut read inputs of different sizes")
        precondition((shortcut?.last?.outputFeatures ?? inner) == body.last!.outputFeatures,
                     "a residual block's body gives \(body.last!.outputFeatures) features, its shortcut \(shortcut?.last?.outputFeatures ?? inner)")
        precondition(names.count == sublayers.count, "one name per layer of the block")
        for part in [pre, body, shortcut ?? [], post] { BatchNorm.fuseReLUs(in: part) }
    }

    private static func chains(_ layers: [Layer]) -> Bool {
        zip(layers, layers.dropFirst()).allSatisfy { $0.outputFeatures == $1.inputFeatures }
    }

    public var sublayers: [Layer] { pre + body + (shortcut ?? []) + post }
    public var inputFeatures: Int { pre.first?.inputFeatures ?? body[0].inputFeatures }
    public var outputFeatures: Int { body.last!.outputFeatures }

    public var parameterSpecs: [ParameterSpec] {
        zip(sublayers, names).flatMap { layer, name in
            layer.parameterSpecs.map { spec in
                var s = spec
                s.name = "\(name ?? "layer").\(spec.name)"
                return s
            }
        }
    }

    public func bind(_ slots: [ParameterSlot]) {
        var next = 0
        for layer in sublayers {
            let n = layer.parameterSpecs.count
            layer.bind(Array(slots[next..<(next + n)]))
            next += n
        }
    }

    /// The addition, one per output value.
    public var forwardFLOPsPerExample: Int { sublayers.reduce(outputFeatures) { $0 + $1.forwardFLOPsPerExample } }

    public func batchesMicrobatches(ofSize size: Int) -> Bool { sublayers.allSatisfy { $0.batchesMicrobatches(ofSize: size) } }

    public func forward(_ x: Matrix) -> Matrix { forward(x) { _, _, _ in } }

    public func forward(_ x: Matrix, observe: (Layer, Matrix, Matrix) -> Void) -> Matrix {
        func run(_ layers: [Layer], _ input: Matrix) -> Matrix {
            var h = input
            for layer in layers { h = layer.forward(h, observe: observe) }
            return h
        }
        let h = run(pre, x)
        let a = run(body, h)
        let s = shortcut.map { run($0, h) } ?? h
        let z = Matrix.reuse(sum, rows: outputFeatures, cols: x.cols)
        sum = z
        add(a, s, into: z)
        return run(post, z)
    }

    private func add(_ a: Matrix, _ b: Matrix, into z: Matrix) {
        let started = StepProfile.start()
        defer { StepProfile.stop(.elementwise, since: started) }
        let (x, y, out, n) = (UnsafeRawPointer(a.data), UnsafeRawPointer(b.data), UnsafeMutableRawPointer(z.data), z.count)
        var i = 0
        while i + 8 <= n {
            let sum = x.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + y.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            out.storeBytes(of: sum, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { z.data[i] = a.data[i] + b.data[i]; i += 1 }
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        backward(dy, microbatches: 1, into: gradients, needInputGradient: needInputGradient)
    }

    public func backward(_ dy: Matrix, microbatches: Int, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        func back(_ layers: [Layer], _ g: Matrix, needInput: Bool) -> Matrix? {
            var g = g
            for i in stride(from: layers.count - 1, through: 0, by: -1) {
                guard let next = layers[i].backward(g, microbatches: microbatches, into: gradients,
                                                    needInputGradient: i > 0 || needInput) else { return nil }
                g = next
            }
            return g
        }
        let dz = back(post, dy, needInput: true)!
        let needInner = needInputGradient || !pre.isEmpty
        let db = back(body, dz, needInput: needInner)
        let ds = shortcut.map { back($0, dz, needInput: needInner) } ?? dz
        guard needInner, let db, let ds else { return nil }
        let dh = Matrix.reuse(branchGradient, rows: db.rows, cols: db.cols)
        branchGradient = dh
        add(db, ds, into: dh)
        return back(pre, dh, needInput: needInputGradient)
    }
}
