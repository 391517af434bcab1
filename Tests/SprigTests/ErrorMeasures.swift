import Testing

/// The largest of `errors`, blind to nothing: a NaN (an entry a kernel never wrote, or a
/// computation that broke) is the worst error there is, so one NaN makes the result NaN,
/// which fails every `worst < tolerance` check. Swift's `max(_:_:)` and `Sequence.max()`
/// drop a NaN unless it comes first, so a test that reduced with them could not fail on one.
func worstError(_ errors: [Double]) -> Double {
    var worst = 0.0
    for e in errors {
        if e.isNaN { return .nan }
        worst = max(worst, e)
    }
    return worst
}

@Suite struct ErrorMeasureTests {
    /// The deliberately wrong inputs: a NaN anywhere, first or not, must fail the check.
    @Test func aNaNAnywhereFailsTheCheck() {
        for errors in [[.nan, 0.1], [0.1, .nan], [0, 0, .nan, 0]] as [[Double]] {
            #expect(worstError(errors).isNaN, "\(errors)")
            #expect(!(worstError(errors) < 1e-4), "\(errors) passed a tolerance check")
        }
        // what the old reductions did: the NaN vanished
        #expect([0.1, Double.nan].max() == 0.1 && max(max(0, 0.1), Double.nan) == 0.1)
        #expect(worstError([0.5, 2, 1]) == 2 && worstError([]) == 0)
    }
}
