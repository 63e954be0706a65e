import Foundation

/// What `watch` shows at one moment: the experiment, its progress tree and its latest log line.
struct WatchSnapshot: Sendable {
    var id: String
    var name: String
    var status: String
    var percent: Double
    var stage: String?
    var error: String?
    var startedAt: String?
    var finishedAt: String?
    var tree: ProgressNode?
    var log: JSONValue?

    init(experiment e: JSONValue, tree: ProgressNode?, log: JSONValue?) {
        id = e["id"]?.string ?? ""
        name = e["name"]?.string ?? ""
        status = e["status"]?.string ?? "?"
        percent = e["percent"]?.double ?? 0
        stage = e["stage"]?.string
        error = e["error"]?.string
        startedAt = e["started_at"]?.string
        finishedAt = e["finished_at"]?.string
        // Stages in the order the experiment runs them (a stored tree comes sorted by path).
        var tree = tree
        if let order = e["request"]?["stages"]?.array?.compactMap(\.string), tree != nil {
            tree!.children.sort { (order.firstIndex(of: $0.name) ?? .max) < (order.firstIndex(of: $1.name) ?? .max) }
        }
        self.tree = tree
        self.log = log
    }

    /// The stage being worked on: the tree's active stage, else the experiment's `stage`.
    var activeStage: ProgressNode? {
        tree?.children.first(where: \.isActive) ?? tree?.children.first { $0.name == stage }
    }

    /// The overall percent: the tree's root while it has one, else the experiment's.
    var overallPercent: Double {
        if status == "succeeded" { return 100 }
        return tree.map { max($0.percent, percent) } ?? percent
    }
}
