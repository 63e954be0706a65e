import ArgumentParser

/// `--output`: how a command prints what it got.
///
/// - `table`: for people; aligned columns (colours on a terminal). Not stable.
/// - `json`: stable. A single resource prints as one JSON object, a list as one
///   JSON array of its items (every page), both exactly as the server sent them
///   (member order and numbers kept). Streams (`logs`, `watch`) print NDJSON:
///   one compact object per line.
/// - `csv`: stable. RFC 4180, a header row, then one row per item; the columns
///   of each command are fixed and listed in its `--help`. `null` is empty.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case table, json, csv
}
