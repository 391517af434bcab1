import SprigTensor

extension Dataset {
    /// Writes the examples `indices` into `x` feature-major (`x[f, j]` = feature f of the
    /// j-th example, normalised by `normalization`), transformed by `augmenting` when given
    /// (training batches only), and their labels into `labels`. Bytes are converted as they
    /// are gathered, through the normalisation's table.
    /// Specialised here for the index collections the training loop passes, since a
    /// generic call from another module would otherwise run unspecialised.
    @_specialize(exported: true, where C == ArraySlice<Int32>)
    @_specialize(exported: true, where C == Range<Int32>)
    public func gather<C: Collection>(_ indices: C, normalization: Normalization, augmenting: EpochAugmentation? = nil,
                                      into x: Matrix, labels: inout [Int32]) where C.Element == Int32 {
        let features = featureCount
        precondition(x.rows == features && x.cols == indices.count, "batch matrix is \(x.rows)x\(x.cols), need \(features)x\(indices.count)")
        precondition(normalization.channels == channels, "\(normalization.channels) normalisation channels for \(channels)")
        let augment = augmenting.flatMap { $0.augmentation.isIdentity ? nil : $0 }
        precondition(augment == nil || isImage, "augmentation needs images")
        labels.removeAll(keepingCapacity: true)
        for index in indices { labels.append(self.labels[Int(index)]) }
        switch values {
        case .uint8(let pixels):
            normalization.table.withUnsafeBufferPointer { table in
                transpose(pixels, indices, augment, zero: 0, into: x) { c, row, sources, f, width in
                    let t = table.baseAddress! + 256 * c
                    for k in 0..<width { row[k] = t[Int(sources[k][f])] }
                }
            }
        case .float32(let floats):
            let mean = normalization.mean, std = normalization.std
            transpose(floats, indices, augment, zero: 0, into: x) { c, row, sources, f, width in
                let m = mean[c], s = std[c]
                for k in 0..<width { row[k] = (sources[k][f] - m) / s }
            }
        }
    }

    /// A tiled transpose: up to `tile` examples at a time, feature by feature, so that the
    /// writes to each row of `x` are contiguous instead of `b` floats apart. `convert(c,
    /// row, sources, f, width)` writes feature f (of channel c) of the tile's `width`
    /// examples into `row`. Augmented examples are transformed into a scratch tile first.
    @inline(__always)
    private func transpose<T, C: Collection>(_ values: [T], _ indices: C, _ augment: EpochAugmentation?, zero: T, into x: Matrix,
                                             convert: (Int, UnsafeMutablePointer<Float>, UnsafeBufferPointer<UnsafePointer<T>>, Int, Int) -> Void)
    where C.Element == Int32 {
        let features = featureCount, b = x.cols, channels = self.channels, plane = features / channels
        let tile = 16
        let scratch = augment == nil ? nil : UnsafeMutablePointer<T>.allocate(capacity: tile * features)
        scratch?.initialize(repeating: zero, count: tile * features)
        defer { scratch?.deallocate() }
        var sources = [UnsafePointer<T>](repeating: UnsafePointer(bitPattern: 1)!, count: tile)
        values.withUnsafeBufferPointer { v in
            var j0 = 0
            var position = indices.startIndex
            while j0 < b {
                let width = min(tile, b - j0)
                for t in 0..<width {
                    let index = Int(indices[position])
                    sources[t] = v.baseAddress! + index * features
                    if let augment, let scratch {
                        let draw = augment.augmentation.draw(seed: augment.seed, epoch: augment.epoch, example: index)
                        augment.augmentation.apply(sources[t], into: scratch + t * features, shape: exampleShape, draw: draw, zero: zero)
                        sources[t] = UnsafePointer(scratch + t * features)
                    }
                    position = indices.index(after: position)
                }
                sources.withUnsafeBufferPointer { src in
                    for c in 0..<channels {
                        for f in (c * plane)..<((c + 1) * plane) {
                            convert(c, x.data + f * b + j0, src, f, width)
                        }
                    }
                }
                j0 += width
            }
        }
    }
}
