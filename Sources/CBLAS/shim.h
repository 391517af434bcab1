// OpenBLAS's CBLAS interface (pkg-config openblas), plus its thread-count control.
#ifndef SPRIG_CBLAS_SHIM_H
#define SPRIG_CBLAS_SHIM_H
#include <cblas.h>
#endif
