#ifndef SIGNALFORGE_CLIBPQ_SHIM_H
#define SIGNALFORGE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
