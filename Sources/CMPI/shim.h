// Open MPI's handles are C macros (casts of addresses of global objects) that Swift cannot
// import. These static inline functions hand them to Swift as ordinary values.
#ifndef SPRIG_CMPI_SHIM_H
#define SPRIG_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm sprig_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline void *sprig_mpi_in_place(void) { return MPI_IN_PLACE; }

static inline MPI_Datatype sprig_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype sprig_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype sprig_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype sprig_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype sprig_mpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype sprig_mpi_uint64(void) { return MPI_UINT64_T; }

static inline MPI_Op sprig_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op sprig_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op sprig_mpi_min(void) { return MPI_MIN; }

static inline int sprig_mpi_success(void) { return MPI_SUCCESS; }
#endif
