/// How a Parquet writer compresses its pages.
public enum ParquetCompression: Sendable, Equatable {
    /// No compression (codec UNCOMPRESSED).
    case none
    /// zstd at the given level (codec ZSTD); level 1 is pyarrow's default.
    case zstd(level: Int)

    /// zstd at level 1.
    public static let zstd = ParquetCompression.zstd(level: 1)

    /// The Thrift `CompressionCodec` value.
    var codec: Int32 {
        switch self {
        case .none: return 0
        case .zstd: return 6
        }
    }
}
