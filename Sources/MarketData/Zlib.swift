internal import CZlib

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// zlib (through the `CZlib` system library) for gzip input and output.
/// Nothing of zlib appears in a public signature.
enum Zlib {
    static let streamSize = Int32(MemoryLayout<z_stream>.size)
}

/// Inflates gzip data (one or more concatenated members) from a file descriptor.
package final class GzipReader {
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutablePointer<UInt8>
    private let inputCapacity = 1 << 18
    private var inputEOF = false
    private var finished = false
    /// Damage found: bytes produced before it go out first, the error with
    /// the next call and every call after (errors come in stream order).
    private var pendingError: MarketDataError?
    private let fd: Int32

    /// Starts inflating the gzip stream read from `fd` (not closed by this type).
    package init(fd: Int32) throws(MarketDataError) {
        self.fd = fd
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = .allocate(capacity: inputCapacity)
        // 15 + 32: a zlib or gzip header, detected automatically.
        guard inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Zlib.streamSize) == Z_OK else {
            stream.deallocate(); input.deallocate()
            throw MarketDataError(.compression, reason: "inflateInit2 failed")
        }
    }

    deinit {
        _ = inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    /// Inflates up to `capacity` bytes into `dst`.
    /// - Returns: the number of bytes written; 0 only at the end of the data.
    /// - Throws: ``MarketDataError`` with code `.compression` or `.io`.
    package func read(into dst: UnsafeMutablePointer<UInt8>, capacity: Int) throws(MarketDataError) -> Int {
        if let pendingError { throw pendingError }
        if finished || capacity == 0 { return 0 }
        stream.pointee.next_out = dst
        stream.pointee.avail_out = UInt32(min(capacity, Int(UInt32.max)))
        while true {
            if stream.pointee.avail_in == 0 && !inputEOF {
                let n = posixRead(fd, input, inputCapacity)
                if n < 0 { throw MarketDataError(.io, reason: "read failed: errno \(lastErrno())") }
                if n == 0 {
                    inputEOF = true
                } else {
                    stream.pointee.next_in = input
                    stream.pointee.avail_in = UInt32(n)
                }
            }
            let ret = inflate(stream, Z_NO_FLUSH)
            let produced = capacity - Int(stream.pointee.avail_out)
            if ret == Z_STREAM_END {
                if stream.pointee.avail_in == 0 && inputEOF {
                    finished = true
                    return produced
                }
                if stream.pointee.avail_in == 0 {
                    // Peek for another member.
                    let n = posixRead(fd, input, inputCapacity)
                    if n <= 0 { finished = true; inputEOF = true; return produced }
                    stream.pointee.next_in = input
                    stream.pointee.avail_in = UInt32(n)
                }
                _ = inflateReset(stream)
                if produced > 0 { return produced }
                continue
            }
            if ret != Z_OK && ret != Z_BUF_ERROR {
                let error = MarketDataError(.compression, reason: "gzip data is damaged (inflate returned \(ret))")
                pendingError = error  // sticky: every later call reports it too
                if produced > 0 { return produced }
                throw error
            }
            if produced > 0 { return produced }
            if inputEOF && stream.pointee.avail_in == 0 {
                throw MarketDataError(.compression, reason: "gzip data ends early")
            }
        }
    }
}

/// Inflates gzip data pushed to it chunk by chunk (one or more concatenated
/// members), handing the output to a closure in pieces of at most 64 KiB, so
/// memory stays flat however much the data expands: the caller can stop at
/// any piece by throwing.
package final class GzipInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutablePointer<UInt8>
    private let outputCapacity = 64 << 10
    /// A member ended; the next input starts a new one.
    private var memberEnded = false
    /// Inside a member (started and not yet ended).
    private var inMember = false

    /// Starts inflating (a zlib or gzip header, detected automatically).
    /// - Throws: ``MarketDataError`` with code `.compression`.
    package init() throws(MarketDataError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(capacity: outputCapacity)
        guard inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Zlib.streamSize) == Z_OK else {
            stream.deallocate(); output.deallocate()
            throw MarketDataError(.compression, reason: "inflateInit2 failed")
        }
    }

    deinit {
        _ = inflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Whether the data so far ends at the end of a member (nothing is cut off).
    package var isComplete: Bool { !inMember }

    /// Inflates `input`, handing every piece of output to `body` before
    /// inflating more. The corresponding C function is `inflate`.
    /// - Throws: ``MarketDataError`` (`.compression`) for damaged data, or what `body` throws.
    package func inflate(_ input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        var offset = 0
        while offset < input.count {
            let slice = min(input.count - offset, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: (base + offset).assumingMemoryBound(to: UInt8.self))
            stream.pointee.avail_in = UInt32(slice)
            offset += slice
            // Inflate until the input is used up and no output is left pending.
            var outputFull = false
            while stream.pointee.avail_in > 0 || outputFull {
                if memberEnded {
                    if stream.pointee.avail_in == 0 { break }
                    _ = inflateReset(stream)
                    memberEnded = false
                }
                inMember = true
                stream.pointee.next_out = output
                stream.pointee.avail_out = UInt32(outputCapacity)
                let ret = zlibInflate(stream, Z_NO_FLUSH)
                let produced = outputCapacity - Int(stream.pointee.avail_out)
                if ret == Z_STREAM_END {
                    memberEnded = true
                    inMember = false
                } else if ret == Z_BUF_ERROR && produced == 0 {
                    break  // no progress possible: more input is needed
                } else if ret != Z_OK && ret != Z_BUF_ERROR {
                    throw MarketDataError(.compression, reason: "gzip data is damaged (inflate returned \(ret))")
                }
                outputFull = !memberEnded && stream.pointee.avail_out == 0
                if produced > 0 { try body(UnsafeRawBufferPointer(start: output, count: produced)) }
            }
        }
    }
}

/// zlib's `inflate` under a name that does not clash with the method.
@inline(__always)
private func zlibInflate(_ stream: UnsafeMutablePointer<z_stream>, _ flush: Int32) -> Int32 {
    CZlib.inflate(stream, flush)
}

/// Deflates bytes into gzip format, handing compressed output to a sink.
package final class GzipWriter {
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutablePointer<UInt8>
    private let outputCapacity = 1 << 18

    /// Starts a gzip stream.
    /// - Parameter level: the zlib level, 0…9; default 6.
    package init(level: Int = 6) throws(MarketDataError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(capacity: outputCapacity)
        // method 8 (deflate), 15 + 16: gzip wrapper, memLevel 8, default strategy.
        guard
            deflateInit2_(stream, Int32(level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Zlib.streamSize) == Z_OK
        else {
            stream.deallocate(); output.deallocate()
            throw MarketDataError(.compression, reason: "deflateInit2 failed")
        }
    }

    deinit {
        _ = deflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses `bytes`; with `finish`, also ends the gzip stream.
    /// - Parameters:
    ///   - bytes: the input.
    ///   - finish: whether this is the last call.
    ///   - sink: receives compressed output, possibly several times.
    package func write<E: Error>(
        _ bytes: UnsafeRawBufferPointer, finish: Bool, sink: (UnsafeRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(bytes.count)
        while true {
            stream.pointee.next_out = output
            stream.pointee.avail_out = UInt32(outputCapacity)
            let ret = deflate(stream, finish ? Z_FINISH : Z_NO_FLUSH)
            let produced = outputCapacity - Int(stream.pointee.avail_out)
            if produced > 0 { try sink(UnsafeRawBufferPointer(start: output, count: produced)) }
            if finish {
                if ret == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 {
                return
            }
        }
    }
}
