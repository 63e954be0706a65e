#ifndef SIGNALFORGE_CZLIB_SHIM_H
#define SIGNALFORGE_CZLIB_SHIM_H
#include <zlib.h>
#endif
