import Foundation
import MPI
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

private let lenet = ModelArchitecture.zoo["lenet-300-100"]!.weightShapes
private let wide = ModelArchitecture.zoo["mlp-wide"]!.weightShapes

private func activeCounts(_ shapes: [SparsityDistribution.LayerShape], _ sparsities: [Double]) -> [Int] {
    zip(shapes, sparsities).map { SparsityDistribution.activeCount(count: $0.count, sparsity: $1) }
}

@Suite struct DistributionTests {
    @Test func uniformAndOverrides() {
        #expect(SparsityDistribution.uniform.sparsities(of: lenet, sparsity: 0.9) == [0.9, 0.9, 0.9])
        #expect(SparsityDistribution.uniform.sparsities(of: lenet, sparsity: 0.98, overrides: ["fc2": 0.882, "fc3": 0]) == [0.98, 0.882, 0])
        #expect(activeCounts(lenet, [0.98, 0.882, 0]) == [4704, 3540, 1000])
    }

    /// ERK for the two MLPs, computed independently (by hand for LeNet-300-100 at 0.9:
    /// raw densities 1084/235200, 400/30000, 110/1000; eps = 26620/1594 makes fc3 exceed 1,
    /// so fc3 is dense and eps = (26520 - 900)/1484 = 17.2642).
    @Test(arguments: [
        (0.9, "lenet", [18715, 6906, 1000]),
        (0.98, "lenet", [3621, 1337, 368]),
        (0.9, "wide", [229553, 332009, 20480]),
        (0.98, "wide", [39214, 56716, 20480]),
    ])
    func erkMatchesHandComputedBudgets(sparsity: Double, model: String, expected: [Int]) {
        let shapes = model == "lenet" ? lenet : wide
        for distribution in [SparsityDistribution.erk, .er] { // equal for fully connected layers
            let s = distribution.sparsities(of: shapes, sparsity: sparsity)
            let counts = activeCounts(shapes, s)
            #expect(counts == expected, "\(distribution) \(model) \(sparsity)")
            let target = (1 - sparsity) * Double(shapes.reduce(0) { $0 + $1.count })
            #expect(abs(Double(counts.reduce(0, +)) - target) <= Double(shapes.count), "budget \(counts.reduce(0, +)) vs \(target)")
        }
    }

    /// ERK on LeNet-5's kernels (6x1x5x5, 16x6x5x5) and fc layers (120x400, 84x120, 10x84),
    /// by hand. Raw densities sum(shape)/prod(shape): 17/150, 32/2400, 520/48000,
    /// 204/10080, 94/840; sum p N = 17 + 32 + 520 + 204 + 94 = 867. At 0.9 the budget is
    /// 0.1 * 61470 = 6147, eps = 6147/867 = 7.0900 and nothing exceeds 1: conv1 keeps
    /// 150 - floor(150 (1 - 7.09 * 17/150)) = 150 - floor(29.47) = 121, conv2
    /// 2400 - floor(2173.1) = 227, then 3687, 1447 and 667. At 0.8, eps = 12294/867 = 14.18
    /// makes conv1 dense (1.61), then eps = (0.2 * 61320 - 0.8 * 150)/850 = 14.29 makes fc3
    /// dense (1.60), then eps = (0.2 * 60480 - 0.8 * 990)/756 = 14.952: conv2 keeps
    /// 2400 - floor(0.80063 * 2400) = 479.
    @Test func erkForConvolutionKernels() {
        let lenet5 = ModelArchitecture.zoo["lenet-5"]!.weightShapes
        #expect(lenet5.map(\.shape) == [[6, 1, 5, 5], [16, 6, 5, 5], [120, 400], [84, 120], [10, 84]])
        let s9 = SparsityDistribution.erk.sparsities(of: lenet5, sparsity: 0.9)
        #expect(abs(s9[0] - (1 - 6147.0 / 867 * 17 / 150)) < 1e-12 && abs(s9[1] - (1 - 6147.0 / 867 * 32 / 2400)) < 1e-12)
        #expect(activeCounts(lenet5, s9) == [121, 227, 3687, 1447, 667])
        let s8 = SparsityDistribution.erk.sparsities(of: lenet5, sparsity: 0.8)
        #expect(s8[0] == 0 && s8[4] == 0 && abs(s8[1] - (1 - 11304.0 / 756 * 32 / 2400)) < 1e-12)
        #expect(activeCounts(lenet5, s8) == [150, 479, 7776, 3051, 840])
        #expect(activeCounts(lenet5, s8).reduce(0, +) == 12296) // the budget 12294, up to flooring
        // ER counts channels only: (6 + 1)/(6 * 1) = 7/6 and 22/96 put both kernels' raw
        // densities above the fc layers', and the loop makes them dense
        let er = SparsityDistribution.er.sparsities(of: lenet5, sparsity: 0.9)
        #expect(er[0] == 0 && er[1] == 0 && er.dropFirst(2).allSatisfy { $0 > 0 })
    }

    /// Overrides fix their layers outside the budget; the others re-solve ERK for
    /// (1 - S) of their own size. conv1 at 0.5 and fc3 dense at S = 0.9: conv2, fc1, fc2
    /// share 0.1 * 60480 = 6048 with eps = 6048 / (32 + 520 + 204) = 8: densities 8 * 32/2400,
    /// 8 * 520/48000, 8 * 204/10080, i.e. 256, 4160 and 1632 weights (6048 in all).
    @Test func erkWithOverridesResolvesTheRest() {
        let lenet5 = ModelArchitecture.zoo["lenet-5"]!.weightShapes
        let s = SparsityDistribution.erk.sparsities(of: lenet5, sparsity: 0.9, overrides: ["conv1": 0.5, "fc3": 0])
        #expect(s[0] == 0.5 && s[4] == 0)
        let counts = activeCounts(lenet5, s)
        #expect(counts == [75, 256, 4160, 1632, 840])
        #expect(counts[1...3].reduce(0, +) == 6048)
        // without the overrides conv2 had 227 of the shared budget
        #expect(activeCounts(lenet5, SparsityDistribution.erk.sparsities(of: lenet5, sparsity: 0.9))[1] == 227)
        // an override of an fc layer under uniform leaves the others at S
        #expect(SparsityDistribution.uniform.sparsities(of: lenet5, sparsity: 0.9, overrides: ["fc1": 0.5]) == [0.9, 0.9, 0.5, 0.9, 0.9])
    }

    @Test func erkLoopMakesOverfullLayersDense() {
        let s = SparsityDistribution.erk.sparsities(of: lenet, sparsity: 0.9)
        #expect(s[2] == 0)
        #expect(abs(s[0] - 0.920432) < 1e-6 && abs(s[1] - 0.769811) < 1e-6)
    }
}

@Suite struct ScheduleAndFLOPsTests {
    @Test func dropFractionSchedule() {
        let s = DropFractionSchedule(shape: .cosine, alpha: 0.3, deltaT: 100, begin: 0, end: 1000)
        #expect([0, 100, 150, 1000, 1100].map(s.isUpdateStep) == [false, true, false, true, false])
        let fractions: [Double] = [0, 500, 1000].map { s.fraction(at: $0) }
        #expect(abs(fractions[0] - 0.3) < 1e-12)
        #expect(abs(fractions[1] - 0.15) < 1e-12)
        #expect(abs(fractions[2]) < 1e-12)
        #expect(s.count(at: 500, active: 1001) == 150)
        #expect(DropFractionSchedule(shape: .constant, alpha: 0.3, end: 10).fraction(at: 7) == 0.3)
        let e = DropFractionSchedule(shape: .exponential, alpha: 0.4, deltaT: 10, begin: 0, end: 100, decay: 0.5)
        #expect(abs(e.fraction(at: 20) - 0.1) < 1e-12)
    }

    /// RigL's per-step cost with an update every dT steps is (3 f_S dT + 2 f_S + f_D) / (dT + 1).
    @Test func rigLTrainingFLOPs() {
        var f = TrainingFLOPs(denseForward: 1000)
        for t in 0...100 { f.addStep(examples: 10, sparseForward: 50, denseGradient: t == 100) }
        let perStep: Double = (3.0 * 50 * 100 + 2 * 50 + 1000) / 101
        let expectedTotal: Double = perStep * 1010
        #expect(abs(f.total - expectedTotal) < 1e-6)
        #expect(abs(f.relativeToDense - perStep / 3000) < 1e-12)
    }

    @Test func gradualPruningSchedule() {
        let g = GradualMagnitudePruning(finalSparsities: [0.9], begin: 100, end: 1100, deltaT: 100, seed: 1)
        #expect(g.sparsity(layer: 0, at: 100) == 0)
        #expect(abs(g.sparsity(layer: 0, at: 600) - 0.9 * (1 - 0.125)) < 1e-12)
        #expect(g.sparsity(layer: 0, at: 1100) == 0.9)
        #expect(g.sparsity(layer: 0, at: 5000) == 0.9)
        #expect([200, 250, 1200].map(g.schedule.isPruningStep) == [true, false, false])
    }
}
