import SprigTensor

/// Random crops and horizontal flips of training images (`augment:` in the config), the
/// augmentation of the CIFAR recipes that RigL, SNFS and NNrelief train with
/// (torchvision's `RandomCrop(32, padding=4)` and `RandomHorizontalFlip()`):
///
///     out[c, y, x] = in[c, y + i - p, x' + j - p]    x' = W - 1 - x when flipped, else x,
///
/// zero where the source position falls outside the image, with the crop's top-left
/// corner (i, j) uniform in {0, ..., 2p}^2 for padding p, and a flip with probability 1/2.
/// The zeros are padding of the stored values, before normalisation (a byte 0, or a
/// float 0), as torchvision pads the image before `ToTensor` and `Normalize`.
///
/// Each example's draws are a pure function of (seed, epoch, example index): the stream
/// (seed, `augmentation`, epoch, index) gives i, then j, then the flip. So an example is
/// transformed alike whichever rank or micro-batch gathers it, and a resumed run draws
/// what the uninterrupted one did. Evaluation never augments.
public struct Augmentation: Equatable, Sendable {
    /// Zero padding on each side before the random crop (0: no crop).
    public var cropPadding: Int
    /// Flip half the images left to right.
    public var horizontalFlip: Bool

    public init(cropPadding: Int = 0, horizontalFlip: Bool = false) {
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
    }

    /// True when it changes nothing.
    public var isIdentity: Bool { cropPadding == 0 && !horizontalFlip }

    /// One example's draws: the crop's offsets from the unpadded origin (i - p, j - p),
    /// and whether it is flipped.
    public func draw(seed: UInt64, epoch: Int, example: Int) -> (dy: Int, dx: Int, flip: Bool) {
        var random = StatelessRandom(seed: seed, purpose: .augmentation, step: epoch, layer: example)
        let side = 2 * cropPadding + 1
        let i = random.nextInt(below: side), j = random.nextInt(below: side)
        let flip = random.next() >> 63 == 1
        return (i - cropPadding, j - cropPadding, horizontalFlip && flip)
    }

    /// Writes the transformed image `source` (channels x height x width) to `target`: per
    /// row, the source columns that fall inside the image are copied in one run (reversed
    /// when flipped) and the rest of the row is `zero`.
    public func apply<T>(_ source: UnsafePointer<T>, into target: UnsafeMutablePointer<T>, shape: [Int],
                         draw: (dy: Int, dx: Int, flip: Bool), zero: T) {
        let (channels, height, width) = (shape[0], shape[1], shape[2])
        // Output columns x whose source column (flip ? W - 1 - x : x) + dx lies in 0..<W.
        let lo = draw.flip ? max(0, draw.dx) : max(0, -draw.dx)
        let hi = max(lo, draw.flip ? min(width, width + draw.dx) : min(width, width - draw.dx))
        for c in 0..<channels {
            let plane = source + c * height * width
            for y in 0..<height {
                let row = target + (c * height + y) * width
                let sy = y + draw.dy
                guard sy >= 0 && sy < height && hi > lo else {
                    row.update(repeating: zero, count: width)
                    continue
                }
                let from = plane + sy * width
                row.update(repeating: zero, count: lo)
                if draw.flip {
                    let last = from + (width - 1 + draw.dx)
                    for x in lo..<hi { row[x] = last[-x] }
                } else {
                    (row + lo).update(from: from + (lo + draw.dx), count: hi - lo)
                }
                (row + hi).update(repeating: zero, count: width - hi)
            }
        }
    }
}

/// An epoch's augmentation: what `Dataset.gather` needs to draw each example's transform.
public struct EpochAugmentation: Sendable {
    public let augmentation: Augmentation
    public let seed: UInt64
    public let epoch: Int

    public init(_ augmentation: Augmentation, seed: UInt64, epoch: Int) {
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = epoch
    }
}
