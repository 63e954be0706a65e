import Foundation

/// Turns snapshots into text: a redrawn tree for terminals, one line per
/// change for logs and pipes, NDJSON/CSV records for scripts.
enum WatchRenderer {
    static let barWidth = 24

    /// `[██████████░░░░░░░░░░]`.
    static func bar(_ percent: Double, width: Int = barWidth) -> String {
        let filled = Int((min(100, max(0, percent)) / 100 * Double(width)).rounded(.down))
        return "▕" + String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + "▏"
    }

    static func icon(_ status: String) -> String {
        switch status {
        case "completed", "succeeded": "✔"
        case "failed": "✘"
        case "skipped": "↷"
        case "running": "▶"
        case "paused": "‖"
        case "cancelled": "■"
        default: "·"
        }
    }

    /// `1.2k/s  ETA 12s` for a node with a rate.
    static func speed(_ n: ProgressNode) -> String {
        var parts: [String] = []
        if let r = n.rate, r > 0 { parts.append(Format.count(r) + "/s") }
        if let eta = n.etaSeconds, n.status == "running" { parts.append("ETA " + Format.duration(eta)) }
        return parts.joined(separator: "  ")
    }

    static func units(_ n: ProgressNode) -> String {
        n.unitsTotal.map { "\(Format.count(Double(n.unitsDone)))/\(Format.count(Double($0)))" } ?? Format.count(Double(n.unitsDone))
    }

    /// `info  resample: line 52`.
    static func logText(_ log: JSONValue) -> String {
        let level = log["level"]?.string ?? ""
        let stage = log["stage"]?.string.map { $0 + ": " } ?? ""
        return "\(level) \(stage)\(log["message"]?.string ?? "")"
    }

    /// The tree as terminal lines (each at most `width` visible columns).
    static func treeLines(_ s: WatchSnapshot, width: Int, colors: Bool) -> [String] {
        func paint(_ t: String, _ st: Terminal.Style) -> String { Terminal.paint(t, st, enabled: colors) }
        var lines: [String] = []
        var head =
            paint(s.name.isEmpty ? s.id : s.name, .bold) + " " + paint(s.id, .dim) + "  "
            + Terminal.paintStatus(s.status, enabled: colors) + "  " + Format.percent(s.overallPercent)
        if let started = s.startedAt.flatMap(Timestamp.parse) {
            let end = s.finishedAt.flatMap(Timestamp.parse) ?? Date.now.timeIntervalSince1970
            head += "  " + paint(Format.duration(end - started), .dim)
        }
        lines.append(head)
        let stages = s.tree?.children ?? []
        let nameWidth = stages.map(\.name.count).max() ?? 0
        for (i, stage) in stages.enumerated() {
            let last = i == stages.count - 1
            let branch = last ? "└─ " : "├─ "
            var line = branch + stage.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
            if stage.isActive {
                line +=
                    paint(bar(stage.percent), stage.status == "paused" ? .magenta : .cyan) + " "
                    + Format.percent(stage.percent).leftPadded(6)
                let sp = speed(stage)
                if !sp.isEmpty { line += "  " + sp }
                line += "  " + Terminal.paintStatus(stage.status, enabled: colors)
            } else {
                line += icon(stage.status) + " " + Terminal.paintStatus(stage.status, enabled: colors)
            }
            lines.append(line)
            guard stage.isActive || stage.status == "failed" else { continue }
            let stem = last ? "   " : "│  "
            lines += stepLines(stage.children, prefix: stem, colors: colors)
        }
        if let log = s.log {
            let level = log["level"]?.string ?? ""
            let text =
                paint(Timestamp.time(log["ts"]?.string ?? ""), .dim) + " "
                + (Terminal.style(forStatus: level).map { paint(level, $0) } ?? level) + " "
                + (log["stage"]?.string.map { $0 + ": " } ?? "") + (log["message"]?.string ?? "")
            lines.append("› " + text)
        }
        if let error = s.error, s.status == "failed" { lines.append(paint("error: " + error, .red)) }
        return lines.map { visibleTruncate($0, width) }
    }

    /// The most children drawn under one node; beyond it only the active ones
    /// are, then a line that counts the rest (a file read in 40 chunks).
    static let maxChildLines = 6

    /// Steps (and, under an active step, its substeps) as tree lines.
    private static func stepLines(_ all: [ProgressNode], prefix: String, colors: Bool) -> [String] {
        var steps = all
        var summary: String?
        if all.count > maxChildLines {
            let finished = all.count(where: { $0.status == "completed" || $0.status == "skipped" })
            steps = all.filter(\.isActive)
            if steps.isEmpty, let latest = all.last(where: { $0.status != "pending" }) { steps = [latest] }
            summary = "… \(finished)/\(all.count) done"
        }
        var out: [String] = []
        for (i, step) in steps.enumerated() {
            let last = i == steps.count - 1 && summary == nil
            var line = prefix + (last ? "└─ " : "├─ ") + step.name + "  " + units(step)
            if step.unitsTotal != nil { line += "  " + Format.percent(step.percent) }
            let sp = speed(step)
            if !sp.isEmpty, step.status == "running" { line += "  " + sp }
            if step.status != "running" { line += "  " + icon(step.status) + " " + Terminal.paintStatus(step.status, enabled: colors) }
            out.append(line)
            if step.isActive { out += stepLines(step.children, prefix: prefix + (last ? "   " : "│  "), colors: colors) }
        }
        if let summary { out.append(prefix + "└─ " + Terminal.paint(summary, .dim, enabled: colors)) }
        return out
    }

    /// One plain line: `12:00:01 running 42.0% load 52.0% (EURUSD 52k/100k › chunk_1 52k/65.5k, 1.2k/s, ETA 12s) | info load: …`.
    static func plainLine(_ s: WatchSnapshot) -> String {
        var line = "\(Timestamp.nowTime()) \(s.status) \(Format.percent(s.overallPercent))"
        if let stage = s.activeStage, !["succeeded", "failed", "cancelled"].contains(s.status) {
            line += " \(stage.name) \(Format.percent(stage.percent))"
            var detail: [String] = []
            if let step = stage.children.first(where: \.isActive) ?? stage.children.last {
                var text = "\(step.name) \(units(step))"
                // The fourth level: the substep under way.
                if let sub = step.children.first(where: \.isActive) { text += " › \(sub.name) \(units(sub))" }
                detail.append(text)
            }
            let sp = speed(stage)
            if !sp.isEmpty { detail.append(sp) }
            if !detail.isEmpty { line += " (" + detail.joined(separator: ", ") + ")" }
        } else if let stage = s.stage, !["succeeded"].contains(s.status) {
            line += " \(stage)"
        }
        if let log = s.log { line += " | " + logText(log) }
        return line
    }

    /// What must differ for a new plain line or record: status, stage, whole
    /// percents and the latest log line (not the rate or ETA, which change on every poll).
    static func changeKey(_ s: WatchSnapshot) -> String {
        let stage = s.activeStage
        return [
            s.status, stage?.name ?? s.stage ?? "", String(Int(s.overallPercent)), String(Int(stage?.percent ?? 0)),
            stage?.status ?? "", s.log?["id"]?.cell ?? "",
        ].joined(separator: "|")
    }

    /// The CSV columns and NDJSON members of a `watch` record.
    static let recordColumns = ["ts", "id", "status", "percent", "stage", "stage_percent", "rate", "eta_seconds", "log"]

    static func record(_ s: WatchSnapshot) -> JSONValue {
        let stage = s.activeStage
        func num(_ d: Double?) -> JSONValue { d.map { .number(String(format: "%.3f", $0)) } ?? .null }
        return .object([
            ("ts", .string(Timestamp.now())),
            ("id", .string(s.id)),
            ("status", .string(s.status)),
            ("percent", num(s.overallPercent)),
            ("stage", (stage?.name ?? s.stage).map(JSONValue.string) ?? .null),
            ("stage_percent", num(stage?.percent)),
            ("rate", num(stage?.rate)),
            ("eta_seconds", num(stage?.etaSeconds)),
            ("log", s.log.map { .string(logText($0)) } ?? .null),
        ])
    }

    /// Cuts `text` to `width` visible characters, copying ANSI sequences whole.
    static func visibleTruncate(_ text: String, _ width: Int) -> String {
        var out = ""
        var visible = 0
        var inEscape = false
        var cut = false
        for ch in text {
            if inEscape {
                out.append(ch)
                if ch.isLetter { inEscape = false }
                continue
            }
            if ch == "\u{1B}" {
                inEscape = true
                out.append(ch)
                continue
            }
            if visible >= width {
                cut = true
                continue
            }
            out.append(ch)
            visible += 1
        }
        if cut, text.contains("\u{1B}") { out += "\u{1B}[0m" }
        return out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
