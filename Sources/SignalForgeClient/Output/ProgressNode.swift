import Foundation

/// A node of `GET /v1/experiments/{id}/progress` (pipeline → stage → step → substep).
struct ProgressNode: Sendable, Equatable {
    var path: String
    var kind: String
    var name: String
    var status: String
    var unitsDone: Int
    var unitsTotal: Int?
    var percent: Double
    var rate: Double?
    var etaSeconds: Double?
    var children: [ProgressNode]

    init(
        path: String, kind: String, name: String, status: String, unitsDone: Int = 0, unitsTotal: Int? = nil, percent: Double = 0,
        rate: Double? = nil, etaSeconds: Double? = nil, children: [ProgressNode] = []
    ) {
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

    /// Reads a node; nil when `json` is not a progress node.
    init?(_ json: JSONValue) {
        guard let name = json["name"]?.string, let status = json["status"]?.string else { return nil }
        self.init(
            path: json["path"]?.string ?? name, kind: json["kind"]?.string ?? "", name: name, status: status,
            unitsDone: json["units_done"]?.int ?? 0, unitsTotal: json["units_total"]?.int, percent: json["percent"]?.double ?? 0,
            rate: json["rate"]?.double, etaSeconds: json["eta_seconds"]?.double,
            children: (json["children"]?.array ?? []).compactMap(ProgressNode.init))
    }

    /// Whether work is under way or parked in this node.
    var isActive: Bool { status == "running" || status == "paused" }
}
