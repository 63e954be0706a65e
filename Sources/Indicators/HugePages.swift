#if os(Linux)
import Glibc
#endif

/// Asks the kernel to back a large, not yet touched output buffer with
/// transparent huge pages (`madvise(MADV_HUGEPAGE)`), exactly as numpy does
/// for its arrays (numpy/_core/src/multiarray/alloc.c: buffers of 4 MiB or
/// more, from the next 4 KiB boundary to the end): a 10M-bar output is
/// 80 MB, and faulting it in 4 KiB pages costs more than the indicator
/// itself. Advising the whole buffer rather than only its 2 MiB-aligned
/// interior measured ~5 % faster on a 10M-bar SMA (the partial 2 MiB
/// regions at both ends fault in faster inside an advised mapping).
/// Elsewhere (other systems, THP off) this does nothing. The corresponding
/// C function is `madvise`.
///
/// - Parameters:
///   - base: the start of the buffer.
///   - byteCount: its size in bytes.
package func adviseHugePages(_ base: UnsafeMutableRawPointer?, byteCount: Int) {
    #if os(Linux)
    guard let base, byteCount >= 4 << 20 else { return }
    let offset = 4096 - Int(bitPattern: base) % 4096
    _ = madvise(base + offset, byteCount - offset, MADV_HUGEPAGE)
    #endif
}
