extension Trainer {
    /// The mean training loss of the epoch under way over its steps so far (each step's loss
    /// is the mean over the global batch, the same on every rank, so reading it costs no
    /// communication); the epoch line reports it at the epoch's end. Nil before the first step.
    public var epochLossSoFar: Double? {
        epochSteps > 0 ? epochLossSum / Double(epochSteps) : nil
    }
}
