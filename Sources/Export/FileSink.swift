internal import MarketData

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A buffered output file, optionally gzip-compressed; owns every `open`/`write`/`close` call.
final class FileSink {
    let path: String
    private var fd: Int32
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var used = 0
    private let gzip: GzipWriter?
    /// Bytes handed to the sink so far (before compression).
    private(set) var offset: Int64 = 0

    /// Creates (or truncates) `path`. The corresponding C function is `open(2)`.
    init(path: String, gzip: Bool = false, bufferSize: Int = 1 << 20) throws(ExportError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw ExportError(.io, path: path, reason: "cannot create: " + String(cString: strerror(errno)))
        }
        capacity = bufferSize
        buffer = .allocate(capacity: bufferSize)
        if gzip {
            do { self.gzip = try GzipWriter() } catch {
                _ = posixCloseFD(fd)
                buffer.deallocate()
                throw ExportError(.compression, path: path, reason: error.reason)
            }
        } else {
            self.gzip = nil
        }
    }

    deinit {
        if fd >= 0 { _ = posixCloseFD(fd) }
        buffer.deallocate()
    }

    /// Appends bytes.
    @inline(__always)
    func write(_ bytes: UnsafeRawBufferPointer) throws(ExportError) {
        offset += Int64(bytes.count)
        if bytes.count > capacity - used {
            try flushBuffer()
            if bytes.count >= capacity {
                try emit(bytes, finish: false)
                return
            }
        }
        (buffer + used).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        used += bytes.count
    }

    /// Appends a byte array.
    func write(_ bytes: [UInt8]) throws(ExportError) {
        let failure: ExportError? = bytes.withUnsafeBytes { raw in
            do throws(ExportError) { try write(raw) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Room for at least `count` bytes written directly into the buffer; call ``commit(_:)`` after.
    @inline(__always)
    func reserve(_ count: Int) throws(ExportError) -> UnsafeMutablePointer<UInt8> {
        precondition(count <= capacity)
        if capacity - used < count { try flushBuffer() }
        return buffer + used
    }

    /// Records `count` bytes written after ``reserve(_:)``.
    @inline(__always)
    func commit(_ count: Int) {
        used += count
        offset += Int64(count)
    }

    private func flushBuffer() throws(ExportError) {
        if used == 0 { return }
        try emit(UnsafeRawBufferPointer(start: buffer, count: used), finish: false)
        used = 0
    }

    private func emit(_ bytes: UnsafeRawBufferPointer, finish: Bool) throws(ExportError) {
        if let gzip {
            try gzip.write(bytes, finish: finish) { (out) throws(ExportError) in try self.rawWrite(out) }
        } else {
            try rawWrite(bytes)
        }
    }

    /// The corresponding C function is `write(2)` (through `posixWriteAll`).
    private func rawWrite(_ bytes: UnsafeRawBufferPointer) throws(ExportError) {
        if let failure = posixWriteAll(fd, bytes) { throw ExportError(.io, path: path, reason: failure) }
    }

    /// Flushes everything (ending the gzip stream) and closes the file.
    func close() throws(ExportError) {
        guard fd >= 0 else { return }
        try flushBuffer()
        if gzip != nil { try emit(UnsafeRawBufferPointer(start: buffer, count: 0), finish: true) }
        let result = posixCloseFD(fd)
        fd = -1
        if result != 0 { throw ExportError(.io, path: path, reason: "close failed: " + String(cString: strerror(errno))) }
    }
}

@inline(__always)

private func posixCloseFD(_ fd: Int32) -> Int32 { close(fd) }
