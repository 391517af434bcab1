import MPI
import Testing

/// Which processes join an MPI world, from the variables the launchers set (as observed
/// under Slurm 22.05: srun sets SLURM_STEP_NUM_TASKS in every task, with --mpi=pmix also
/// PMIX_RANK; a batch script has SLURM_NTASKS but no step variables).
@Suite struct LaunchTests {
    func mode(_ variables: [String: String]) -> Result<Launch.Mode, LaunchError> {
        Result { try Launch.mode(in: { variables[$0] }) }.mapError { $0 as! LaunchError }
    }

    @Test func plainProcessRunsAlone() {
        #expect(mode([:]) == .success(.single))
    }

    @Test func launchersJoinTheWorld() {
        #expect(mode(["OMPI_COMM_WORLD_SIZE": "2"]) == .success(.world))
        #expect(mode(["PMI_RANK": "0", "PMI_SIZE": "2"]) == .success(.world))
        #expect(mode(["SLURM_STEP_NUM_TASKS": "2", "SLURM_NTASKS": "2", "PMIX_RANK": "1"]) == .success(.world))
    }

    @Test func srunWithSeveralTasksAndNoPMIIsRefused() {
        let result = mode(["SLURM_STEP_NUM_TASKS": "2", "SLURM_NTASKS": "2", "SLURM_PROCID": "1"])
        #expect(result == .failure(.slurmStepWithoutPMI(tasks: 2)))
        #expect(LaunchError.slurmStepWithoutPMI(tasks: 2).description.contains("srun --mpi=pmix"))
    }

    @Test func oneTaskStepsAndBatchScriptsRunAlone() {
        #expect(mode(["SLURM_STEP_NUM_TASKS": "1", "SLURM_NTASKS": "1"]) == .success(.single))
        // the batch script's own process of `sbatch -n 2`: the allocation has 2 tasks, no step
        #expect(mode(["SLURM_NTASKS": "2", "SLURM_JOB_ID": "7", "SLURM_PROCID": "0"]) == .success(.single))
    }

    @Test func sprigMPIOverridesTheSlurmCheck() {
        #expect(mode(["SLURM_STEP_NUM_TASKS": "2", "SPRIG_MPI": "0"]) == .success(.single))
        #expect(mode(["SLURM_STEP_NUM_TASKS": "2", "SPRIG_MPI": "1"]) == .success(.world))
        #expect(mode(["OMPI_COMM_WORLD_SIZE": "2", "SPRIG_MPI": "0"]) == .success(.single))
    }

    @Test func onlyRankZeroSpeaksBeforeMPIStarts() {
        #expect(Launch.isRankZero(in: { _ in nil }))
        #expect(Launch.isRankZero(in: { ["OMPI_COMM_WORLD_RANK": "0"][$0] }))
        #expect(!Launch.isRankZero(in: { ["OMPI_COMM_WORLD_RANK": "1"][$0] }))
        #expect(!Launch.isRankZero(in: { ["SLURM_PROCID": "3"][$0] }))
    }
}
