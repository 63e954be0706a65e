import Analysis
import Foundation
import Logging
import MarketData
public import Pipeline
import SignalFusion

/// The stage cache's view of the built-in stages (see `docs/cache.md`): each
/// stage's key material is its ``StageDescriptor/cacheVersion``, the
/// symbols and (but for `load`) the timeframes, and the canonical encoding of every options
/// section it reads (``StageDescriptor/reads``); `load` adds each dataset's
/// content hash. The key of the stage before it is chained in by the runner.
extension BuiltInStages {
    /// The key material of the built-in stage `name` in `context`'s experiment.
    static func cacheMaterial(_ name: String, _ context: StageContext) throws -> String? {
        cacheMaterial(name, plan: try context.plan)
    }

    /// The key material of the built-in stage `name` in the experiment of `plan`
    /// (without `load`'s dataset hashes).
    static func cacheMaterial(_ name: String, plan: ExperimentPlan) -> String? {
        guard let descriptor = descriptor(name) else { return nil }
        var lines = ["version=\(descriptor.cacheVersion)", "symbols=\(StageCacheKey.canonical(plan.symbols))"]
        // `load` reads the datasets whatever the timeframes; every later stage depends on them.
        if name != "load" { lines.append("timeframes=\(StageCacheKey.canonical(plan.timeframes.map(\.rawValue)))") }
        for section in descriptor.reads {
            switch (name, section) {
            case ("fusion", "fusion"):
                // Only the acceptance pass reads the threshold: see ``cacheOutputMaterial(_:plan:)``.
                var fusion = plan.options(FusionConfig.self)
                fusion.qualityThreshold = 0
                lines.append("config.fusion(but quality_threshold)=\(StageCacheKey.canonical(fusion))")
            case ("fusion", "analysis"):
                // The costs of the outcome labels, nothing else of the section.
                let a = plan.options(AnalysisConfig.self)
                lines.append("config.analysis(costs)=\(StageCacheKey.canonical((a.spread, a.commission, a.costs)))")
            default:
                guard let options = BuiltInStages.descriptor(section)?.options else { continue }
                lines.append("config.\(section)=\(canonicalOptions(options, plan))")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// What the built-in stage `name`'s output depends on beyond its entry's
    /// key (``CacheableStage/cacheOutputMaterial(_:)``): `fusion`'s
    /// `quality_threshold`; nil for every other stage.
    static func cacheOutputMaterial(_ name: String, plan: ExperimentPlan) -> String? {
        guard name == "fusion" else { return nil }
        return "quality_threshold=\(StageCacheKey.canonical(plan.options(FusionConfig.self).qualityThreshold))"
    }

    /// The canonical text of a section's typed options, defaults included.
    static func canonicalOptions<T: StageOptions>(_ type: T.Type, _ plan: ExperimentPlan) -> String {
        StageCacheKey.canonical(plan.options(type))
    }

    /// Each dataset's symbol, content hash and the timeframe recorded at upload.
    static func datasetMaterial(_ context: StageContext) throws -> String? {
        guard let environment = context.environment else { return nil }
        let plan = try context.plan
        var lines: [String] = []
        for d in plan.datasets {
            let hash: String
            var recorded = "none"
            if let id = d.datasetID {
                recorded = environment.datasetTimeframe(id: id) ?? "none"
                if let known = environment.datasetSHA256(id: id) {
                    hash = known
                } else {
                    hash = try StageCacheKey.contentHash(of: try environment.datasetFile(id: id)) { try context.checkpoint() }
                }
            } else if let path = d.path {
                hash = try StageCacheKey.contentHash(of: environment.dataRoot.appendingPathComponent(path)) { try context.checkpoint() }
            } else {
                return nil
            }
            lines.append("dataset=\(StageCacheKey.canonical(d.symbol)) content=\(hash) recorded=\(recorded)")
        }
        return lines.joined(separator: "\n")
    }
}

// MARK: tables (merge, features, patterns, forecast)

/// A table stage's entry: `<stage>_<tf>.sftable` per timeframe, restored as
/// the experiment's checkpoint files (later stages read them from there).
enum CachedTables {
    static func name(_ stage: String, _ tf: Timeframe) -> String { "\(stage)_\(tf.rawValue).sftable" }

    static func write(_ stage: String, _ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        let plan = try context.plan
        for tf in plan.timeframes {
            let checkpoint = TableChain.checkpointURL(context, stage, tf)
            if FileManager.default.fileExists(atPath: checkpoint.path) {
                try entry.add(file: checkpoint, as: name(stage, tf))
            } else if let table = context.artifacts.get(TableChain.key(stage, tf), as: AlignedTable.self) {
                try TableCheckpoint.write(table, to: entry.url(name(stage, tf)))
                try entry.added(name(stage, tf))
            } else {
                return false
            }
        }
        return true
    }

    static func restore(_ stage: String, _ context: StageContext, from entry: StageCacheEntry) throws {
        for tf in try context.plan.timeframes {
            try entry.place(name(stage, tf), at: TableChain.checkpointURL(context, stage, tf))
        }
    }
}

extension MergeStage: CacheableStage {
    public func cacheKeyMaterial(_ context: StageContext) throws -> String? { try BuiltInStages.cacheMaterial(name, context) }
    public func writeCacheEntry(_ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        try CachedTables.write(name, context, to: entry)
    }
    public func restoreCacheEntry(_ context: StageContext, from entry: StageCacheEntry, needed: Bool) throws {
        try CachedTables.restore(name, context, from: entry)
    }
}

extension FeaturesStage: CacheableStage {
    public func cacheKeyMaterial(_ context: StageContext) throws -> String? { try BuiltInStages.cacheMaterial(name, context) }
    public func writeCacheEntry(_ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        try CachedTables.write(name, context, to: entry)
    }
    public func restoreCacheEntry(_ context: StageContext, from entry: StageCacheEntry, needed: Bool) throws {
        try CachedTables.restore(name, context, from: entry)
    }
}

extension PatternsStage: CacheableStage {
    public func cacheKeyMaterial(_ context: StageContext) throws -> String? { try BuiltInStages.cacheMaterial(name, context) }
    public func writeCacheEntry(_ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        try CachedTables.write(name, context, to: entry)
    }
    public func restoreCacheEntry(_ context: StageContext, from entry: StageCacheEntry, needed: Bool) throws {
        try CachedTables.restore(name, context, from: entry)
    }
}

/// `forecast`: its tables and `forecast_summary.json`. A run in which a
/// model was left out (a timeout depends on the machine's load) is not
/// stored, nor is one with models given in code (tests).
extension ForecastStage: CacheableStage {
    static let summaryFile = "forecast_summary.json"

    public func cacheKeyMaterial(_ context: StageContext) throws -> String? {
        guard models == nil else { return nil }
        return try BuiltInStages.cacheMaterial(name, context)
    }

    public func writeCacheEntry(_ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        guard let summaries = context.artifacts.get(Self.summaryKey, as: [ForecastSummary].self) else { return false }
        guard summaries.allSatisfy({ $0.failure == nil }) else {
            context.logger.notice("stage cache: not storing forecast: a model was left out (timeouts do not repeat)")
            return false
        }
        guard try CachedTables.write(name, context, to: entry) else { return false }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try entry.add(try encoder.encode(summaries), as: Self.summaryFile)
        return true
    }

    public func restoreCacheEntry(_ context: StageContext, from entry: StageCacheEntry, needed: Bool) throws {
        try CachedTables.restore(name, context, from: entry)
        try entry.place(Self.summaryFile, at: context.directory.appendingPathComponent("checkpoints/\(Self.summaryFile)"))
        let summaries = try JSONDecoder().decode([ForecastSummary].self, from: try entry.data(Self.summaryFile))
        context.artifacts.set(Self.summaryKey, summaries)
    }
}

// MARK: series (load, resample)

/// Series saved as tables (`open`, `high`, `low`, `close`, `volume`, then
/// the extra columns), described by a JSON list.
enum CachedSeries {
    struct Meta: Codable {
        var file: String
        var key: String
        var symbol: String
        var timeframe: String?
        var extras: [String]
    }

    static func write(_ series: [(key: String, series: OHLCVSeries)], to entry: StageCacheEntryWriter) throws {
        var metas: [Meta] = []
        for (i, item) in series.enumerated() {
            let s = item.series
            let file = "series_\(i).sftable"
            let table = AlignedTable(
                timestamps: s.timestamps,
                columns: [
                    NamedColumn(name: "open", values: s.open), NamedColumn(name: "high", values: s.high),
                    NamedColumn(name: "low", values: s.low), NamedColumn(name: "close", values: s.close),
                    NamedColumn(name: "volume", values: s.volume),
                ] + s.extras)
            try TableCheckpoint.write(table, to: entry.url(file))
            try entry.added(file)
            metas.append(Meta(file: file, key: item.key, symbol: s.symbol, timeframe: s.timeframe?.rawValue, extras: s.extras.map(\.name)))
        }
        try entry.add(try JSONEncoder().encode(metas), as: "series.json")
    }

    static func read(_ entry: StageCacheEntry) throws -> [(key: String, series: OHLCVSeries)] {
        let metas = try JSONDecoder().decode([Meta].self, from: try entry.data("series.json"))
        return try metas.map { m in
            guard let t = TableCheckpoint.read(entry.url(m.file)), t.columns.count == 5 + m.extras.count else {
                throw StageError("stage cache: \(m.file) does not read back")
            }
            let s = OHLCVSeries(
                symbol: m.symbol, timeframe: m.timeframe.flatMap(Timeframe.init(rawValue:)), timestamps: t.timestamps,
                open: t.columns[0].values, high: t.columns[1].values, low: t.columns[2].values, close: t.columns[3].values,
                volume: t.columns[4].values, extras: Array(t.columns[5...]))
            return (m.key, s)
        }
    }
}

/// `load`: an entry without values — only the key, so that the stages
/// after it chain to it. Storing the loaded 1m series (about 90 MB for the
/// demo data) cost more than parsing the CSV files again saves, and only a
/// run that recomputes `resample` would read them; such a run computes
/// `load` too (``StageCacheValuesNotKept``). Not stored when a dataset was
/// streamed from disk.
extension LoadStage: CacheableStage {
    static let markerFile = "load.json"

    public func cacheKeyMaterial(_ context: StageContext) throws -> String? {
        guard let base = try BuiltInStages.cacheMaterial(name, context), let datasets = try BuiltInStages.datasetMaterial(context)
        else { return nil }
        return base + "\n" + datasets
    }

    public func writeCacheEntry(_ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        let plan = try context.plan
        for symbol in plan.symbols where context.artifacts.get(ArtifactKey.series(symbol), as: OHLCVSeries.self) == nil {
            return false
        }
        try entry.add(Data(#"{"series":false}"#.utf8), as: Self.markerFile)
        return true
    }

    public func restoreReadsEntry(needed: Bool) -> Bool { false }

    public func restoreCacheEntry(_ context: StageContext, from entry: StageCacheEntry, needed: Bool) throws {
        if needed { throw StageCacheValuesNotKept() }
    }
}

/// `resample`: every series at every timeframe; restored into memory only
/// when `merge` will be computed.
extension ResampleStage: CacheableStage {
    public func cacheKeyMaterial(_ context: StageContext) throws -> String? { try BuiltInStages.cacheMaterial(name, context) }

    public func writeCacheEntry(_ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        let plan = try context.plan
        var series: [(key: String, series: OHLCVSeries)] = []
        for tf in plan.timeframes {
            for symbol in plan.symbols {
                let key = ArtifactKey.series(symbol, tf.rawValue)
                guard let s = context.artifacts.get(key, as: OHLCVSeries.self) else { return false }
                series.append((key, s))
            }
        }
        try CachedSeries.write(series, to: entry)
        return true
    }

    public func restoreReadsEntry(needed: Bool) -> Bool { needed }

    public func restoreCacheEntry(_ context: StageContext, from entry: StageCacheEntry, needed: Bool) throws {
        let plan = try context.plan
        // As after a computed resample: the loaded bars are not read any more.
        for symbol in plan.symbols { context.artifacts.remove(ArtifactKey.series(symbol)) }
        guard needed else { return }
        for (key, s) in try CachedSeries.read(entry) { context.artifacts.set(key, s) }
    }
}

// MARK: fusion

/// `fusion`: every candidate, as its checkpoint `candidates.sfsignals`
/// (``SignalCheckpoint``: binary, every double bit for bit), hard-linked into
/// the entry; restored as the same checkpoint (a hard link) and the new
/// experiment's `signals` rows.
///
/// The entry's key leaves out what only the acceptance pass reads —
/// `quality_threshold` (a candidate is accepted when its quality is at least
/// that) — and of `analysis` keeps only the costs of the outcome labels
/// (`spread`, `commission`, `costs`): runs differing in those share the
/// scored candidates, and a restore with another threshold sets each
/// `accepted` again (and writes the checkpoint afresh), which is exactly
/// what computing gives. The threshold is chained into the key of the stages
/// after fusion (``cacheOutputMaterial(_:)``): their outputs differ.
extension FusionStage: CacheableStage {
    static let cachedSignalsFile = "candidates.sfsignals"

    public func cacheKeyMaterial(_ context: StageContext) throws -> String? { try BuiltInStages.cacheMaterial(name, context) }

    public func cacheOutputMaterial(_ context: StageContext) throws -> String? {
        BuiltInStages.cacheOutputMaterial(name, plan: try context.plan)
    }

    public func writeCacheEntry(_ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        let checkpoint = SignalCheckpoint.url(context.directory)
        if FileManager.default.fileExists(atPath: checkpoint.path) {
            try entry.add(file: checkpoint, as: Self.cachedSignalsFile)
            return true
        }
        // The checkpoint could not be written: the candidates from memory.
        guard let records = context.artifacts.get(Self.signalsKey, as: [SignalRecord].self) else { return false }
        try entry.add(Data(SignalCheckpoint.encode(records)), as: Self.cachedSignalsFile)
        return true
    }

    public func restoreCacheEntry(_ context: StageContext, from entry: StageCacheEntry, needed: Bool) throws {
        guard var records = SignalCheckpoint.decode([UInt8](try entry.data(Self.cachedSignalsFile))) else {
            throw StageError("stage cache: \(Self.cachedSignalsFile) does not decode")
        }
        // The acceptance pass, with this experiment's threshold.
        let threshold = try context.plan.options(FusionConfig.self).qualityThreshold
        var changed = 0
        for i in records.indices where records[i].accepted != (records[i].quality >= threshold) {
            records[i].accepted.toggle()
            changed += 1
        }
        if changed > 0 {
            context.logger.info(
                "stage cache: the scored candidates restored, accepted again at this threshold",
                metadata: ["threshold": "\(threshold)", "changed": "\(changed)", "candidates": "\(records.count)"])
        }
        context.artifacts.set(Self.signalsKey, records)
        // As a computed run leaves them: every candidate in the checkpoint (for
        // a later run of export or analysis), the `fusion.store` selection in
        // the `signals` table.
        do {
            if changed > 0 {
                try context.writeCheckpoint(Self.candidatesFile, SignalCheckpoint.encode(records))
            } else {
                try entry.place(Self.cachedSignalsFile, at: SignalCheckpoint.url(context.directory))
            }
        } catch {
            context.logger.warning("cannot write checkpoint", metadata: ["file": "\(Self.candidatesFile)", "error": "\(error)"])
        }
        if let store = context.environment as? any ResultStore {
            let storage = try FusionStorage(request: context.request)
            try store.replaceSignals(storage == .all ? records : records.filter(\.accepted), experiment: context.experimentID)
        }
    }
}

// MARK: export, analysis (files recorded as artifacts)

/// The artifacts a stage recorded in this run, in order (``note(_:_:)``),
/// so that the stage cache can store and record them again.
enum RecordedArtifacts {
    struct Item: Codable {
        var name: String
        var format: String
        var rows: Int64?
    }

    static func key(_ stage: String) -> String { "stage_cache.recorded.\(stage)" }

    /// Notes an artifact the running stage recorded.
    static func note(_ info: ArtifactInfo, _ context: StageContext) {
        note(Item(name: info.name, format: info.format, rows: info.rows), context)
    }

    /// Notes an artifact the running stage recorded (or restored).
    static func note(_ item: Item, _ context: StageContext) {
        var list = context.artifacts.get(key(context.stage), as: [Item].self) ?? []
        list.removeAll { $0.name == item.name }
        list.append(item)
        context.artifacts.set(key(context.stage), list)
    }

    static let listFile = "artifacts.json"

    /// Adds the stage's recorded files (but those in `except`) and their list to `entry`.
    static func write(_ context: StageContext, to entry: StageCacheEntryWriter, except: Set<String> = []) throws -> [Item]? {
        guard let items = context.artifacts.get(key(context.stage), as: [Item].self) else { return nil }
        for item in items where !except.contains(item.name) {
            try entry.add(file: context.directory.appendingPathComponent(item.name), as: item.name)
        }
        try entry.add(try JSONEncoder().encode(items), as: listFile)
        return items
    }

    static func items(_ entry: StageCacheEntry) throws -> [Item] {
        try JSONDecoder().decode([Item].self, from: try entry.data(listFile))
    }

    /// Places a file of the entry in the experiment's folder and records it.
    static func restore(_ item: Item, _ context: StageContext, from entry: StageCacheEntry) throws {
        let url = context.directory.appendingPathComponent(item.name).standardizedFileURL.absoluteURL
        try entry.place(item.name, at: url)
        try record(item, at: url, context)
    }

    static func record(_ item: Item, at url: URL, _ context: StageContext) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
        try context.environment?.recordArtifact(
            ArtifactInfo(name: item.name, format: item.format, path: url.path, sizeBytes: size, rows: item.rows),
            experiment: context.experimentID)
    }
}

/// `export`: every file it wrote. Its feature files (`features_<tf>.<format>`)
/// are also a part of their own (``cacheParts(_:)``), keyed by the export
/// options and the key of the stage whose tables they hold — not by fusion's:
/// a run differing only in fusion or analysis options restores them and
/// writes only the signals files.
extension ExportStage: CacheableStage {
    public func cacheKeyMaterial(_ context: StageContext) throws -> String? { try BuiltInStages.cacheMaterial(name, context) }

    public func writeCacheEntry(_ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        try RecordedArtifacts.write(context, to: entry) != nil
    }

    static let featuresPart = "features"
    /// The artifact listing the feature files restored from the cache (the stage does not write them).
    static let restoredKey = "stage_cache.restored.export"

    static func isFeatureFile(_ name: String) -> Bool { name.hasPrefix("features_") }

    public func cacheParts(_ context: StageContext) throws -> [StageCachePart] {
        let plan = try context.plan
        guard let material = BuiltInStages.cacheMaterial(name, plan: plan) else { return [] }
        return [StageCachePart(name: Self.featuresPart, material: material, after: TableChain.producer(before: name, plan))]
    }

    public func writeCachePart(_ part: String, _ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        guard part == Self.featuresPart, let items = context.artifacts.get(RecordedArtifacts.key(name), as: [RecordedArtifacts.Item].self)
        else { return false }
        let features = items.filter { Self.isFeatureFile($0.name) }
        guard !features.isEmpty else { return false }
        for item in features { try entry.add(file: context.directory.appendingPathComponent(item.name), as: item.name) }
        try entry.add(try JSONEncoder().encode(features), as: RecordedArtifacts.listFile)
        return true
    }

    public func restoreCachePart(_ part: String, _ context: StageContext, from entry: StageCacheEntry) throws {
        guard part == Self.featuresPart else { return }
        var restored: [String] = []
        for item in try RecordedArtifacts.items(entry) where Self.isFeatureFile(item.name) {
            try RecordedArtifacts.restore(item, context, from: entry)
            RecordedArtifacts.note(item, context)
            restored.append(item.name)
        }
        context.artifacts.set(Self.restoredKey, restored)
    }

    /// The feature files restored from the cache for this run (``restoreCachePart(_:_:from:)``).
    static func restoredFiles(_ context: StageContext) -> Set<String> {
        Set(context.artifacts.get(restoredKey, as: [String].self) ?? [])
    }

    public func restoreCacheEntry(_ context: StageContext, from entry: StageCacheEntry, needed: Bool) throws {
        for item in try RecordedArtifacts.items(entry) { try RecordedArtifacts.restore(item, context, from: entry) }
    }
}

/// `analysis`: the trade and equity files, and `report.json` with the
/// experiment's id left out (put back for the experiment restoring it).
extension AnalysisStage: CacheableStage {
    static let reportFile = "report.json"
    static let idPlaceholder = "@EXPERIMENT_ID@"

    static func idField(_ id: String) -> String { "\"experiment_id\":\"\(id)\"" }

    public func cacheKeyMaterial(_ context: StageContext) throws -> String? { try BuiltInStages.cacheMaterial(name, context) }

    public func writeCacheEntry(_ context: StageContext, to entry: StageCacheEntryWriter) throws -> Bool {
        let report = try String(contentsOf: context.directory.appendingPathComponent(Self.reportFile), encoding: .utf8)
        let field = Self.idField(context.experimentID.uuidString.lowercased())
        guard report.hasPrefix("{" + field) else { return false }
        let template = "{" + Self.idField(Self.idPlaceholder) + report.dropFirst(1 + field.count)
        guard try RecordedArtifacts.write(context, to: entry, except: [Self.reportFile]) != nil else { return false }
        try entry.add(Data(template.utf8), as: "report.template.json")
        return true
    }

    public func restoreCacheEntry(_ context: StageContext, from entry: StageCacheEntry, needed: Bool) throws {
        let template = String(decoding: try entry.data("report.template.json"), as: UTF8.self)
        let field = Self.idField(Self.idPlaceholder)
        guard template.hasPrefix("{" + field) else { throw StageError("stage cache: the report template has no experiment id") }
        let json = "{" + Self.idField(context.experimentID.uuidString.lowercased()) + template.dropFirst(1 + field.count)
        for item in try RecordedArtifacts.items(entry) {
            if item.name == Self.reportFile {
                let url = context.directory.appendingPathComponent(item.name).standardizedFileURL.absoluteURL
                try Data(json.utf8).write(to: url, options: .atomic)
                try RecordedArtifacts.record(item, at: url, context)
            } else {
                try RecordedArtifacts.restore(item, context, from: entry)
            }
        }
        if let store = context.environment as? any ResultStore {
            try store.recordReport(json, experiment: context.experimentID)
        }
    }
}
