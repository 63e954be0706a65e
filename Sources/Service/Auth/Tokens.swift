import Foundation
import Hashing
import Store

/// What a token may do. `admin` implies `operate` implies `read`.
public enum Scope: String, Sendable, CaseIterable, Comparable {
    case read, operate, admin

    var rank: Int {
        switch self {
        case .read: 0
        case .operate: 1
        case .admin: 2
        }
    }

    public static func < (a: Scope, b: Scope) -> Bool { a.rank < b.rank }
}

/// One line of the tokens file: a name, a scope and the SHA-256 of the token.
public struct TokenEntry: Sendable, Equatable {
    public var name: String
    public var scope: Scope
    public var hash: [UInt8]
}

public struct TokenFileError: Error, CustomStringConvertible {
    public var description: String
}

/// The bearer tokens the server accepts, loaded from a tokens file
/// (`NAME SCOPE SHA256HEX` per line; blank lines and `#` comments allowed).
/// The server never holds a token, only its hash.
public struct TokenStore: Sendable {
    public let entries: [TokenEntry]

    public init(entries: [TokenEntry]) { self.entries = entries }

    /// Parses a tokens file.
    /// - Throws: `TokenFileError` naming the file, line and reason.
    public static func load(path: String) throws -> TokenStore {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TokenFileError(description: "\(path): cannot read the tokens file")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> TokenStore {
        var entries: [TokenEntry] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count == 3 else {
                throw TokenFileError(description: "\(file):\(n + 1): expected 'NAME SCOPE SHA256HEX', found \(parts.count) fields")
            }
            guard let scope = Scope(rawValue: String(parts[1])) else {
                throw TokenFileError(description: "\(file):\(n + 1): unknown scope '\(parts[1])' (read, operate or admin)")
            }
            guard let hash = Self.hexBytes(String(parts[2])), hash.count == 32 else {
                throw TokenFileError(description: "\(file):\(n + 1): the hash must be 64 hex digits (SHA-256)")
            }
            if entries.contains(where: { $0.name == String(parts[0]) }) {
                throw TokenFileError(description: "\(file):\(n + 1): duplicate token name '\(parts[0])'")
            }
            entries.append(TokenEntry(name: String(parts[0]), scope: scope, hash: hash))
        }
        return TokenStore(entries: entries)
    }

    /// The entry whose hash matches `token`. Every entry is compared in
    /// constant time, so timing tells nothing about which bytes matched.
    public func authenticate(_ token: String) -> TokenEntry? {
        let digest = SHA256.hash(Array(token.utf8))
        var found: TokenEntry?
        for e in entries where Self.constantTimeEqual(e.hash, digest) && found == nil {
            found = e
        }
        return found
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    static func hexBytes(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            guard let h = nibble(u[i]), let l = nibble(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }

    /// A fresh random token (`sf_` + 43 base64url characters, 256 bits) and
    /// its tokens-file line.
    public static func generate(name: String, scope: Scope) throws -> (token: String, line: String) {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw TokenFileError(description: "token name '\(name)': use letters, digits, '-', '_' or '.'")
        }
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let token =
            "sf_"
            + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return (token, "\(name) \(scope.rawValue) \(SHA256.hex(Array(token.utf8)))")
    }
}
