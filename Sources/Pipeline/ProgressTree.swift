import Dispatch
import Synchronization

/// An experiment's progress: pipeline → stage → step → substep, each with
/// units done of total, a percent aggregated up the tree, a rate and an ETA.
///
/// Aggregation: stages count the work their children report, so a node with
/// children shows the sum of its children's units done (and of their totals,
/// when every child has one) unless it was given a total of its own; its
/// percent is its units done over that own total when it has one (a step
/// whose substeps appear as work goes on, e.g. chunks of a file of estimated
/// size), else the weighted mean of its children's percents. The pipeline
/// counts stages: units done are its completed or skipped stages, the total
/// is the number of stages. Rate is units done per second since the node
/// started; ETA is elapsed × (100 − percent) / percent while it runs.
///
/// The runner's thread updates it; HTTP threads read snapshots; a writer reads
/// `version` to persist only when something changed. Thread-safe.
public final class ProgressTree: Sendable {
    public enum Kind: String, Sendable, Codable { case pipeline, stage, step, substep }
    public enum Status: String, Sendable, Codable { case pending, running, paused, completed, skipped, cached, failed }

    /// A node as clients see it. `path` is `pipeline/stage/step/substep`.
    public struct Snapshot: Sendable, Equatable {
        public var path: String
        public var kind: Kind
        public var name: String
        public var status: Status
        public var unitsDone: Int64
        public var unitsTotal: Int64?
        public var percent: Double
        /// Units per second since the node started (nil before any progress).
        public var rate: Double?
        public var etaSeconds: Double?
        public var children: [Snapshot]
        /// Seconds since the node started (to its end when it ended); nil before it starts.
        public var elapsedSeconds: Double?

        public init(
            path: String, kind: Kind, name: String, status: Status, unitsDone: Int64, unitsTotal: Int64?, percent: Double,
            rate: Double?, etaSeconds: Double?, children: [Snapshot], elapsedSeconds: Double? = nil
        ) {
            self.elapsedSeconds = elapsedSeconds
            self.path = path
            self.kind = kind
            self.name = name
            self.status = status
            self.unitsDone = unitsDone
            self.unitsTotal = unitsTotal
            self.percent = percent
            self.rate = rate
            self.etaSeconds = etaSeconds
            self.children = children
        }
    }

    private struct Node {
        var kind: Kind
        var name: String
        var parent: Int?
        var children: [Int] = []
        var weight: Double = 1
        var status: Status = .pending
        var done: Int64 = 0
        var total: Int64?
        var startedAt: Double?
        var finishedAt: Double?
    }

    private struct State {
        var nodes: [Node] = []
        var index: [String: Int] = [:]
        var version = 0
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Double

    /// A tree with a root named `pipeline` and one pending node per stage.
    /// - Parameter clock: seconds on a monotonic clock (injectable for tests).
    public init(stages: [String], clock: @escaping @Sendable () -> Double = ProgressTree.monotonicSeconds) {
        self.clock = clock
        state.withLock { s in
            s.nodes.append(Node(kind: .pipeline, name: "pipeline", parent: nil))
            s.index["pipeline"] = 0
            for name in stages {
                s.nodes.append(Node(kind: .stage, name: name, parent: 0))
                s.nodes[0].children.append(s.nodes.count - 1)
                s.index["pipeline/\(name)"] = s.nodes.count - 1
            }
        }
    }

    /// Adds (or returns) a child node under `parent`.
    /// - Parameters:
    ///   - weight: its share of the parent's percent relative to its siblings (default 1).
    /// - Returns: the child's path.
    @discardableResult
    public func child(of parent: String, _ name: String, total: Int64? = nil, weight: Double = 1) -> String {
        let path = parent + "/" + name
        state.withLock { s in
            if s.index[path] != nil { return }
            guard let p = s.index[parent] else { preconditionFailure("no progress node \(parent)") }
            let kind: Kind = s.nodes[p].kind == .pipeline ? .stage : s.nodes[p].kind == .stage ? .step : .substep
            var n = Node(kind: kind, name: name, parent: p)
            n.total = total
            n.weight = max(0, weight)
            s.nodes.append(n)
            s.nodes[p].children.append(s.nodes.count - 1)
            s.index[path] = s.nodes.count - 1
            s.version += 1
        }
        return path
    }

    /// Removes the children of `parent` that never started (pending): the
    /// substeps planned from an estimate that the work turned out not to need.
    public func prunePending(under parent: String) {
        state.withLock { s in
            guard let p = s.index[parent] else { return }
            let drop = s.nodes[p].children.filter { s.nodes[$0].status == .pending }
            guard !drop.isEmpty else { return }
            for c in drop { s.index[parent + "/" + s.nodes[c].name] = nil }
            s.nodes[p].children.removeAll { drop.contains($0) }
            s.version += 1
        }
    }

    /// Whether the tree has a node at `path`.
    public func contains(_ path: String) -> Bool { state.withLock { $0.index[path] != nil } }

    /// Marks a node (and its ancestors) running.
    public func start(_ path: String) {
        let now = clock()
        mutate(path) { s, i in
            var k: Int? = i
            while let j = k {
                if s.nodes[j].status == .pending || s.nodes[j].status == .paused { s.nodes[j].status = .running }
                if s.nodes[j].startedAt == nil { s.nodes[j].startedAt = now }
                k = s.nodes[j].parent
            }
        }
    }

    /// Adds `units` to a node's done count (starting it if needed).
    public func advance(_ path: String, by units: Int64) {
        let now = clock()
        mutate(path) { s, i in
            if s.nodes[i].startedAt == nil { s.nodes[i].startedAt = now }
            if s.nodes[i].status == .pending { s.nodes[i].status = .running }
            s.nodes[i].done += units
        }
    }

    /// Sets a node's done count (never lowering it; starting it if needed).
    public func setDone(_ path: String, _ done: Int64) {
        let now = clock()
        mutate(path) { s, i in
            if s.nodes[i].startedAt == nil { s.nodes[i].startedAt = now }
            if s.nodes[i].status == .pending { s.nodes[i].status = .running }
            s.nodes[i].done = max(s.nodes[i].done, done)
        }
    }

    /// Sets a node's total units (when it becomes known).
    public func setTotal(_ path: String, _ total: Int64?) { mutate(path) { s, i in s.nodes[i].total = total } }

    /// Ends a node with `status` (`completed`, `skipped`, `cached` or `failed`).
    public func finish(_ path: String, _ status: Status = .completed) {
        let now = clock()
        mutate(path) { s, i in
            s.nodes[i].status = status
            s.nodes[i].finishedAt = now
            if status == .completed, let t = s.nodes[i].total { s.nodes[i].done = max(s.nodes[i].done, t) }
        }
    }

    /// Sets the status of every running node (pause and resume).
    public func setRunning(to status: Status) {
        state.withLock { s in
            for i in s.nodes.indices where s.nodes[i].status == .running || s.nodes[i].status == .paused {
                s.nodes[i].status = status
            }
            s.version += 1
        }
    }

    /// Changes so far; a writer persists when this moved.
    public var version: Int { state.withLock { $0.version } }

    /// The whole tree.
    public func snapshot() -> Snapshot {
        let now = clock()
        return state.withLock { s in Self.snapshot(s, 0, path: "pipeline", now: now) }
    }

    /// Percent of a single node (0…100).
    public func percent(_ path: String) -> Double {
        state.withLock { s in s.index[path].map { Self.percent(s, $0) } ?? 0 }
    }

    private func mutate(_ path: String, _ body: (inout State, Int) -> Void) {
        state.withLock { s in
            guard let i = s.index[path] else { preconditionFailure("no progress node \(path)") }
            body(&s, i)
            s.version += 1
        }
    }

    /// Units done: a leaf's own count; a parent's is at least the sum of its
    /// children's; the pipeline's is its completed or skipped stages.
    private static func done(_ s: State, _ i: Int) -> Int64 {
        let n = s.nodes[i]
        if n.children.isEmpty { return n.done }
        if n.kind == .pipeline {
            return Int64(
                n.children.count(where: {
                    s.nodes[$0].status == .completed || s.nodes[$0].status == .skipped || s.nodes[$0].status == .cached
                }))
        }
        var sum: Int64 = 0
        for c in n.children { sum += done(s, c) }
        return max(n.done, sum)
    }

    /// Units in all: a node's own total, else (for a parent) the sum of its
    /// children's when each has one; the pipeline's is its number of stages.
    private static func total(_ s: State, _ i: Int) -> Int64? {
        let n = s.nodes[i]
        if n.kind == .pipeline { return Int64(n.children.count) }
        if let t = n.total { return t }
        guard !n.children.isEmpty else { return nil }
        var sum: Int64 = 0
        for c in n.children {
            guard let t = total(s, c) else { return nil }
            sum += t
        }
        return sum
    }

    private static func percent(_ s: State, _ i: Int) -> Double {
        let n = s.nodes[i]
        if n.status == .completed || n.status == .skipped || n.status == .cached { return 100 }
        if !n.children.isEmpty {
            // A parent with a total of its own counts its children's units against it.
            if n.kind != .pipeline, let total = n.total, total > 0 {
                return min(100, Double(done(s, i)) / Double(total) * 100)
            }
            let weights = n.children.map { s.nodes[$0].weight }
            let sum = weights.reduce(0, +)
            guard sum > 0 else { return 0 }
            var acc = 0.0
            for (c, w) in zip(n.children, weights) { acc += percent(s, c) * w }
            return min(100, acc / sum)
        }
        guard let total = n.total, total > 0 else { return 0 }
        return min(100, Double(n.done) / Double(total) * 100)
    }

    private static func snapshot(_ s: State, _ i: Int, path: String, now: Double) -> Snapshot {
        let n = s.nodes[i]
        let p = percent(s, i)
        let units = done(s, i)
        var rate: Double?
        var eta: Double?
        var elapsedSeconds: Double?
        if let started = n.startedAt {
            let elapsed = max(1e-9, (n.finishedAt ?? now) - started)
            elapsedSeconds = elapsed
            if units > 0 { rate = Double(units) / elapsed }
            if n.status == .running, p > 0, p < 100 { eta = elapsed * (100 - p) / p }
        }
        return Snapshot(
            path: path, kind: n.kind, name: n.name, status: n.status, unitsDone: units, unitsTotal: total(s, i),
            percent: p, rate: rate, etaSeconds: eta,
            children: n.children.map { snapshot(s, $0, path: path + "/" + s.nodes[$0].name, now: now) },
            elapsedSeconds: elapsedSeconds)
    }

    /// Seconds on CLOCK_MONOTONIC.
    public static let monotonicSeconds: @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
