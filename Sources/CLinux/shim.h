#ifndef SIGNALFORGE_CLINUX_SHIM_H
#define SIGNALFORGE_CLINUX_SHIM_H
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

/* Linux system calls that Glibc does not wrap. `syscall(2)` is variadic,
 * which Swift cannot call; this fixed-signature helper is the only C here.
 * Only what is needed is included, so that Glibc's own types (struct stat,
 * …) keep coming from the Glibc module. */

long syscall(long number, ...);

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* openat2(2) (Linux >= 5.6): returns the new descriptor, or -1 with errno set
 * (ENOSYS on older kernels). */
static inline int
sf_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct open_how how = {0};
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static const uint64_t sf_resolve_beneath = RESOLVE_BENEATH;
static const uint64_t sf_resolve_no_magiclinks = RESOLVE_NO_MAGICLINKS;
/* O_PATH needs _GNU_SOURCE, which Swift's Glibc module is not built with. */
static const int sf_o_path = 010000000;

/* glibc's allocator controls (<malloc.h>, declared here rather than included
 * so that its types do not clash with the Glibc module's): give freed heap
 * memory back to the kernel, and cap the number of malloc arenas. */
int malloc_trim(size_t pad);
int mallopt(int param, int value);
static const int sf_m_arena_max = -8;   /* M_ARENA_MAX */

#endif
