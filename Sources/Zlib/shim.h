// zlib: inflate for gzipped IDX files, deflate and crc32 for PNG output.
#ifndef SPRIG_CZLIB_SHIM_H
#define SPRIG_CZLIB_SHIM_H
#include <zlib.h>
#endif
