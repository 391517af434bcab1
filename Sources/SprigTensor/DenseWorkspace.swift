/// The memory `DenseKernels` works in: the packed panel of B and the tiles of the segment
/// sums, kept between calls by the layer that owns it (one per layer, never shared between
/// threads).
public final class DenseWorkspace {
    private var panelBuffer: UnsafeMutablePointer<Float>
    private var panelCapacity: Int
    /// Tiles of the subtrees a segment sum keeps waiting (at most one per level, so one per
    /// bit of an Int), the first also the scratch of edge tiles.
    let tiles: UnsafeMutablePointer<Float>
    /// Their levels.
    let levels = UnsafeMutablePointer<Int>.allocate(capacity: Int.bitWidth)

    public init() {
        panelCapacity = 16
        panelBuffer = DenseWorkspace.allocate(panelCapacity)
        tiles = DenseWorkspace.allocate(Int.bitWidth * DenseKernels.tileSize)
    }

    deinit {
        panelBuffer.deallocate()
        tiles.deallocate()
        levels.deallocate()
    }

    private static func allocate(_ floats: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * MemoryLayout<Float>.stride, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: floats)
    }

    /// Bytes held.
    public var bytes: Int { (panelCapacity + Int.bitWidth * DenseKernels.tileSize) * 4 + Int.bitWidth * 8 }

    func panel(floats: Int) -> UnsafeMutablePointer<Float> {
        if floats > panelCapacity {
            panelBuffer.deallocate()
            panelCapacity = floats
            panelBuffer = DenseWorkspace.allocate(floats)
        }
        return panelBuffer
    }
}
