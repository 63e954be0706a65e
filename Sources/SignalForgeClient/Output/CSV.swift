import Foundation

/// RFC 4180 CSV: fields with a comma, quote, CR or LF are quoted, quotes doubled.
enum CSV {
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func row(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") }

    /// A header row and one row per item, each cell the item's member at that column (see `JSONValue.cell`).
    static func table(_ columns: [String], _ items: [JSONValue], cell: (JSONValue, String) -> String = { $0[$1]?.cell ?? "" }) -> String {
        var out = row(columns) + "\n"
        for item in items { out += row(columns.map { cell(item, $0) }) + "\n" }
        return out
    }
}
