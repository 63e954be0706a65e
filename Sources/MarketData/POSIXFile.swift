#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// `read(2)` under a name that does not clash with methods called `read`.
@inline(__always)
func posixRead(_ fd: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
    while true {
        let n = read(fd, buffer, count)
        if n < 0 && errno == EINTR { continue }
        return n
    }
}

/// The calling thread's `errno`.
func lastErrno() -> Int32 { errno }

/// `open(2)` under a name that does not clash with methods called `open`.
@inline(__always)
func posixOpen(_ path: String, _ flags: Int32) -> Int32 {
    while true {
        let fd = open(path, flags)
        if fd < 0 && errno == EINTR { continue }
        return fd
    }
}

/// `openat(2)`, retried on EINTR.
@inline(__always)
func posixOpenAt(_ dirFD: Int32, _ name: String, _ flags: Int32) -> Int32 {
    while true {
        let fd = openat(dirFD, name, flags)
        if fd < 0 && errno == EINTR { continue }
        return fd
    }
}

/// Closes a file descriptor; the corresponding C function is `close(2)`.
func posixClose(_ fd: Int32) { _ = close(fd) }

/// Moves a file descriptor back to the start; the corresponding C function is `lseek(2)`.
func lseekStart(_ fd: Int32) -> Bool { lseek(fd, 0, SEEK_SET) == 0 }

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
/// - Returns: nil on success, else a description of the failure.
/// The corresponding C function is `write(2)`.
package func posixWriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> String? {
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            return "write failed: " + String(cString: strerror(errno))
        }
        done += n
    }
    return nil
}
