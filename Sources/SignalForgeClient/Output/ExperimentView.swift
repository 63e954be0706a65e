import Foundation

/// How experiments print in each format.
enum ExperimentView {
    /// The CSV columns of an experiment row (`list`, `status`, `start`,
    /// `pause`, `resume`, `cancel`, `retry`).
    static let csvColumns = ["id", "name", "status", "priority", "stage", "percent", "created_at", "started_at", "finished_at", "error"]

    static func show(_ items: [JSONValue], as format: OutputFormat, single: Bool) {
        switch format {
        case .json: Console.line(single && items.count == 1 ? items[0].pretty : JSONValue.array(items).pretty)
        case .csv: Console.out(CSV.table(csvColumns, items))
        case .table:
            if single, let e = items.first { Console.out(detail(e)) } else { Console.out(table(items)) }
        }
    }

    /// The server's `allowed_actions` as `pause, cancel` (`none` when empty; nil when the server sends none).
    static func allowedActions(_ e: JSONValue) -> String? {
        guard let list = e["allowed_actions"]?.array else { return nil }
        let names = list.compactMap(\.string)
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }

    static func table(_ items: [JSONValue], colors: Bool = Terminal.colors) -> String {
        var t = TextTable(["ID", "NAME", "STATUS", "PRIORITY", "STAGE", "PERCENT", "CREATED"], rightAligned: [5])
        for e in items {
            t.add([
                e["id"]?.cell ?? "", (e["name"]?.cell ?? "").truncated(to: 32), e["status"]?.cell ?? "", e["priority"]?.cell ?? "",
                e["stage"]?.cell ?? "", e["percent"]?.double.map(Format.percent) ?? "", Timestamp.short(e["created_at"]?.string),
            ])
        }
        return t.render(colors: colors) { column, raw, padded in
            column == 2 ? padded.replacingOccurrences(of: raw, with: Terminal.paintStatus(raw, enabled: colors)) : padded
        }
    }

    /// One experiment as `key  value` lines, with what it was asked to do.
    static func detail(_ e: JSONValue, colors: Bool = Terminal.colors) -> String {
        var rows: [(String, String)] = []
        func add(_ k: String, _ v: String?) { rows.append((k, v.flatMap { $0.isEmpty ? nil : $0 } ?? "-")) }
        add("id", e["id"]?.cell)
        add("name", e["name"]?.cell)
        add("status", e["status"]?.string.map { Terminal.paintStatus($0, enabled: colors) })
        add("priority", e["priority"]?.cell)
        add("stage", e["stage"]?.cell)
        add("percent", e["percent"]?.double.map(Format.percent))
        add("created", e["created_at"]?.cell)
        add("started", e["started_at"]?.cell)
        add("finished", e["finished_at"]?.cell)
        let end = e["finished_at"]?.isNull == false ? e["finished_at"] : nil
        add("duration", Timestamp.seconds(from: e["started_at"], to: end).map(Format.duration))
        add("error", e["error"]?.cell)
        add("actions", allowedActions(e))
        if let request = e["request"] {
            let datasets = (request["datasets"]?.array ?? []).map { d in
                "\(d["symbol"]?.cell ?? "?")=\(d["path"]?.cell ?? d["dataset_id"]?.cell ?? "?")"
            }
            add("datasets", datasets.joined(separator: ", "))
            add("timeframes", request["timeframes"]?.cell.replacingOccurrences(of: ";", with: ","))
            add("stages", request["stages"]?.cell.replacingOccurrences(of: ";", with: ","))
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { k, v in Terminal.paint(k.padding(toLength: width, withPad: " ", startingAt: 0), .bold, enabled: colors) + "  " + v
        }
        .joined(separator: "\n") + "\n"
    }
}
