public import Export

/// The `config.export` section.
public struct ExportOptions: Sendable, Equatable {
    /// A file format the export stage writes.
    public enum Format: String, Sendable, CaseIterable {
        case csv
        /// CSV, gzip-compressed.
        case csvGzip = "csv.gz"
        case parquet
    }

    /// The formats, in order; default `parquet` alone (`csv` or `csv.gz`
    /// only when asked for: a CSV of the demo's 15m features is three times
    /// its Parquet file).
    public var formats: [Format] = [.parquet]
    /// The Parquet page compression: `none` or `zstd` (level 1); default `zstd`.
    public var compression: ParquetCompression = .zstd

    public init() {}

    /// Reads the section: `formats` (a list of `csv`, `csv.gz`, `parquet`),
    /// `gzip` (boolean: a `csv` in `formats` means `csv.gz`; alone it asks
    /// for no CSV), `compression` (`none` | `zstd`).
    /// - Throws: ``StageError`` naming the member and the allowed values.
    init(_ section: [String: Any]) throws(StageError) {
        let allowed = Format.allCases.map(\.rawValue).joined(separator: ", ")
        if let v = section["formats"] {
            guard let list = v as? [String], !list.isEmpty else {
                throw StageError("config.export.formats: must be a non-empty list of \(allowed)")
            }
            var formats: [Format] = []
            for name in list {
                guard let f = Format(rawValue: name.lowercased()) else {
                    throw StageError("config.export.formats: '\(name)' is not one of \(allowed)")
                }
                if !formats.contains(f) { formats.append(f) }
            }
            self.formats = formats
        }
        if let v = section["gzip"] {
            guard let gzip = v as? Bool else { throw StageError("config.export.gzip: must be true or false") }
            if gzip { formats = formats.map { $0 == .csv ? .csvGzip : $0 } }
        }
        if let v = section["compression"] {
            switch v as? String {
            case "none": compression = .none
            case "zstd": compression = .zstd
            default: throw StageError("config.export.compression: must be one of none, zstd")
            }
        }
    }
}
