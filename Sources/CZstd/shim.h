#ifndef SIGNALFORGE_CZSTD_SHIM_H
#define SIGNALFORGE_CZSTD_SHIM_H
#include <zstd.h>
#endif
