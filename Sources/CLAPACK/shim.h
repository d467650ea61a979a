// OpenBLAS's CBLAS (with its openblas_* extensions) and the reference LAPACKE, both from Debian.
#include <cblas.h>
#include <lapacke.h>
