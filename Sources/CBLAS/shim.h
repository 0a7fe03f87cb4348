// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). Thread control is OpenBLAS-specific.
#ifndef MAMBA_DNA_CBLAS_SHIM_H
#define MAMBA_DNA_CBLAS_SHIM_H
#include <cblas.h>
#endif
