#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A regular file open for reading; its descriptor is closed when the
/// object is released.
///
/// Readers take the file, not its name, so what was checked when it was
/// opened (for example that it lies beneath the data root, see ``DataRoot``)
/// is what is read: nothing opens it again by name. One reader at a time
/// reads it (they share the file offset; each starts from the beginning).
public final class ReadableFile: Sendable {
    /// The open descriptor (`O_RDONLY | O_CLOEXEC`).
    let descriptor: Int32
    /// The size in bytes when it was opened.
    public let size: Int64

    /// Takes ownership of `descriptor`, which must be a regular file.
    init(descriptor: Int32, size: Int64) {
        self.descriptor = descriptor
        self.size = size
    }

    deinit { posixClose(descriptor) }

    /// Opens `path` (any path, symbolic links followed) for reading.
    /// The corresponding C function is `open(2)`.
    /// - Parameters:
    ///   - path: the file.
    ///   - displayName: the name used in errors.
    /// - Throws: ``MarketDataError`` with code `.io` (also for a directory or another non-regular file).
    public static func open(path: String, displayName: String) throws(MarketDataError) -> ReadableFile {
        let fd = posixOpen(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            throw MarketDataError(.io, file: displayName, reason: "cannot open: \(reason)")
        }
        switch adopt(fd) {
        case .success(let file): return file
        case .failure(let kind):
            throw MarketDataError(.io, file: displayName, reason: "cannot open: \(kind)")
        }
    }

    /// Why a descriptor cannot be adopted.
    enum AdoptFailure: Error, CustomStringConvertible {
        case directory, notRegular
        case failed(Int32)
        var description: String {
            switch self {
            case .directory: "is a directory"
            case .notRegular: "is not a regular file"
            case .failed(let e): String(cString: strerror(e))
            }
        }
    }

    /// Checks that `fd` (opened with `O_NONBLOCK`, so a FIFO or device never
    /// blocks the open) is a regular file, clears `O_NONBLOCK` and wraps it;
    /// closes `fd` on failure.
    static func adopt(_ fd: Int32) -> Result<ReadableFile, AdoptFailure> {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let e = errno
            posixClose(fd)
            return .failure(.failed(e))
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            posixClose(fd)
            return .failure(type == S_IFDIR ? .directory : .notRegular)
        }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return .success(ReadableFile(descriptor: fd, size: Int64(info.st_size)))
    }

    /// Up to `count` bytes from the start of the file, without moving the
    /// file offset. The corresponding C function is `pread(2)`.
    public func prefix(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, n in
            var done = 0
            while done < count {
                let r = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(done))
                if r < 0 && errno == EINTR { continue }
                if r <= 0 { break }
                done += r
            }
            n = done
        }
    }
}
