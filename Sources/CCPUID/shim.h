// CPUID and XGETBV for runtime CPU dispatch. Header-only; on other architectures every query returns 0.
#ifndef MAMBA_DNA_CPUID_SHIM_H
#define MAMBA_DNA_CPUID_SHIM_H
#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/// Registers of CPUID(leaf, subleaf) into r[0..3] = eax, ebx, ecx, edx; returns 0 when the leaf is above the maximum.
static inline int mamba_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4]) {
#if defined(__x86_64__) || defined(__i386__)
    if (leaf > __get_cpuid_max(leaf & 0x80000000u, 0)) { r[0] = r[1] = r[2] = r[3] = 0; return 0; }
    __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
    return 1;
#else
    r[0] = r[1] = r[2] = r[3] = 0;
    (void)leaf; (void)subleaf;
    return 0;
#endif
}

/// XCR0: which register states the operating system saves (bit 1-2 SSE/AVX, 5-7 AVX-512, 17-18 AMX tiles).
/// 0 when OSXSAVE is off or the CPU is not x86.
static inline uint64_t mamba_xgetbv0(void) {
#if defined(__x86_64__) || defined(__i386__)
    uint32_t r[4];
    if (!mamba_cpuid(1, 0, r) || !(r[2] & (1u << 27))) return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#else
    return 0;
#endif
}
#endif
