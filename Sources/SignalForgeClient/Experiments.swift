public import ArgumentParser

/// `signalforge experiments …`: the HTTP client of a SignalForge server.
///
/// Every subcommand takes `--server URL` (env `SIGNALFORGE_URL`, default
/// `http://127.0.0.1:8080`), `--token` (env `SIGNALFORGE_TOKEN`, sent as a
/// bearer token) and `--output table|json|csv`. The commands are synchronous
/// (`ParsableCommand`): HTTP runs on URLSession's own threads while the command
/// waits.
///
/// Exit statuses: 0 done; for `watch` and `start --wait` the experiment's
/// outcome: 0 succeeded, 1 failed, 2 cancelled, 3 interrupted; 4 the server
/// answered with a problem (its `detail` and status go to stderr); 5 the
/// server could not be reached or answered nonsense, or a local file failed;
/// 64 bad usage.
public struct Experiments: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "experiments",
        abstract: "Start, control and follow experiments on a SignalForge server.",
        discussion: """
            Every command takes --server URL (env SIGNALFORGE_URL; default http://127.0.0.1:8080), \
            --token TOKEN (env SIGNALFORGE_TOKEN) and --output table|json|csv. json and csv are stable \
            for scripts: json prints the server's objects as sent (a list as one array; logs and watch as \
            NDJSON), csv a header row and the columns listed in each command's help.

            Exit status: 0 done; watch and start --wait exit with the outcome: 0 succeeded, 1 failed, \
            2 cancelled, 3 interrupted; 4 the server answered with an error (its detail goes to stderr); \
            5 the server could not be reached, or a local file failed; 64 bad usage.
            """,
        subcommands: [
            Start.self, List.self, Status.self, History.self, Pause.self, Resume.self, Cancel.self, Retry.self,
            Watch.self, Logs.self, Events.self, Resources.self, Signals.self, Report.self, Artifacts.self, Compare.self,
            Delete.self, Pin.self, Unpin.self,
        ]
    )

    public init() {}
}
