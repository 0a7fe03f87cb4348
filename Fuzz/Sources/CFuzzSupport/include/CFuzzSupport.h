// C helpers of the fuzz harnesses: compressed writing of inputs, and libFuzzer's driver entry.
#ifndef MAMBA_DNA_C_FUZZ_SUPPORT_H
#define MAMBA_DNA_C_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// Writes `data` to `path` as one gzip member (zlib). Returns 0, or -1 on failure.
int fuzz_write_gzip(const char *path, const uint8_t *data, size_t size);
/// Writes `data` to `path` as BGZF with its end-of-file block (htslib). Returns 0, or -1 on failure.
int fuzz_write_bgzf(const char *path, const uint8_t *data, size_t size);

/// libFuzzer's driver (in libclang_rt.fuzzer, linked by `-sanitize=fuzzer`): parses the command line and runs
/// `callback` on every input. Harnesses call it from their own `main`, which SwiftPM links under another name.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
