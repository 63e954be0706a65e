/// A failure while writing an exported file.
public struct ExportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// The file cannot be created or written.
        case io
        /// A batch does not match the declared columns (names, types or lengths).
        case schema
        /// The compressor failed.
        case compression
        /// The writer was already closed.
        case closed
        /// The writer's checkpoint (see ``ParquetWriter/checkpoint``) threw: the write stopped.
        case interrupted
    }

    /// What kind of failure.
    public var code: Code
    /// The file path, or empty.
    public var path: String
    /// A human-readable reason.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, path: String = "", reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}
