import SprigTensor
import SprigData
import SprigExport
import SprigSparsity
import SprigDistributed
import Zlib
import Foundation

/// Everything needed to continue a run exactly: the step, the seed and full config, every
/// parameter and the optimizer's state buffers (momentum, or Adam's moments, in the
/// store's layout) and step count, the masks, SNFS's moving averages, and the counters of
/// the reports, the partial epoch's loss sum (so that the epoch's reported train loss is
/// the whole run's), and every batch norm's running statistics and `num_batches_tracked`. Data order, learning rate and drop fraction are
/// stateless functions of (seed, step), so nothing else is needed.
///
/// File layout: the magic `SPRIGCKP`, a little-endian UInt32 version and UInt32 header
/// length, a JSON header, the payload (values, optimizer states, the masks, averages),
/// and a CRC-32 of everything before it. Version 2 stores each mask in CSR form (header
/// `mask_rows` and `masks`: rows and active entries per layer; payload `rows + 1` row
/// starts then the columns, Int32), so its size follows the active entries whatever the
/// layer's size; version 1 (still read) stored active flat indices as Int32 (`Mask`).
/// Reading checks every length against the header and the CRC, so a truncated or damaged
/// file is an error naming the file, never a crash.
public struct Checkpoint: Equatable {
    public var step: Int
    public var seed: UInt64
    public var configText: String
    public var configSource: String
    /// Store tensors: names and value counts, in store order.
    public var names: [String]
    public var counts: [Int]
    public var values: [Float]
    /// The optimizer's state buffers, each laid out like `values`.
    public var states: [[Float]]
    public var optimizerSteps: Int
    /// Each sparse layer's mask (CSR; flat indices when read from a version-1 file).
    public var masks: [Mask]
    /// SNFS's moving averages per sparse layer (empty otherwise).
    public var averages: [[Float]]
    public var maskUpdates: Int
    public var connectionsChanged: Int
    public var flops: Double
    public var denseFLOPs: Double
    /// The sum of the per-step mean losses of the epoch under way, and its steps so far
    /// (0 and 0 at an epoch boundary, and in checkpoints written before they were kept).
    public var epochLossSum: Double = 0
    public var epochSteps: Int = 0
    /// Per batch norm, its running means then running variances (header
    /// `running_statistics`: their counts; payload after the averages), and its
    /// `num_batches_tracked` (header `batches_tracked`). Empty without batch norm.
    public var runningStatistics: [[Float]] = []
    public var batchesTracked: [Int] = []

    static let magic = Array("SPRIGCKP".utf8)
    static let version: UInt32 = 2

    /// The version this checkpoint encodes as: 1 when its masks came from a version-1
    /// file (flat indices), else 2.
    var encodedVersion: UInt32 {
        masks.contains { if case .flat = $0 { return true } else { return false } } ? 1 : Checkpoint.version
    }

    public func encode() -> [UInt8] {
        var header = JSONLine()
        header.add("step", step)
        header.add("seed", json: String(seed))
        header.add("config_source", configSource)
        header.add("config", configText)
        header.add("names", json: "[" + names.map(JSONLine.quote).joined(separator: ", ") + "]")
        header.add("counts", json: "[" + counts.map(String.init).joined(separator: ", ") + "]")
        header.add("states", states.count)
        header.add("optimizer_steps", optimizerSteps)
        let version = encodedVersion
        if version >= 2 {
            header.add("mask_rows", json: "[" + masks.map { mask -> String in
                guard case .csr(let rowStart, _) = mask else { preconditionFailure("version-1 and CSR masks mixed") }
                return String(rowStart.count - 1)
            }.joined(separator: ", ") + "]")
        }
        header.add("masks", json: "[" + masks.map { String($0.activeCount) }.joined(separator: ", ") + "]")
        header.add("averages", json: "[" + averages.map { String($0.count) }.joined(separator: ", ") + "]")
        header.add("mask_updates", maskUpdates)
        header.add("connections_changed", connectionsChanged)
        header.add("flops", flops)
        header.add("dense_flops", denseFLOPs)
        header.add("epoch_loss_sum_bits", json: String(epochLossSum.bitPattern))
        header.add("epoch_steps", epochSteps)
        if !runningStatistics.isEmpty {
            header.add("running_statistics", json: "[" + runningStatistics.map { String($0.count) }.joined(separator: ", ") + "]")
            header.add("batches_tracked", json: "[" + batchesTracked.map(String.init).joined(separator: ", ") + "]")
        }
        let headerBytes = Array(header.text.utf8)
        var out = Checkpoint.magic
        Checkpoint.append(version, to: &out)
        Checkpoint.append(UInt32(headerBytes.count), to: &out)
        out += headerBytes
        out.reserveCapacity(out.count + 4 * (values.count * (1 + states.count) + masks.reduce(0) { $0 + $1.wordCount } + averages.reduce(0) { $0 + $1.count }) + 4)
        Checkpoint.appendLittleEndian(values, to: &out)
        for state in states { Checkpoint.appendLittleEndian(state, to: &out) }
        for mask in masks {
            switch mask {
            case .flat(let indices): Checkpoint.appendLittleEndian(indices, to: &out)
            case .csr(let rowStart, let columns):
                Checkpoint.appendLittleEndian(rowStart, to: &out)
                Checkpoint.appendLittleEndian(columns, to: &out)
            }
        }
        for a in averages { Checkpoint.appendLittleEndian(a, to: &out) }
        for r in runningStatistics { Checkpoint.appendLittleEndian(r, to: &out) }
        Checkpoint.append(Checkpoint.crc(out, count: out.count), to: &out)
        return out
    }

    public static func read(path: String) throws -> Checkpoint {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SprigError(path, FileManager.default.fileExists(atPath: path) ? "cannot read checkpoint" : "no such checkpoint")
        }
        return try decode([UInt8](data), source: path)
    }

    public static func decode(_ bytes: [UInt8], source: String) throws -> Checkpoint {
        func fail(_ message: String) -> SprigError { SprigError(source, "not a valid checkpoint: \(message)") }
        guard bytes.count >= 20, Array(bytes[0..<8]) == magic else { throw fail("wrong magic number or truncated") }
        let fileVersion = UInt32(le: bytes, at: 8)
        guard fileVersion == 1 || fileVersion == version else { throw fail("unsupported version \(fileVersion)") }
        let headerLength = Int(UInt32(le: bytes, at: 12))
        guard headerLength <= bytes.count - 20 else { throw fail("truncated (header of \(headerLength) bytes)") }
        let stored = UInt32(le: bytes, at: bytes.count - 4)
        guard crc(bytes, count: bytes.count - 4) == stored else { throw fail("checksum mismatch (damaged or truncated)") }
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes[16..<(16 + headerLength)])) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        func int(_ key: String) throws -> Int {
            guard let v = json[key] as? Int, v >= 0 else { throw fail("header field '\(key)' missing or not a count") }
            return v
        }
        func ints(_ key: String) throws -> [Int] {
            guard let v = json[key] as? [Int], v.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else {
                throw fail("header field '\(key)' missing or not a list of counts")
            }
            return v
        }
        guard let config = json["config"] as? String, let configSource = json["config_source"] as? String,
              let names = json["names"] as? [String], let seed = (json["seed"] as? NSNumber)?.uint64Value,
              let flops = (json["flops"] as? NSNumber)?.doubleValue, let denseFLOPs = (json["dense_flops"] as? NSNumber)?.doubleValue else {
            throw fail("header fields missing")
        }
        let counts = try ints("counts"), maskCounts = try ints("masks"), averageCounts = try ints("averages")
        let runningCounts = json["running_statistics"] == nil ? [] : try ints("running_statistics")
        let batchesTracked = json["running_statistics"] == nil ? [] : try ints("batches_tracked")
        guard batchesTracked.count == runningCounts.count else {
            throw fail("\(batchesTracked.count) batches_tracked for \(runningCounts.count) running statistics")
        }
        // Version 2: each mask's rows (its payload holds rows + 1 row starts before the columns).
        let maskRows = fileVersion == 1 ? nil : try ints("mask_rows")
        if let maskRows, maskRows.count != maskCounts.count { throw fail("\(maskRows.count) mask_rows for \(maskCounts.count) masks") }
        let rowStartCount = maskRows.map { $0.reduce(0) { $0 + $1 + 1 } } ?? 0
        guard names.count == counts.count else { throw fail("\(names.count) names for \(counts.count) tensors") }
        let total = counts.reduce(0, +)
        let stateCount = try int("states")
        guard stateCount <= 8 else { throw fail("\(stateCount) optimizer state buffers") }
        let payload = 4 * ((1 + stateCount) * total + maskCounts.reduce(0, +) + rowStartCount + averageCounts.reduce(0, +)
                           + runningCounts.reduce(0, +))
        guard 16 + headerLength + payload + 4 == bytes.count else { throw fail("payload of \(bytes.count - 20 - headerLength) bytes, header describes \(payload)") }
        var offset = 16 + headerLength
        func floats(_ n: Int) -> [Float] {
            defer { offset += 4 * n }
            return (0..<n).map { Float(bitPattern: UInt32(le: bytes, at: offset + 4 * $0)) }
        }
        func int32s(_ n: Int) -> [Int32] {
            defer { offset += 4 * n }
            return (0..<n).map { Int32(bitPattern: UInt32(le: bytes, at: offset + 4 * $0)) }
        }
        let values = floats(total)
        let states = (0..<stateCount).map { _ in floats(total) }
        let masks: [Mask] = maskRows.map { rows in zip(rows, maskCounts).map { .csr(rowStart: int32s($0 + 1), columns: int32s($1)) } }
            ?? maskCounts.map { .flat(int32s($0)) }
        let averages = averageCounts.map { floats($0) }
        let runningStatistics = runningCounts.map { floats($0) }
        var epochLossSum = 0.0, epochSteps = 0
        if json["epoch_steps"] != nil {
            guard let bits = (json["epoch_loss_sum_bits"] as? NSNumber)?.uint64Value else { throw fail("header field 'epoch_loss_sum_bits' missing") }
            epochLossSum = Double(bitPattern: bits)
            epochSteps = try int("epoch_steps")
        }
        var checkpoint = Checkpoint(step: try int("step"), seed: seed, configText: config, configSource: configSource, names: names,
                          counts: counts, values: values, states: states, optimizerSteps: try int("optimizer_steps"),
                          masks: masks, averages: averages,
                          maskUpdates: try int("mask_updates"), connectionsChanged: try int("connections_changed"),
                          flops: flops, denseFLOPs: denseFLOPs)
        checkpoint.epochLossSum = epochLossSum
        checkpoint.epochSteps = epochSteps
        checkpoint.runningStatistics = runningStatistics
        checkpoint.batchesTracked = batchesTracked
        return checkpoint
    }

    /// Appends 4-byte values in little-endian order (a bulk copy on little-endian hosts).
    static func appendLittleEndian<T>(_ values: [T], to out: inout [UInt8]) {
        precondition(MemoryLayout<T>.size == 4)
        #if _endian(little)
        values.withUnsafeBytes { out.append(contentsOf: $0) }
        #else
        values.withUnsafeBytes { raw in
            for k in 0..<values.count { append(raw.load(fromByteOffset: 4 * k, as: UInt32.self), to: &out) }
        }
        #endif
    }

    static func append(_ v: UInt32, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    /// CRC-32 (zlib's) of the first `count` bytes.
    static func crc(_ bytes: [UInt8], count: Int) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32(count))) }
    }
}

extension UInt32 {
    init(le bytes: [UInt8], at i: Int) {
        self = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
    }
}
