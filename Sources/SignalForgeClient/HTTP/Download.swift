import Foundation
import Hashing
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A resumable artifact download (see `artifacts get --help`).
struct Download {
    let client: APIClient
    let path: String

    struct Result {
        var size: Int64
        /// The verified digest (nil when the ETag carried none).
        var sha256: String?
        /// The byte the completing request started at (0: the file came in one piece).
        var resumedFrom: Int64
    }

    /// What one attempt saw.
    private struct Attempt {
        var status = 0
        var etag: String?
        var contentRange: String?
        /// Bytes the answer promised (Content-Length).
        var expected: Int64?
        var written: Int64 = 0
        var problem: [UInt8] = []
        var writeError: String?
    }

    /// `"<64 hex>"` → the digest.
    static func digest(inETag etag: String?) -> String? {
        guard var t = etag?.trimmingCharacters(in: .whitespaces) else { return nil }
        if t.hasPrefix("W/") { return nil }
        t = t.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard t.count == 64, t.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        return t
    }

    /// `bytes 100-199/1000` → (100, 199, 1000); `bytes */1000` → (nil, nil, 1000).
    static func parseContentRange(_ s: String?) -> (first: Int64?, last: Int64?, size: Int64?)? {
        guard let s, s.lowercased().hasPrefix("bytes ") else { return nil }
        let spec = s.dropFirst(6)
        let parts = spec.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let size = Int64(parts[1])
        if parts[0] == "*" { return (nil, nil, size) }
        let range = parts[0].split(separator: "-", maxSplits: 1)
        guard range.count == 2, let a = Int64(range[0]), let b = Int64(range[1]) else { return nil }
        return (a, b, size)
    }

    func toFile(_ dest: String, retries: Int) throws(ClientError) -> Result {
        let part = dest + ".part"
        let etagFile = dest + ".part.etag"
        var failures = 0
        var resumedFrom: Int64 = 0
        while true {
            var offset = Self.size(of: part)
            let savedETag = (try? String(contentsOfFile: etagFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if offset > 0, savedETag == nil || savedETag!.isEmpty {
                // A partial file we cannot validate: start over.
                unlink(part)
                offset = 0
            }
            var headers: [String: String] = ["Accept": "*/*"]
            if offset > 0, let savedETag {
                headers["Range"] = "bytes=\(offset)-"
                headers["If-Range"] = savedETag
            }
            let from = offset
            let fd = open(part, O_WRONLY | O_CREAT, 0o644)
            guard fd >= 0 else { throw .local("cannot write \(part): \(String(cString: strerror(errno)))") }
            let attempt = Mutex(Attempt())
            var transportError: ClientError?
            do {
                _ = try client.exchange(client.request("GET", path, headers: headers, timeout: 60)) { head in
                    attempt.withLock { a -> Bool in
                        a.status = head.status
                        a.etag = head.headers["etag"]
                        a.contentRange = head.headers["content-range"]
                        a.expected = head.expectedLength
                        switch head.status {
                        case 200:
                            guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
                                a.writeError = String(cString: strerror(errno))
                                return false
                            }
                        case 206:
                            guard let r = Self.parseContentRange(a.contentRange), r.first == from else {
                                a.writeError = "the server sent Content-Range '\(a.contentRange ?? "")' for a request from byte \(from)"
                                return false
                            }
                            if a.expected == nil, let first = r.first, let last = r.last { a.expected = last - first + 1 }
                            lseek(fd, off_t(from), SEEK_SET)
                        default:
                            break
                        }
                        if head.status == 200 || head.status == 206, let etag = a.etag {
                            try? (etag + "\n").write(toFile: etagFile, atomically: true, encoding: .utf8)
                        }
                        return true
                    }
                } data: { chunk in
                    attempt.withLock { a -> Bool in
                        guard a.status == 200 || a.status == 206 else {
                            a.problem.append(contentsOf: chunk)
                            return true
                        }
                        guard Self.writeAll(fd, chunk) else {
                            a.writeError = String(cString: strerror(errno))
                            return false
                        }
                        a.written += Int64(chunk.count)
                        return true
                    }
                }
            } catch {
                transportError = error
            }
            close(fd)
            let a = attempt.withLock { $0 }
            if let e = a.writeError { throw .local("\(part): \(e)") }
            switch a.status {
            case 200, 206:
                let start: Int64 = a.status == 206 ? offset : 0
                resumedFrom = start
                let have = start + a.written
                let total = a.status == 206 ? (Self.parseContentRange(a.contentRange)?.size ?? a.expected.map { start + $0 }) : a.expected
                if let expected = a.expected, a.written > expected {
                    unlink(part)
                    unlink(etagFile)
                    throw .transport("the server sent \(a.written) bytes but announced \(expected); the partial file was removed")
                }
                if transportError != nil || a.expected.map({ a.written < $0 }) ?? false {
                    failures += 1
                    guard failures <= retries else {
                        throw .transport(
                            "incomplete download: \(have) of \(total.map(String.init) ?? "?") bytes in \(part) "
                                + "(\(transportError?.message ?? "connection closed early")); run the command again to resume")
                    }
                    Thread.sleep(forTimeInterval: 0.5 * Double(failures))
                    continue
                }
                return try finish(part: part, etagFile: etagFile, dest: dest, etag: a.etag, size: have, resumedFrom: resumedFrom)
            case 416:
                // Our partial file is as long as the file (or longer): done, or start over.
                let size = Self.parseContentRange(a.contentRange)?.size
                if let size, size == offset {
                    return try finish(part: part, etagFile: etagFile, dest: dest, etag: savedETag, size: offset, resumedFrom: offset)
                }
                unlink(part)
                unlink(etagFile)
                failures += 1
                guard failures <= retries else { throw ClientError.problem(status: 416, body: a.problem) }
                continue
            case 0:
                failures += 1
                guard failures <= retries, transportError != nil else {
                    throw transportError ?? .transport("no answer")
                }
                Thread.sleep(forTimeInterval: 0.5 * Double(failures))
                continue
            default:
                if Self.size(of: part) == 0 {
                    unlink(part)
                }
                if HTTPStatus.isTransient(a.status), failures < retries {
                    failures += 1
                    Thread.sleep(forTimeInterval: 0.5 * Double(failures))
                    continue
                }
                throw ClientError.problem(status: a.status, body: a.problem)
            }
        }
    }

    /// Verifies the digest (when the ETag has one) and moves the part into place.
    private func finish(
        part: String, etagFile: String, dest: String, etag: String?, size: Int64, resumedFrom: Int64
    ) throws(ClientError) -> Result {
        var verified: String?
        if let expected = Self.digest(inETag: etag) {
            let actual = try Self.sha256(ofFile: part)
            guard actual == expected else {
                unlink(part)
                unlink(etagFile)
                throw .transport("\(dest): SHA-256 \(actual) does not match the server's \(expected); the download was removed")
            }
            verified = actual
        }
        guard rename(part, dest) == 0 else { throw .local("cannot rename \(part) to \(dest): \(String(cString: strerror(errno)))") }
        unlink(etagFile)
        return Result(size: size, sha256: verified, resumedFrom: resumedFrom)
    }

    /// Streams the whole file to stdout (no resume).
    func toStandardOutput() throws(ClientError) -> Int64 {
        let attempt = Mutex(Attempt())
        _ = try client.exchange(client.request("GET", path, headers: ["Accept": "*/*"], timeout: 60)) { head in
            attempt.withLock {
                $0.status = head.status
                $0.expected = head.expectedLength
            }
            return true
        } data: { chunk in
            attempt.withLock { a -> Bool in
                guard a.status == 200 else {
                    a.problem.append(contentsOf: chunk)
                    return true
                }
                guard Self.writeAll(STDOUT_FILENO, chunk) else {
                    a.writeError = String(cString: strerror(errno))
                    return false
                }
                a.written += Int64(chunk.count)
                return true
            }
        }
        let a = attempt.withLock { $0 }
        if let e = a.writeError { throw .local("stdout: \(e)") }
        guard a.status == 200 else { throw ClientError.problem(status: a.status, body: a.problem) }
        if let expected = a.expected, expected != a.written {
            throw .transport("incomplete download: \(a.written) of \(expected) bytes")
        }
        return a.written
    }

    static func size(of path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    static func sha256(ofFile path: String) throws(ClientError) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .local("cannot read \(path)") }
        defer { close(fd) }
        var hash = SHA256.Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .local("cannot read \(path)")
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return SHA256.hexString(hash.finalize())
    }
}
