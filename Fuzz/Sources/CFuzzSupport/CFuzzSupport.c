#include "CFuzzSupport.h"

#include <htslib/bgzf.h>
#include <zlib.h>

int fuzz_write_gzip(const char *path, const uint8_t *data, size_t size) {
    gzFile f = gzopen(path, "wb6");
    if (!f) return -1;
    int ok = size == 0 || gzwrite(f, data, (unsigned)size) == (int)size;
    return gzclose(f) == Z_OK && ok ? 0 : -1;
}

int fuzz_write_bgzf(const char *path, const uint8_t *data, size_t size) {
    BGZF *f = bgzf_open(path, "w6");
    if (!f) return -1;
    int ok = size == 0 || bgzf_write(f, data, size) == (ssize_t)size;
    return bgzf_close(f) == 0 && ok ? 0 : -1;
}
