#if os(Linux)
import Glibc
#endif

/// Asks the kernel to back a large, not yet touched output buffer with
/// transparent huge pages (`madvise(MADV_HUGEPAGE)`), as numpy does for its
/// arrays: a 10M-bar output is 80 MB, and faulting it in 4 KiB pages costs
/// more than the indicator itself. Only the 2 MiB-aligned interior of
/// buffers of 4 MiB or more is advised; elsewhere (other systems, THP off)
/// this does nothing. The corresponding C function is `madvise`.
///
/// - Parameters:
///   - base: the start of the buffer.
///   - byteCount: its size in bytes.
package func adviseHugePages(_ base: UnsafeMutableRawPointer?, byteCount: Int) {
    #if os(Linux)
    guard let base, byteCount >= 4 << 20 else { return }
    let huge = 2 << 20
    let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
    let end = (Int(bitPattern: base) + byteCount) & ~(huge - 1)
    if end > start {
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE)
    }
    #endif
}
