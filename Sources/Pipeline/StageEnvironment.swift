public import Foundation

/// What stages need from the service around them: where inputs and outputs
/// live, and how a produced file becomes a downloadable artifact.
public protocol StageEnvironment: Sendable {
    /// The server's data root (datasets, artifacts, spill files).
    var dataRoot: URL { get }

    /// The file of an uploaded dataset.
    /// - Throws: when there is no such dataset.
    func datasetFile(id: UUID) throws -> URL

    /// Records (or replaces) an artifact of the experiment: a file under its
    /// directory that `GET /v1/experiments/{id}/artifacts/{name}` serves.
    func recordArtifact(_ artifact: ArtifactInfo, experiment: UUID) throws
}

/// A file an experiment produced.
public struct ArtifactInfo: Sendable, Equatable {
    /// The download name, e.g. `features_1h.parquet`.
    public var name: String
    /// `csv`, `csv.gz`, `parquet`, `json`, …
    public var format: String
    /// Absolute path of the file.
    public var path: String
    public var sizeBytes: Int64
    public var sha256: String?
    public var rows: Int64?

    public init(name: String, format: String, path: String, sizeBytes: Int64, sha256: String? = nil, rows: Int64? = nil) {
        self.name = name
        self.format = format
        self.path = path
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.rows = rows
    }
}
