// zlib and libbzip2 from Debian, for reading .gz and .bz2 corpora.
#include <zlib.h>
#include <bzlib.h>
