/// The CIFAR conv nets of the papers Sprig reproduces, as lists of layers and blocks
/// (`LayerNode`), named as their usual PyTorch modules so that an export is that module's
/// `state_dict`. Each is written for 3 x 32 x 32 images and 10 classes; the data they
/// train on sets both (`adapted(toInput:classes:)`).
extension ModelArchitecture {
    static let convNets: [String: ModelArchitecture] = [
        "resnet-20": resnet(depth: 20), "resnet-32": resnet(depth: 32), "resnet-56": resnet(depth: 56),
        "wrn-22-2": wideResNet(depth: 22, widen: 2), "vgg-16": vgg16,
    ]

    /// He et al.'s CIFAR ResNet (CVPR 2016, section 4.2): a 3x3 convolution of 16 channels,
    /// three stages of n = (depth - 2) / 6 basic blocks of 16, 32 and 64 channels (the first
    /// block of stages 2 and 3 has stride 2), global average pooling and a linear layer;
    /// batch norm after every convolution and no bias on them. Where a block halves the map,
    /// its shortcut is a 1x1 convolution of stride 2 and batch norm (option B, `shortcut.0`,
    /// `shortcut.1`). Names as in the common PyTorch version: `conv1`, `bn1`,
    /// `layer1.0.conv1`, ..., `fc`. resnet-20: 272,474 parameters.
    public static func resnet(depth: Int, classes: Int = 10) -> ModelArchitecture {
        precondition((depth - 2) % 6 == 0, "a CIFAR ResNet has depth 6 n + 2")
        let n = (depth - 2) / 6
        var nodes: [LayerNode] = [.conv(name: "conv1", channels: 16, kernel: 3, padding: 1, bias: false), .batchNorm(name: "bn1"), .relu]
        var channels = 16
        for (stage, planes) in [16, 32, 64].enumerated() {
            for block in 0..<n {
                let stride = stage > 0 && block == 0 ? 2 : 1
                let shortcut: [LayerNode]? = stride != 1 || channels != planes
                    ? [.conv(name: "shortcut.0", channels: planes, kernel: 1, stride: stride, bias: false), .batchNorm(name: "shortcut.1")]
                    : nil
                nodes.append(.residual(name: "layer\(stage + 1).\(block)", body: [
                    .conv(name: "conv1", channels: planes, kernel: 3, stride: stride, padding: 1, bias: false), .batchNorm(name: "bn1"), .relu,
                    .conv(name: "conv2", channels: planes, kernel: 3, padding: 1, bias: false), .batchNorm(name: "bn2"),
                ], shortcut: shortcut, after: [.relu]))
                channels = planes
            }
        }
        nodes += [.globalAveragePool, .linear(name: "fc", outputs: classes)]
        return .graph(input: [3, 32, 32], layers: nodes)
    }

    /// Zagoruyko & Komodakis's wide ResNet WRN-depth-widen (BMVC 2016): a 3x3 convolution of
    /// 16 channels, three groups of n = (depth - 4) / 6 pre-activation blocks of 16 k, 32 k
    /// and 64 k channels (stride 2 at the start of groups 2 and 3), batch norm, ReLU, global
    /// average pooling and a linear layer. A block is batch norm, ReLU, conv 3x3, batch norm,
    /// ReLU, conv 3x3 plus its input; where the shape changes, the first batch norm and ReLU
    /// come before the split and a 1x1 convolution (`convShortcut`) carries the shortcut.
    /// Names as in the common PyTorch version (`block1.layer.0.conv1`, `bn1`, `fc`); no
    /// dropout. wrn-22-2: 1,079,642 parameters.
    public static func wideResNet(depth: Int, widen: Int, classes: Int = 10) -> ModelArchitecture {
        precondition((depth - 4) % 6 == 0, "a wide ResNet has depth 6 n + 4")
        let n = (depth - 4) / 6
        var nodes: [LayerNode] = [.conv(name: "conv1", channels: 16, kernel: 3, padding: 1, bias: false)]
        var channels = 16
        for (group, width) in [16 * widen, 32 * widen, 64 * widen].enumerated() {
            for block in 0..<n {
                let stride = group > 0 && block == 0 ? 2 : 1
                let tail: [LayerNode] = [.conv(name: "conv1", channels: width, kernel: 3, stride: stride, padding: 1, bias: false),
                                         .batchNorm(name: "bn2"), .relu, .conv(name: "conv2", channels: width, kernel: 3, padding: 1, bias: false)]
                let name = "block\(group + 1).layer.\(block)"
                if channels == width && stride == 1 {
                    nodes.append(.residual(name: name, body: [.batchNorm(name: "bn1"), .relu] + tail, shortcut: nil, after: []))
                } else {
                    nodes.append(.residual(name: name, before: [.batchNorm(name: "bn1"), .relu], body: tail,
                                           shortcut: [.conv(name: "convShortcut", channels: width, kernel: 1, stride: stride, bias: false)],
                                           after: []))
                }
                channels = width
            }
        }
        nodes += [.batchNorm(name: "bn1"), .relu, .globalAveragePool, .linear(name: "fc", outputs: classes)]
        return .graph(input: [3, 32, 32], layers: nodes)
    }

    /// VGG-16 for CIFAR with batch norm (Simonyan & Zisserman, ICLR 2015; the variant of
    /// the sparse-training papers): 13 convolutions 3x3 (64, 64, M, 128, 128, M, 256 x 3, M,
    /// 512 x 3, M, 512 x 3, M; M a 2x2 max pooling), each with batch norm and ReLU, and a
    /// linear layer from 512 features to the classes. Names as torchvision's
    /// `vgg16_bn().features` (`features.0`, `features.1`, ...) and `classifier`.
    public static var vgg16: ModelArchitecture {
        var nodes: [LayerNode] = []
        var index = 0
        for entry in [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0] {
            if entry == 0 {
                nodes.append(.maxPool(size: 2))
                index += 1
            } else {
                nodes += [.conv(name: "features.\(index)", channels: entry, kernel: 3, padding: 1),
                          .batchNorm(name: "features.\(index + 1)"), .relu]
                index += 3
            }
        }
        nodes.append(.linear(name: "classifier", outputs: 10))
        return .graph(input: [3, 32, 32], layers: nodes)
    }
}
