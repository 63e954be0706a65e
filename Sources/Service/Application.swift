import Foundation
public import Logging
public import MicroHTTP
public import Pipeline
public import PostgresClient
import Store
import Synchronization

public struct StartupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The assembled service: settings, database pool, routes and HTTP server.
public final class Application: Sendable {
    public let settings: Settings
    public let pool: PostgresPool
    public let server: HTTPServer
    public let metrics: ServiceMetrics
    public let engine: Engine
    /// Experiment log lines, from the runners to the writer.
    public let logBus = EventBus<LogLine>()
    let logWriter: LogWriter
    let followHub: LogFollowHub
    let reader: ExperimentReadBatcher
    let rowCache: ExperimentRowCache?
    let sampler: EngineSampler
    let notifier: NotificationDispatcher
    let stuckDetector: StuckDetector
    let retention: RetentionJob
    let deletion: ExperimentDeletion
    /// The memory budget watcher (stages see its pressure).
    public let memory: MemoryMonitor
    /// The bearer tokens in force (reloaded on SIGHUP and when the file changes).
    public let tokenRegistry: TokenRegistry
    /// The tokens in force now; `nil` without a tokens file.
    public var tokens: TokenStore? { tokenRegistry.current }
    private let stopped = Atomic<Bool>(false)
    /// Every route the server answers (for the contract test and docs).
    public let routes: [Route]
    let logger: Logger

    /// Builds the service; `start()` migrates and listens.
    /// - Throws: `StartupError` for unsafe or invalid settings (no tokens beyond
    ///   loopback, unreadable tokens file, bad database URL).
    /// - Parameter stages: the stages this build runs (the product registers
    ///   its real stages; tests register their own).
    ///   - configureEngine: last adjustments of the engine's configuration (tests shorten leases).
    public init(
        settings: Settings, logger: Logger, stages: StageRegistry = StageRegistry(),
        configureEngine: (inout Engine.Configuration) -> Void = { _ in }
    ) throws {
        self.settings = settings
        self.logger = logger
        guard let url = settings.databaseURL else {
            throw StartupError("no database: set DATABASE_URL or --database-url (deploy/run.sh starts a private PostgreSQL)")
        }
        let tokenRegistry: TokenRegistry
        do {
            tokenRegistry = try TokenRegistry(
                path: settings.tokensFile, requireTokens: !settings.isLoopback,
                pollInterval: .milliseconds(settings.tokensPollMs), logger: logger)
        } catch { throw StartupError("\(error)") }
        if tokenRegistry.current?.entries.isEmpty ?? true, !settings.isLoopback {
            throw StartupError(
                "refusing to listen on \(settings.address) without tokens: anyone could reach the API. "
                    + "Create one with `signalforge token new --name NAME --scope admin` and pass --tokens-file, or bind to 127.0.0.1")
        }
        self.tokenRegistry = tokenRegistry
        let authenticator = Authenticator(registry: tokenRegistry)
        let config: PostgresConfiguration
        do { config = try PostgresConfiguration(url: url) } catch { throw StartupError("database URL: \(error)") }
        pool = PostgresPool(
            configuration: config, minConnections: settings.poolMin, maxConnections: settings.poolMax,
            checkoutTimeout: .milliseconds(settings.poolTimeoutMs), logger: logger)
        metrics = ServiceMetrics()
        let logBus = self.logBus
        let logWriter = LogWriter(
            pool: pool, bus: logBus, logger: logger, maxBuffered: settings.logBufferLines,
            spillDirectory: URL(fileURLWithPath: settings.dataDir).appendingPathComponent("spill"))
        self.logWriter = logWriter
        followHub = LogFollowHub(pool: pool, configuration: config, logger: logger)
        MemoryMonitor.limitMallocArenas()
        let memory = MemoryMonitor(
            budgetBytes: settings.memoryBudgetMB.map { Int64($0) << 20 } ?? MemoryMonitor.defaultBudget())
        self.memory = memory
        let samplerBox = Mutex<EngineSampler?>(nil)
        var engineConfig = Engine.Configuration()
        engineConfig.memory = memory
        let stageEnvironment = ServiceStageEnvironment(
            dataRoot: URL(fileURLWithPath: settings.dataDir).standardizedFileURL.absoluteURL, pool: pool)
        engineConfig.environment = stageEnvironment
        let admission = MemoryAdmission(pool: pool, memory: memory, environment: stageEnvironment, logger: logger)
        engineConfig.admit = { admission.admit(running: $0) }
        let metrics = self.metrics
        engineConfig.afterFinish = { id, tree in
            let sampler = samplerBox.withLock { $0 }
            sampler?.writeProgress(id, tree)
            sampler?.finalSample(id, tree)
            admission.forget(id)
            let outcome = tree.snapshot().status
            metrics.recordOutcome(outcome == .completed ? "succeeded" : outcome == .failed ? "failed" : "stopped")
        }
        engineConfig.beforePaused = { id, tree in samplerBox.withLock { $0 }?.writeProgress(id, tree) }
        engineConfig.maxRunning = settings.maxRunning
        engineConfig.outageWaitSeconds = Double(settings.outageWaitSeconds)
        engineConfig.dataDirectory = URL(fileURLWithPath: settings.dataDir)
        engineConfig.beforeFinish = { logWriter.waitUntilWritten(logBus.publishedCount, timeout: .seconds(120)) }
        if settings.cacheEnabled, settings.cacheMaxGB > 0 {
            engineConfig.stageCache = StageCache(
                directory: URL(fileURLWithPath: settings.dataDir).appendingPathComponent("cache"),
                maxBytes: Int64(settings.cacheMaxGB * Double(1 << 30)))
        }
        configureEngine(&engineConfig)
        engine = Engine(
            configuration: engineConfig, repository: PostgresExperimentRepository(pool: pool), registry: stages, logger: logger,
            makeLogger: { id, stage, fence in
                var l = Logger(label: "experiment") { _ in
                    ExperimentLogHandler(experimentID: id, stage: stage, generation: fence?.generation, bus: logBus, server: logger)
                }
                l.logLevel = .info
                return l
            })
        let sampler = EngineSampler(
            pool: pool, engine: engine, memory: memory, logger: logger, metricsInterval: .milliseconds(settings.metricsIntervalMs))
        self.sampler = sampler
        let system = SystemStatus(pool: pool, engine: engine, sampler: sampler, logWriter: logWriter, dataDir: settings.dataDir)
        samplerBox.withLock { $0 = sampler }

        var notifyConfig = NotificationDispatcher.Configuration()
        notifyConfig.workers = settings.notifyWorkers
        notifyConfig.backoffBase = Double(settings.notifyBackoffBaseMs) / 1000
        notifyConfig.giveUp = Double(settings.notifyGiveUpSeconds)
        notifyConfig.timeout = Double(settings.notifyTimeoutMs) / 1000
        notifyConfig.owner = engine.configuration.owner
        let notifier = NotificationDispatcher(configuration: notifyConfig, pool: pool, logger: logger)
        self.notifier = notifier
        let stuckDetector = StuckDetector(
            engine: engine, store: notifier.store, threshold: settings.stuckAfterSeconds, logger: logger)
        self.stuckDetector = stuckDetector

        let history = HistoryCounters()
        let dataDirectory = URL(fileURLWithPath: settings.dataDir)
        let deletion = ExperimentDeletion(pool: pool, dataDirectory: dataDirectory)
        self.deletion = deletion
        retention = RetentionJob(
            pool: pool, dataDirectory: dataDirectory, policy: settings.retentionPolicy, period: .seconds(settings.retentionPollSeconds),
            counters: history, logger: logger)

        var router = Router()
        let store = ExperimentStore(pool: pool)
        let rowCache = settings.readCache ? ExperimentRowCache(configuration: config, logger: logger) : nil
        self.rowCache = rowCache
        let reader = ExperimentReadBatcher(store: store, cache: rowCache, logger: logger)
        self.reader = reader
        let engine = self.engine
        let followHub = self.followHub
        let edgeStatistics = EdgeStatistics()
        HealthRoutes(
            pool: pool, metrics: metrics,
            extra: {
                func counter(_ name: String, _ help: String, _ v: Int, type: String = "counter") -> String {
                    "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(v)\n"
                }
                return counter(
                    "signalforge_experiments_running", "Experiments running on this instance", engine.runningIDs.count, type: "gauge")
                    + counter("signalforge_log_lines_published_total", "Experiment log lines emitted", logBus.publishedCount)
                    + counter("signalforge_log_lines_written_total", "Experiment log lines stored in PostgreSQL", logWriter.writtenCount)
                    + counter(
                        "signalforge_log_lines_pending", "Experiment log lines waiting to be stored", logWriter.pendingCount, type: "gauge")
                    + counter(
                        "signalforge_log_lines_spilled_total", "Log lines that waited on disk during a PostgreSQL outage",
                        logWriter.spilledCount)
                    + counter("signalforge_event_bus_dropped_total", "Events dropped by slow bounded subscribers", logBus.droppedCount)
                    + counter("signalforge_log_followers", "Live log streams open", followHub.followerCount, type: "gauge")
                    + counter(
                        "signalforge_sampler_rows_pending", "Metric samples and events waiting for PostgreSQL", sampler.pendingCount,
                        type: "gauge")
                    + counter(
                        "signalforge_sampler_samples_dropped_total", "Metric samples dropped after a very long outage",
                        sampler.droppedSamples.load(ordering: .relaxed))
                    + counter(
                        "signalforge_experiment_read_queries_total", "Batched experiment reads sent to PostgreSQL",
                        reader.statistics.batches)
                    + counter("signalforge_experiment_reads_total", "Experiment reads answered by the batcher", reader.statistics.served)
                    + counter(
                        "signalforge_experiment_read_cache_hits_total", "Experiment reads answered from the row cache",
                        rowCache?.statistics.hits ?? 0)
                    + counter(
                        "signalforge_experiment_read_cache_invalidations_total",
                        "Changed experiment rows reported to the row cache (notifications and local writes)",
                        rowCache?.statistics.invalidations ?? 0)
                    + stuckDetector.metricsText + notifier.metricsText
                    + metrics.renderOutcomes() + system.prometheus()
                    + edgeStatistics.prometheusText + history.prometheusText
                    + (engine.configuration.stageCache?.prometheusText ?? "")
            }
        ).register(&router)
        SystemRoutes(status: system).register(&router)
        let experimentRoutes = ExperimentRoutes(
            store: store, engine: engine, reader: reader, authenticator: authenticator, webhooks: settings.webhooks)
        experimentRoutes.register(&router)
        SweepRoutes(
            sweeps: SweepStore(pool: pool), engine: engine, authenticator: authenticator, experiments: experimentRoutes,
            deletion: SweepDeletion(pool: pool, experiments: deletion), stopper: ExperimentStopper(engine: engine, store: store),
            counters: history
        ).register(&router)
        CompareRoutes(store: store, signals: SignalStore(pool: pool), artifacts: ArtifactStore(pool: pool)).register(&router)
        NotificationRoutes(store: store, notifications: notifier.store).register(&router)
        ControlRoutes(engine: engine, store: store, pool: pool, authenticator: authenticator).register(&router)
        HistoryRoutes(engine: engine, store: store, deletion: deletion, authenticator: authenticator, counters: history).register(&router)
        LogRoutes(store: store, hub: followHub).register(&router)
        DatasetRoutes(
            pool: pool, dataDir: settings.dataDir, maxUploadBytes: settings.maxUploadBytes, maxLineBytes: settings.maxLineBytes,
            logger: logger
        )
        .register(&router)
        ArtifactRoutes(pool: pool, dataDir: settings.dataDir).register(&router)
        SignalRoutes(store: store, signals: SignalStore(pool: pool)).register(&router)
        WhoAmIRoutes(authenticator: authenticator).register(&router)
        BarsRoutes(store: store, dataDirectory: engine.configuration.dataDirectory).register(&router)
        UIRoutes().register(&router)

        var http = ServerConfiguration()
        http.address = settings.address == "localhost" ? "127.0.0.1" : settings.address
        http.port = settings.port
        http.threads = settings.httpThreads
        http.connectionLimit = settings.connectionLimit
        http.perIPConnectionLimit = settings.perIPConnectionLimit
        http.idleTimeoutSeconds = settings.idleTimeoutSeconds
        http.headerDeadlineSeconds = settings.headerDeadlineSeconds
        http.minBodyRateBytesPerSecond = settings.minBodyRateBytesPerSecond
        http.maxBodySize = settings.maxBodyBytes
        http.accessLog = settings.accessLog
        let table = router.freeze()
        routes = table.routes
        server = HTTPServer(
            configuration: http, routes: table, logger: logger,
            preflight: { request, route in authenticator.check(request, route) },
            observer: { metrics.record($0) }, statistics: edgeStatistics)
    }

    /// Applies migrations (retrying while PostgreSQL starts, up to `waitForDatabase`), then listens.
    public func start(waitForDatabase: Duration = .seconds(30)) throws {
        let deadline = ContinuousClock.now + waitForDatabase
        while true {
            do {
                try Migrator.migrate(pool, logger: logger)
                break
            } catch let e as PostgresError
                where ContinuousClock.now < deadline
                && [.connectionFailed, .poolExhausted, .connectionClosed].contains(e.code)
            {
                logger.warning("database not reachable yet; retrying", metadata: ["error": "\(e)"])
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        // Deletions a crash cut short are finished before anything else runs.
        do {
            let finished = try deletion.finishPending()
            if !finished.isEmpty { logger.notice("finished deletions a crash cut short", metadata: ["count": "\(finished.count)"]) }
        } catch {
            logger.warning("could not finish pending deletions; the retention job retries", metadata: ["error": "\(error)"])
        }
        logWriter.start()
        followHub.start()
        sampler.start()
        rowCache?.start()
        reader.start()
        notifier.start()
        stuckDetector.start()
        retention.start()
        try server.start()
        tokenRegistry.startWatching()
        if engine.registry.isEmpty {
            logger.warning("this build registers no stages: experiments stay queued until an instance that has them claims them")
        }
        engine.start()
    }

    /// Drains the engine (running experiments become interrupted; paused
    /// ones stay paused), stops the HTTP server (ending streams), closes the pool.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        tokenRegistry.stopWatching()
        engine.drain()
        retention.stop()
        stuckDetector.stop()
        notifier.stop()
        sampler.stop()
        logWriter.stop()
        followHub.stop()
        server.stop()
        reader.stop()
        rowCache?.stop()
        pool.close()
    }

    public var port: Int { server.port }

    /// Reads the tokens file again (the `serve` command calls this on SIGHUP);
    /// an invalid file leaves the tokens in force as they are.
    /// - Returns: whether the file's contents are now in force.
    @discardableResult
    public func reloadTokens(trigger: String = "SIGHUP") -> Bool { tokenRegistry.reload(trigger: trigger) }
}
