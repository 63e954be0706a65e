/// HMAC-SHA256 (RFC 2104, with SHA-256 as in RFC 4231): the signature of
/// webhook deliveries.
public enum HMACSHA256 {
    /// SHA-256's block size in bytes.
    static let blockSize = 64

    /// The 32-byte authentication code of `message` under `key`.
    /// - Parameters:
    ///   - key: any length; a key longer than the block size is hashed first.
    ///   - message: the exact bytes to authenticate.
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var k = key.count > blockSize ? SHA256.hash(key) : key
        k += [UInt8](repeating: 0, count: blockSize - k.count)
        var inner = SHA256.Hasher()
        inner.update(k.map { $0 ^ 0x36 })
        inner.update(message)
        let innerDigest = inner.finalize()
        var outer = SHA256.Hasher()
        outer.update(k.map { $0 ^ 0x5c })
        outer.update(innerDigest)
        return outer.finalize()
    }

    /// The authentication code as lowercase hex.
    public static func hex(key: [UInt8], message: [UInt8]) -> String {
        SHA256.hexString(authenticationCode(key: key, message: message))
    }

    /// Compares two byte strings in time that depends only on their lengths.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
