import ArgumentParser
import Foundation
import Logging
import PostgresClient
import Service
import Store

/// `signalforge gc --dry-run | --now`: the retention policy applied once, by
/// the same selection the server's periodic job uses, so a dry run lists
/// exactly what `--now` then deletes.
struct GarbageCollect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Apply the retention policy (retention_days, retention_max_gb) now, or list what it would delete.",
        discussion: """
            Finished (succeeded, failed, cancelled), unpinned experiments go, oldest first: every one finished more than \
            retention_days ago, then more while the experiments' folders together exceed retention_max_gb. Prints one \
            line per experiment: id, reason (age or size), bytes, finished_at, name. --now also finishes deletions that \
            a crash cut short. Runs against the database and data folder of the settings, like `serve`.
            """)

    @OptionGroup var options: SettingsOptions
    @Flag(name: .customLong("dry-run"), help: "List what would be deleted; delete nothing") var dryRun = false
    @Flag(name: .customLong("now"), help: "Delete now") var now = false

    func validate() throws {
        guard dryRun != now else { throw ValidationError("give exactly one of --dry-run and --now") }
    }

    func run() throws {
        let settings = try options.resolve()
        let logger = options.makeLogger(settings)
        let policy = settings.retentionPolicy
        guard policy.isEnabled else {
            throw ValidationError("no retention policy: set retention_days and/or retention_max_gb (flags, environment or config file)")
        }
        guard let url = settings.databaseURL else { throw ValidationError("no database: set DATABASE_URL or --database-url") }
        let pool = PostgresPool(configuration: try PostgresConfiguration(url: url), minConnections: 0, maxConnections: 2, logger: logger)
        defer { pool.close() }
        let dataDirectory = URL(fileURLWithPath: settings.dataDir)
        if now { try ExperimentDeletion(pool: pool, dataDirectory: dataDirectory).finishPending() }
        let chosen = try Retention.collect(pool: pool, dataDirectory: dataDirectory, policy: policy, dryRun: dryRun)
        LogOutput.shared.flush()
        for c in chosen {
            let e = c.experiment
            let finished = e.finishedAt.map { ISO8601DateFormatter().string(from: $0) } ?? "-"
            print("\(e.id.uuidString.lowercased())\t\(c.reason.rawValue)\t\(e.bytes)\t\(finished)\t\(e.name)")
        }
        let bytes = chosen.reduce(Int64(0)) { $0 + $1.experiment.bytes }
        let summary = "\(dryRun ? "would delete" : "deleted") \(chosen.count) experiment\(chosen.count == 1 ? "" : "s") (\(bytes) bytes)"
        FileHandle.standardError.write(Data((summary + "\n").utf8))
    }
}
