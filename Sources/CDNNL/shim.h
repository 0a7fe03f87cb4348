// oneDNN's C API (Debian: libdnnl-dev; Homebrew: onednn) for the bf16 matrix products.
#ifndef MAMBA_DNA_DNNL_SHIM_H
#define MAMBA_DNA_DNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>
#include <dlfcn.h>

// Debian's oneDNN runs on OpenMP: a product uses the calling thread's OpenMP thread count. The OpenMP
// runtime is the one libdnnl itself loaded, looked up by name so that nothing else has to link it.
static inline void mamba_dnnl_set_threads(int n) {
#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
    static void (*set)(int) = 0;
    if (!set) set = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (set) set(n > 0 ? n : 1);
#else
    (void)n;
#endif
}
#endif
