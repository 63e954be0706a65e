import MicroHTTP

/// `GET /ui/` and `GET /ui/{file}`: the web view, static HTML, CSS and
/// JavaScript embedded in the binary by the `EmbedFiles` plugin (the top level
/// of `Sources/Service/UI`). Open to everyone: the files hold no data, and the
/// API calls the page makes carry the user's token.
///
/// `GET /ui` (no slash) redirects to `/ui/`, so that the page's relative URLs
/// resolve under `/ui/`. Every file is sent with an `ETag` (`If-None-Match`
/// → 304) and `Cache-Control: no-cache`, so a new build is picked up at once.
struct UIRoutes {
    struct File: Sendable {
        var contentType: String
        var body: [UInt8]
        var etag: String
    }

    /// The files by name (`index.html`, `main.js`, …).
    let files: [String: File]

    /// - Parameter embedded: name → text, as `EmbeddedFiles.files`; only `ui/…` entries are served.
    init(embedded: [String: String] = EmbeddedFiles.files) {
        var files: [String: File] = [:]
        for (key, text) in embedded where key.hasPrefix("ui/") {
            let name = String(key.dropFirst(3))
            let body = Array(text.utf8)
            files[name] = File(contentType: Self.contentType(name), body: body, etag: Self.etag(body))
        }
        self.files = files
    }

    func register(_ r: inout Router) {
        // The router matches `/ui` and `/ui/` alike; the handler tells them apart.
        r.get("/ui/") { req in
            if req.path.hasSuffix("/") { return serve("index.html", req) }
            return Response(
                status: 301, headers: ["Location": "/ui/", "Content-Type": "text/plain; charset=utf-8"], body: Array("/ui/\n".utf8))
        }
        r.get("/ui/{file}") { req in serve(req.parameter("file"), req) }
    }

    func serve(_ name: String, _ req: Request) -> Response {
        guard let file = files[name] else {
            return APIError(404, "the web view has no file '\(name)'", field: "file").response
        }
        var headers = HTTPHeaders()
        headers.add("ETag", file.etag)
        headers.add("Cache-Control", "no-cache")
        if let inm = req.headers["If-None-Match"], ArtifactRoutes.matches(ifNoneMatch: inm, etag: file.etag) {
            return Response(status: 304, headers: headers)
        }
        headers.add("Content-Type", file.contentType)
        headers.add("X-Content-Type-Options", "nosniff")
        if file.contentType.hasPrefix("text/html") {
            // The token lives in sessionStorage: allow no script, style or connection but our own.
            headers.add(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
                    + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
            headers.add("Referrer-Policy", "no-referrer")
        }
        return Response(status: 200, headers: headers, body: file.body)
    }

    /// The media type of a web-view file, by extension.
    static func contentType(_ name: String) -> String {
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json", "map": return "application/json"
        case "svg": return "image/svg+xml"
        case "txt": return "text/plain; charset=utf-8"
        default: return "application/octet-stream"
        }
    }

    /// A strong validator: the 64-bit FNV-1a hash of the bytes.
    static func etag(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        let hex = String(h, radix: 16)
        return "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }
}
