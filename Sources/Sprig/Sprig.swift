// Sprig, the umbrella module: `import Sprig` brings every library layer, from tensors and
// kernels up to the training loop (docs/ARCHITECTURE.md draws the layers and their arrows).
@_exported import SprigData
@_exported import SprigDistributed
@_exported import SprigExport
@_exported import SprigLayers
@_exported import SprigModels
@_exported import SprigSparsity
@_exported import SprigTensor
@_exported import SprigTraining
