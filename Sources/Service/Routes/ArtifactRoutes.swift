import Foundation
import MicroHTTP
import PostgresClient
import Store

#if canImport(Glibc)
import Glibc
#endif

/// `/v1/experiments/{id}/artifacts`: the files an experiment exported, listed
/// from the `artifacts` table and downloaded with `Content-Length`, `ETag`
/// (`If-None-Match` → 304) and single byte ranges (206, 416).
///
/// Only files recorded in `artifacts` are served: the name is looked up in the
/// table and the path comes from the row, never from the request.
struct ArtifactRoutes {
    let store: ArtifactStore
    /// The data root that relative artifact paths are under.
    let dataDir: String

    init(pool: PostgresPool, dataDir: String) {
        store = ArtifactStore(pool: pool)
        var root = dataDir.isEmpty ? "." : dataDir
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.dataDir = root
    }

    func register(_ r: inout Router) {
        r.get("/v1/experiments/{id}/artifacts", scope: Scope.read.rawValue) { req in try list(req) }
        r.get("/v1/experiments/{id}/artifacts/{name}", scope: Scope.read.rawValue) { req in try download(req) }
    }

    func list(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        guard let artifacts = try database({ try store.list(experiment: id) }) else {
            throw APIError.notFound("experiment \(req.parameter("id"))")
        }
        let items = artifacts.map(Self.render).joined(separator: ",")
        return .json(Array("{\"items\":[\(items)],\"next_cursor\":null}".utf8))
    }

    func download(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        let name = req.parameter("name")
        let artifact: ArtifactRecord
        switch try database({ try store.get(experiment: id, name: name) }) {
        case .noExperiment: throw APIError.notFound("experiment \(req.parameter("id"))")
        case .noArtifact: throw APIError(404, "experiment \(req.parameter("id")) has no artifact '\(name)'", field: "name")
        case .found(let a): artifact = a
        }
        let path = artifact.path.hasPrefix("/") ? artifact.path : dataDir + "/" + artifact.path
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw APIError(404, "artifact '\(name)' is recorded but its file is missing on disk", field: "name")
        }
        let size = Int64(st.st_size)
        let etag = Self.etag(artifact, size: size, modifiedNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))

        var headers = HTTPHeaders()
        headers.add("ETag", etag)
        headers.add("Accept-Ranges", "bytes")
        headers.add("Cache-Control", "private, no-cache")
        if let inm = req.headers["If-None-Match"], Self.matches(ifNoneMatch: inm, etag: etag) {
            return Response(status: 304, headers: headers)
        }
        headers.add("Content-Type", Self.contentType(artifact.format))
        headers.add("Content-Disposition", Self.attachment(artifact.name))

        let honourRange = req.headers["If-Range"].map { $0.trimmingCharacters(in: .whitespaces) == etag } ?? true
        if let range = req.headers["Range"], honourRange {
            switch Self.parseRange(range, size: size) {
            case .ignore:
                break
            case .unsatisfiable:
                var r = APIError(416, "the range '\(range)' is outside the file's \(size) bytes", field: "Range").response
                r.headers.add("Content-Range", "bytes */\(size)")
                return r
            case .bytes(let first, let last):
                headers.add("Content-Range", "bytes \(first)-\(last)/\(size)")
                return Response(status: 206, headers: headers, body: .file(path: path, offset: first, length: last - first + 1))
            }
        }
        return Response(status: 200, headers: headers, body: .file(path: path, offset: 0, length: size))
    }

    // MARK: helpers

    static func render(_ a: ArtifactRecord) -> String {
        let url = "/v1/experiments/\(a.experimentID.uuidString.lowercased())/artifacts/\(pathSegment(a.name))"
        return """
            {"name":\(JSONText.quote(a.name)),"format":\(JSONText.quote(a.format)),"size_bytes":\(a.sizeBytes),\
            "sha256":\(a.sha256.map(JSONText.quote) ?? "null"),"rows":\(a.rowCount.map(String.init) ?? "null"),\
            "created_at":\(JSONText.quote(Timestamps.iso8601(a.createdAt))),"url":\(JSONText.quote(url))}
            """
    }

    /// A strong validator: the recorded SHA-256 while the file still has the
    /// recorded size, else the size and modification time.
    static func etag(_ a: ArtifactRecord, size: Int64, modifiedNanos: Int64) -> String {
        if let sha = a.sha256, !sha.isEmpty, size == a.sizeBytes,
            sha.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) })
        {
            return "\"\(sha.lowercased())\""
        }
        return "\"\(String(size, radix: 16))-\(String(modifiedNanos, radix: 16))\""
    }

    /// `If-None-Match` with the weak comparison (RFC 9110 §13.1.2): `*` or any listed tag.
    static func matches(ifNoneMatch header: String, etag: String) -> Bool {
        func opaque(_ tag: Substring) -> Substring {
            let t = tag.trimmingCharacters(in: .whitespaces)
            return t.hasPrefix("W/") ? Substring(t.dropFirst(2)) : Substring(t)
        }
        let mine = opaque(Substring(etag))
        return header.split(separator: ",").contains { tag in
            tag.trimmingCharacters(in: .whitespaces) == "*" || opaque(tag) == mine
        }
    }

    enum ByteRange: Equatable {
        /// No usable range: serve the whole file (unknown unit, bad syntax, several ranges).
        case ignore
        case unsatisfiable
        /// Inclusive first and last byte.
        case bytes(Int64, Int64)
    }

    /// Parses a single `Range: bytes=a-b`, `bytes=a-` or `bytes=-n` (RFC 9110 §14.1.2).
    static func parseRange(_ header: String, size: Int64) -> ByteRange {
        let h = header.trimmingCharacters(in: .whitespaces)
        guard h.lowercased().hasPrefix("bytes=") else { return .ignore }
        let spec = h.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .ignore }
        let a = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let b = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        func number(_ s: String) -> Int64? {
            guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int64(s) ?? Int64.max  // more digits than fit: beyond any file
        }
        if a.isEmpty {
            guard let n = number(b) else { return .ignore }
            if n == 0 || size == 0 { return .unsatisfiable }
            return .bytes(max(0, size - n), size - 1)
        }
        guard let first = number(a) else { return .ignore }
        var last = size - 1
        if !b.isEmpty {
            guard let l = number(b), l >= first else { return .ignore }
            last = min(l, size - 1)
        }
        if first >= size { return .unsatisfiable }
        return .bytes(first, last)
    }

    static func contentType(_ format: String) -> String {
        switch format.lowercased() {
        case "csv": "text/csv; charset=utf-8"
        case "csv.gz", "gz", "gzip": "application/gzip"
        case "parquet": "application/vnd.apache.parquet"
        case "json": "application/json"
        case "ndjson", "jsonl": "application/x-ndjson"
        case "txt", "log": "text/plain; charset=utf-8"
        case "html": "text/html; charset=utf-8"
        case "png": "image/png"
        case "svg": "image/svg+xml"
        default: "application/octet-stream"
        }
    }

    /// `attachment; filename="…"` with an ASCII fallback, plus `filename*` (RFC 8187) for other names.
    static func attachment(_ name: String) -> String {
        let ascii = String(
            name.unicodeScalars.map { s -> Character in
                s.isASCII && s.value >= 0x20 && s.value != 0x7F && s != "\"" && s != "\\" ? Character(s) : "_"
            })
        var value = "attachment; filename=\"\(ascii)\""
        if ascii != name { value += "; filename*=UTF-8''" + pathSegment(name) }
        return value
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func pathSegment(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: out.unicodeScalars.append(Unicode.Scalar(byte))
            default: out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
