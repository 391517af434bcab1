import Foundation
import Testing
@testable import Sprig
@testable import SprigData
@testable import SprigModels
@testable import SprigTensor
@testable import SprigTraining

/// The config's `data` and `augment` keys, and models fitted to the data's shape and classes.
@Suite struct DataConfigTests {
    @Test func dataAndAugmentKeysReadAndWriteBack() throws {
        let c = try TrainingConfig.parse(text: """
            data: {path: /d, format: cifar100, label: coarse}
            augment: {random_crop: {padding: 4}, horizontal_flip: true}
            """, source: "c.yaml")
        #expect(c.data == DataSource(path: "/d", format: .cifar100, label: .coarse))
        #expect(c.augmentation == Augmentation(cropPadding: 4, horizontalFlip: true))
        let again = try TrainingConfig.parse(text: c.yaml, source: "again")
        #expect(again.data == c.data && again.augmentation == c.augmentation)
        #expect(c.yaml.contains("data: {path: \"/d\", format: cifar100, label: coarse}\n"))
        let plain = try TrainingConfig.parse(text: "data: somewhere\naugment: {random_crop: true}", source: "p.yaml")
        #expect(plain.data == DataSource(path: "somewhere") && plain.yaml.contains("data: \"somewhere\"\n"))
        #expect(plain.augmentation == Augmentation(cropPadding: 4) && !TrainingConfig().yaml.contains("augment"))
        #expect(try TrainingConfig.parse(text: "data: {format: npz}", source: "f.yaml").data == DataSource(path: "data/mnist", format: .npz))
        let npz = try TrainingConfig.parse(text: "data: {path: n, layout: nhwc, classes: 12}", source: "n.yaml")
        #expect(try TrainingConfig.parse(text: npz.yaml, source: "again").data == DataSource(path: "n", layout: .nhwc, classes: 12))
        // --set data.format on a config whose data is a folder
        let set = try TrainingConfig.parse(text: "data: here\n", source: "s.yaml", overrides: [try ConfigOverride(parsing: "data.format=npz")])
        #expect(set.data == DataSource(path: "here", format: .npz))
    }

    @Test(arguments: [
        ("data: {path: d, format: cifar}", "data.format: unknown format 'cifar' (known: idx, cifar10, cifar100, npz)"),
        ("data: {path: d, label: medium}", "data.label: must be fine or coarse, got 'medium'"),
        ("data: {path: d, layout: chw}", "data.layout: must be nchw or nhwc, got 'chw'"),
        ("data: {path: d, classes: 0}", "data.classes: must be in 1...1048576, got 0"),
        ("data: {path: d, folder: x}", "unknown key 'data.folder'"),
        ("augment: {random_crop: {padding: -1}}", "augment.random_crop.padding: must be non-negative, got -1"),
        ("augment: {random_crop: {pad: 4}}", "unknown key 'augment.random_crop.pad'"),
        ("augment: {vertical_flip: true}", "unknown key 'augment.vertical_flip'"),
        ("augment: {horizontal_flip: sometimes}", "augment.horizontal_flip: must be true or false, got 'sometimes'"),
    ])
    func badDataKeysNameTheField(text: String, expected: String) {
        let error = sprigError { _ = try TrainingConfig.parse(text: text, source: "bad.yaml") }
        #expect(error?.subject == "bad.yaml" && error?.message.hasPrefix(expected) == true, "\(String(describing: error))")
    }

    @Test func zooModelsTakeTheDatasShapeAndClasses() {
        #expect(ModelArchitecture.zoo["lenet-300-100"]!.adapted(toInput: [3, 32, 32], classes: 100) == .mlp(sizes: [3072, 300, 100, 100]))
        let lenet5 = ModelArchitecture.zoo["lenet-5"]!.adapted(toInput: [3, 32, 32], classes: 20)
        guard case .network(let input, let layers) = lenet5 else { Issue.record("not a network"); return }
        #expect(input == [3, 32, 32] && layers.last == .fc(outputs: 20) && lenet5.classes == 20)
        #expect(lenet5.weightShapes.map(\.shape) == [[6, 3, 5, 5], [16, 6, 5, 5], [120, 576], [84, 120], [20, 84]])
        #expect(lenet5.shapeProblem(input: [3, 32, 32]) == nil)
        #expect(ModelArchitecture.zoo["lenet-5"]!.adapted(toInput: [1, 8, 8], classes: 10).shapeProblem(input: [1, 8, 8])
            == "conv2 (5x5, padding 0) gets 6x4x4 inputs, smaller than its kernel")
        #expect(ModelArchitecture.zoo["lenet-5"]!.shapeProblem(input: [784]) == "it takes images (C x H x W), not flat features")
        // the Caffe LeNet-5 of NNrelief and Han et al.: 431,080 parameters on MNIST
        let caffe = ModelArchitecture.zoo["lenet-5-caffe"]!
        #expect(caffe.weightShapes.reduce(0) { $0 + $1.count + $1.shape[0] } == 431_080)
    }

    @Test func aModelThatDoesNotFitTheDataNamesBothShapes() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10, side: 8)
        let data = try DataSource(path: dir.path).load()
        func fit(_ text: String) throws -> ModelArchitecture {
            try TrainingConfig.parse(text: text, source: "m.yaml").model(fitting: data)
        }
        #expect(try fit("model: lenet-300-100") == .mlp(sizes: [64, 300, 100, 4]))
        #expect(try fit("model: {mlp: [64, 10, 4]}") == .mlp(sizes: [64, 10, 4]))
        #expect(sprigError { _ = try fit("model: {mlp: [784, 300, 100, 10]}") }?.message
            == "model: mlp 784-300-100-10 cannot take the data: it takes 784 input features; "
               + "the data's examples are 1x8x8 (64 features) of 4 classes")
        #expect(sprigError { _ = try fit("model: {mlp: [64, 10, 3]}") }?.message
            == "model: mlp 64-10-3 gives 3 classes; the data's examples are 1x8x8 (64 features) of 4 classes "
               + "(set data.classes if the labels do not show them all)")
        #expect(sprigError { _ = try fit("model: lenet-5") }?.message.hasPrefix(
            "model: lenet-5 (net 1x8x8 conv6@5x5p2-pool2-conv16@5x5-pool2-fc120-fc84-fc4) cannot take the data: conv2") == true)
        var config = try TrainingConfig.parse(text: "model: {mlp: [64, 8, 4]}\nbatch_size: 20\n", source: "a.yaml")
        config.augmentation = Augmentation(cropPadding: 8)
        #expect(sprigError { _ = try Trainer(config: config, replicas: .single(), data: data) }?.message
            == "augment.random_crop.padding: 8 is not below the images' 8 x 8")
    }
}
