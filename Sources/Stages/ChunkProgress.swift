import Pipeline

/// The substeps of a step that works through rows in chunks (a file read
/// 65,536 rows at a time, a table written in batches): `<prefix>_1`,
/// `<prefix>_2`, … each counting its rows, so the progress tree has a fourth
/// level.
///
/// The substeps are planned up front from the rows expected, so N/M shows the
/// work ahead; more are added when the work turns out bigger, and planned
/// ones never reached are dropped by ``finish()``. At most ``maxSubsteps``
/// are planned: for a very large input one substep spans several chunks.
/// Used by one runner thread.
struct ChunkProgress {
    /// The most substeps planned for one step (the tree is stored every 250 ms; keep it small).
    static let maxSubsteps: Int64 = 64

    let tree: ProgressTree
    let step: String
    let prefix: String
    /// Rows per substep.
    let span: Int64
    private var index = 0
    private var filled: Int64 = 0

    /// Plans the substeps of `step`.
    /// - Parameters:
    ///   - expectedRows: the rows the step should see (an estimate is fine; nil when unknown).
    ///   - chunkRows: the rows of one chunk of the work.
    init(_ tree: ProgressTree, step: String, prefix: String, expectedRows: Int64?, chunkRows: Int) {
        self.tree = tree
        self.step = step
        self.prefix = prefix
        let chunk = Int64(max(chunkRows, 1))
        let expected = max(expectedRows ?? 0, 0)
        let chunks = (expected + chunk - 1) / chunk
        // Whole chunks per substep, so that substeps end where chunks do.
        let perSubstep = max(1, (chunks + Self.maxSubsteps - 1) / Self.maxSubsteps)
        span = perSubstep * chunk
        var left = expected
        var k = 1
        while left > 0 {
            tree.child(of: step, "\(prefix)_\(k)", total: min(span, left), weight: Double(min(span, left)))
            left -= span
            k += 1
        }
    }

    private var current: String { "\(step)/\(prefix)_\(index + 1)" }

    /// Counts `rows` just processed, finishing each substep as it fills up.
    mutating func record(_ rows: Int) {
        var left = Int64(rows)
        while left > 0 {
            if filled == 0 {
                if !tree.contains(current) { tree.child(of: step, "\(prefix)_\(index + 1)", total: span, weight: Double(span)) }
                tree.start(current)
            }
            let take = min(left, span - filled)
            tree.advance(current, by: take)
            filled += take
            left -= take
            if filled == span {
                tree.finish(current)
                index += 1
                filled = 0
            }
        }
    }

    /// Ends the substep under way (its total becomes the rows it saw) and
    /// drops the planned substeps the work did not need.
    mutating func finish() {
        if filled > 0 {
            tree.setTotal(current, filled)
            tree.finish(current)
            index += 1
            filled = 0
        }
        tree.prunePending(under: step)
    }
}
