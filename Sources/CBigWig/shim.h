// libBigWig (Debian: libbigwig-dev) for bigWig output. Local files only: NOCURL keeps curl's headers out (the
// library's remote-file support is not used, and the structures are only handled through pointers).
#ifndef MAMBA_DNA_BIGWIG_SHIM_H
#define MAMBA_DNA_BIGWIG_SHIM_H
#define NOCURL 1
#include <bigWig.h>
#endif
