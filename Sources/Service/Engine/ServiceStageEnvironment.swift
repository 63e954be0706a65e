import Foundation
import Pipeline
import PostgresClient

/// The stages' view of the service: the data root, uploaded datasets and the
/// `artifacts` table.
struct ServiceStageEnvironment: StageEnvironment {
    let dataRoot: URL
    let pool: PostgresPool

    struct NoSuchDataset: Error, CustomStringConvertible {
        var id: UUID
        var description: String { "no dataset \(id.uuidString.lowercased())" }
    }

    func datasetFile(id: UUID) throws -> URL {
        let path = try pool.withConnection { c in
            try c.query("SELECT path FROM datasets WHERE id = \(id)").first?.decode(0, as: String.self)
        }
        guard let path else { throw NoSuchDataset(id: id) }
        return path.hasPrefix("/") ? URL(fileURLWithPath: path) : dataRoot.appendingPathComponent(path)
    }

    func recordArtifact(_ a: ArtifactInfo, experiment: UUID) throws {
        try pool.withConnection { c in
            try c.execute(
                """
                INSERT INTO artifacts (experiment_id, name, format, path, size_bytes, sha256, row_count)
                VALUES (\(experiment), \(a.name), \(a.format), \(a.path), \(a.sizeBytes), \(a.sha256), \(a.rows))
                ON CONFLICT (experiment_id, name) DO UPDATE SET format = EXCLUDED.format, path = EXCLUDED.path,
                    size_bytes = EXCLUDED.size_bytes, sha256 = EXCLUDED.sha256, row_count = EXCLUDED.row_count,
                    created_at = now()
                """)
        }
    }
}
