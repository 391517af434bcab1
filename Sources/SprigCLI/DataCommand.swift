import ArgumentParser
import Foundation
import Sprig

/// `sprig data`: what Sprig reads in a data folder, before a run is launched on it.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Show what Sprig reads in a data folder: format, counts, example shape and type, classes, normalisation.",
        discussion: """
            The folder's format is recognised from its files (MNIST-format IDX, CIFAR-10 or CIFAR-100 binary, or
            train.npz and test.npz), or given with --format. Every file is read and checked as `sprig train` would,
            and the CRC-32 of the values and labels of each set is printed (examples in (C, H, W) order, bytes as
            they are, floats as float32; labels as int32), so that a copy made elsewhere can be checked.
            """
    )

    @Argument(help: "The data folder (or give --config).") var directory: String?
    @Option(name: .long, help: "Read the data key of this YAML config (its folder, format and options).") var config: String?
    @Option(name: .long, help: "idx, cifar10, cifar100 or npz (default: recognised from the files).") var format: String?
    @Option(name: .long, help: "CIFAR-100: fine or coarse labels.") var label: String?
    @Option(name: .long, help: "NumPy: nchw or nhwc, the axis order of 4-D x arrays.") var layout: String?
    @Option(name: .long, parsing: .unconditional, help: "IDX and NumPy: the number of classes.") var classes: Int?

    func validate() throws {
        guard (directory == nil) != (config == nil) else { throw ValidationError("give a data folder or --config, one of them") }
    }

    func run() throws {
        do {
            var c = try config.map { try TrainingConfig.load(path: $0) } ?? TrainingConfig()
            if let directory { c.data = DataSource(path: directory) }
            if let format {
                c.data.format = try DataSource.option(format, kind: "format") { SprigError("--format", $0) }
                c.overriddenBy["data.format"] = "--format"
            }
            if let label {
                c.data.label = try DataSource.option(label) { SprigError("--label", $0) }
                c.overriddenBy["data.label"] = "--label"
            }
            if let layout {
                c.data.layout = try DataSource.option(layout) { SprigError("--layout", $0) }
                c.overriddenBy["data.layout"] = "--layout"
            }
            if let classes {
                c.data.classes = classes
                c.overriddenBy["data.classes"] = "--classes"
            }
            let data = try c.loadData()
            print("format: \(data.format.rawValue) (\(data.format.title))")
            print("directory: \(data.directory)")
            for (name, set) in [("train", data.train), ("test", data.test)] {
                let d = set.digest
                print(String(format: "%@: %d examples of %@ %@, values crc32 0x%08x, labels crc32 0x%08x", name, set.count,
                             set.shapeText, set.values.elementType, d.values, d.labels))
            }
            print("classes: \(data.classes)" + (data.classNames.map { " (" + $0.prefix(20).joined(separator: ", ") + ($0.count > 20 ? ", ..." : "") + ")" } ?? ""))
            var perClass = [Int](repeating: 0, count: data.classes)
            for label in data.train.labels { perClass[Int(label)] += 1 }
            print("training examples per class: " + perClass.map(String.init).joined(separator: " "))
            let n = Normalization(fitting: data.train)
            print("normalisation (training set): mean \(Normalization.json(n.mean)), std \(Normalization.json(n.std))"
                  + (n.scalesBytes ? " of the values / 255" : ""))
        } catch let error as SprigError {
            printError(error.description)
            throw ExitCode(inputErrorCode)
        }
    }
}
