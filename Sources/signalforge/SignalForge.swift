import ArgumentParser
import Foundation
import Logging
import Pipeline
import PostgresClient
import Service
import SignalForgeClient
import Stages
import Store

@main
struct SignalForge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signalforge",
        abstract: "Run market-data experiments and serve the trading signals they produce.",
        discussion: """
            Settings come from flags, then environment variables, then an optional YAML config file \
            (--config or SIGNALFORGE_CONFIG), then defaults.
            """,
        subcommands: [
            Serve.self, Migrate.self, Token.self, SampleData.self, Experiments.self, Sweeps.self, SystemStatus.self, GarbageCollect.self,
        ]
    )
}

/// The settings every server-side command takes.
struct SettingsOptions: ParsableArguments {
    static func help(_ name: String) -> ArgumentHelp {
        let k = Settings.keys.first { $0.name == name }!
        return ArgumentHelp("\(k.help) (env \(k.env); default \(k.defaultText))")
    }

    @Option(name: .long, help: "YAML file of setting names and values (env SIGNALFORGE_CONFIG)")
    var config: String?
    @Option(name: .long, help: help("address")) var address: String?
    @Option(name: .long, help: help("port")) var port: String?
    @Option(name: .long, help: help("database_url")) var databaseUrl: String?
    @Option(name: .long, help: help("data_dir")) var dataDir: String?
    @Option(name: .long, help: help("tokens_file")) var tokensFile: String?
    @Option(name: .long, help: help("tokens_poll_ms")) var tokensPollMs: String?
    @Option(name: .long, help: help("memory_budget_mb")) var memoryBudgetMb: String?
    @Option(name: .long, help: help("metrics_interval_ms")) var metricsIntervalMs: String?
    @Option(name: .long, help: help("max_running")) var maxRunning: String?
    @Option(name: .long, help: help("http_threads")) var httpThreads: String?
    @Option(name: .long, help: help("max_body_bytes")) var maxBodyBytes: String?
    @Option(name: .long, help: help("max_upload_bytes")) var maxUploadBytes: String?
    @Option(name: .long, help: help("max_line_bytes")) var maxLineBytes: String?
    @Option(name: .long, help: help("connection_limit")) var connectionLimit: String?
    @Option(name: .long, help: help("per_ip_connection_limit")) var perIpConnectionLimit: String?
    @Option(name: .long, help: help("idle_timeout_s")) var idleTimeoutS: String?
    @Option(name: .long, help: help("pool_min")) var poolMin: String?
    @Option(name: .long, help: help("pool_max")) var poolMax: String?
    @Option(name: .long, help: help("pool_timeout_ms")) var poolTimeoutMs: String?
    @Option(name: .long, help: help("log_level")) var logLevel: String?
    @Option(name: .long, help: help("log_buffer_lines")) var logBufferLines: String?
    @Option(name: .long, help: help("access_log")) var accessLog: String?
    @Option(name: .long, help: help("webhook_url")) var webhookUrl: String?
    @Option(name: .long, help: help("webhook_events")) var webhookEvents: String?
    // No --webhook-secret: a flag shows in `ps`; the secret comes from the environment or the config file.
    @Option(name: .long, help: help("stuck_after_s")) var stuckAfterS: String?
    @Option(name: .long, help: help("outage_wait_s")) var outageWaitS: String?
    @Option(name: .long, help: help("notify_backoff_base_ms")) var notifyBackoffBaseMs: String?
    @Option(name: .long, help: help("notify_give_up_s")) var notifyGiveUpS: String?
    @Option(name: .long, help: help("notify_timeout_ms")) var notifyTimeoutMs: String?
    @Option(name: .long, help: help("notify_workers")) var notifyWorkers: String?
    @Option(name: .long, help: help("cache_max_gb")) var cacheMaxGb: String?
    @Option(name: .long, help: help("cache")) var cache: String?
    @Option(name: .long, help: help("read_cache")) var readCache: String?
    @Option(name: .long, help: help("retention_days")) var retentionDays: String?
    @Option(name: .long, help: help("retention_max_gb")) var retentionMaxGb: String?
    @Option(name: .long, help: help("retention_poll_s")) var retentionPollS: String?

    func resolve() throws -> Settings {
        let given: [(String, String?)] = [
            ("address", address), ("port", port), ("database_url", databaseUrl), ("data_dir", dataDir),
            ("tokens_file", tokensFile), ("tokens_poll_ms", tokensPollMs), ("memory_budget_mb", memoryBudgetMb),
            ("metrics_interval_ms", metricsIntervalMs), ("max_running", maxRunning),
            ("http_threads", httpThreads), ("max_body_bytes", maxBodyBytes), ("max_upload_bytes", maxUploadBytes),
            ("max_line_bytes", maxLineBytes),
            ("connection_limit", connectionLimit), ("per_ip_connection_limit", perIpConnectionLimit),
            ("idle_timeout_s", idleTimeoutS), ("pool_min", poolMin), ("pool_max", poolMax),
            ("pool_timeout_ms", poolTimeoutMs), ("log_level", logLevel), ("log_buffer_lines", logBufferLines), ("access_log", accessLog),
            ("webhook_url", webhookUrl), ("webhook_events", webhookEvents), ("stuck_after_s", stuckAfterS), ("outage_wait_s", outageWaitS),
            ("notify_backoff_base_ms", notifyBackoffBaseMs), ("notify_give_up_s", notifyGiveUpS),
            ("notify_timeout_ms", notifyTimeoutMs), ("notify_workers", notifyWorkers),
            ("cache_max_gb", cacheMaxGb), ("cache", cache), ("read_cache", readCache),
            ("retention_days", retentionDays), ("retention_max_gb", retentionMaxGb), ("retention_poll_s", retentionPollS),
        ]
        var flags: [String: String] = [:]
        for (k, v) in given { if let v { flags[k] = v } }
        let env = ProcessInfo.processInfo.environment
        do {
            return try Settings.resolve(flags: flags, environment: env, configFile: config ?? env["SIGNALFORGE_CONFIG"])
        } catch {
            throw ValidationError(error.message)
        }
    }

    func makeLogger(_ settings: Settings) -> Logger {
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in LogfmtHandler(label: label, logLevel: level) }
        var logger = Logger(label: "signalforge")
        logger.logLevel = level
        return logger
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Migrate the database, then serve the HTTP API until SIGINT or SIGTERM.")

    @OptionGroup var options: SettingsOptions

    func run() throws {
        let settings = try options.resolve()
        let logger = options.makeLogger(settings)
        // Block the stop signals in every thread; this one waits for them.
        // (Reset first: a shell starts background jobs with SIGINT ignored,
        // and an ignored signal never reaches sigwait.)
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGHUP] { sigaddset(&signals, s) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)

        let app: Application
        do {
            app = try Application(settings: settings, logger: logger, stages: StageRegistry(SignalForgeStages.all))
            try app.start()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            LogOutput.shared.flush()
            throw ExitCode(1)
        }
        var received: Int32 = 0
        while true {
            sigwait(&signals, &received)
            if received == SIGUSR1 {
                logger.notice("SIGUSR1: pausing every running experiment", metadata: ["count": "\(app.engine.pauseAll())"])
            } else if received == SIGUSR2 {
                logger.notice("SIGUSR2: resuming every paused experiment", metadata: ["count": "\(app.engine.resumeAll())"])
            } else if received == SIGHUP {
                // Reloads the tokens file; a bad file keeps the tokens in force (logged).
                app.reloadTokens(trigger: "SIGHUP")
            } else {
                break
            }
        }
        // SIGTERM/SIGINT drain: stop claiming, stop runners at a checkpoint,
        // mark running experiments interrupted (paused ones stay paused), exit 0.
        logger.info("stopping", metadata: ["signal": "\(received == SIGINT ? "SIGINT" : "SIGTERM")"])
        app.stop()
        LogOutput.shared.flush()
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the embedded schema migrations, then exit.")

    @OptionGroup var options: SettingsOptions

    func run() throws {
        let settings = try options.resolve()
        let logger = options.makeLogger(settings)
        guard let url = settings.databaseURL else { throw ValidationError("no database: set DATABASE_URL or --database-url") }
        let config = try PostgresConfiguration(url: url)
        let conn = try PostgresConnection.connect(config, logger: logger)
        defer { conn.close() }
        let applied = try Migrator.migrate(conn, logger: logger)
        LogOutput.shared.flush()
        print(applied.isEmpty ? "schema is up to date" : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
    }
}

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage bearer tokens.", subcommands: [New.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a fresh token once and append its hashed line to the tokens file.")

        @Option(help: "A name for the token (letters, digits, '-', '_', '.')") var name: String
        @Option(help: "read, operate or admin (admin implies operate implies read)") var scope: String = "read"
        @Option(help: "The tokens file (env SIGNALFORGE_TOKENS_FILE; default .data/tokens)") var file: String?

        func validate() throws {
            guard Scope(rawValue: scope) != nil else { throw ValidationError("--scope must be read, operate or admin") }
        }

        func run() throws {
            let path = file ?? ProcessInfo.processInfo.environment["SIGNALFORGE_TOKENS_FILE"] ?? ".data/tokens"
            let fm = FileManager.default
            if fm.fileExists(atPath: path) {
                let existing = try TokenStore.load(path: path)
                if existing.entries.contains(where: { $0.name == name }) {
                    throw ValidationError("\(path) already has a token named '\(name)'")
                }
            } else {
                try fm.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true)
                _ = fm.createFile(
                    atPath: path, contents: Data("# signalforge tokens: NAME SCOPE SHA256HEX\n".utf8),
                    attributes: [.posixPermissions: 0o600])
            }
            let (token, line) = try TokenStore.generate(name: name, scope: Scope(rawValue: scope)!)
            guard let handle = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write \(path)") }
            handle.seekToEndOfFile()
            handle.write(Data((line + "\n").utf8))
            handle.closeFile()
            print(token)
        }
    }
}
