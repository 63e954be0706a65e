/// The PLAIN-encoded values of one column for the row group being filled, with
/// page boundaries and min/max statistics.
final class ParquetColumnBuffer {
    let spec: ColumnSpec
    let pageRows: Int
    /// PLAIN bytes (booleans: one byte per value, bit-packed when a page is written).
    var data: [UInt8] = []
    /// The byte offset in `data` where each page starts.
    var pageStarts: [Int] = []
    var count = 0

    // Statistics (NaN excluded for doubles).
    var doubleMin = Double.infinity, doubleMax = -Double.infinity, sawNumber = false
    var intMin = Int64.max, intMax = Int64.min
    var stringMin: [UInt8]? = nil, stringMax: [UInt8]? = nil
    var sawTrue = false, sawFalse = false

    init(spec: ColumnSpec, pageRows: Int, expectedRows: Int) {
        self.spec = spec
        self.pageRows = pageRows
        let width = spec.type == .bool ? 1 : 8
        if spec.type != .string { data.reserveCapacity(expectedRows * width) }
    }

    func reset() {
        data.removeAll(keepingCapacity: true)
        pageStarts.removeAll(keepingCapacity: true)
        count = 0
        doubleMin = .infinity; doubleMax = -.infinity; sawNumber = false
        intMin = .max; intMax = .min
        stringMin = nil; stringMax = nil
        sawTrue = false; sawFalse = false
    }

    /// Appends `values[range]`, splitting at page boundaries.
    func append(_ values: ColumnValues, _ range: Range<Int>) {
        var lower = range.lowerBound
        while lower < range.upperBound {
            if count % pageRows == 0 { pageStarts.append(data.count) }
            let room = pageRows - count % pageRows
            let upper = min(range.upperBound, lower + room)
            appendPiece(values, lower..<upper)
            count += upper - lower
            lower = upper
        }
    }

    private func appendPiece(_ values: ColumnValues, _ r: Range<Int>) {
        switch values {
        case .double(let v):
            v.withUnsafeBufferPointer { b in
                let slice = UnsafeBufferPointer(rebasing: b[r])
                data.append(contentsOf: UnsafeRawBufferPointer(slice))
                var lo = doubleMin, hi = doubleMax
                for x in slice {
                    lo = x < lo ? x : lo  // NaN compares false: skipped
                    hi = x > hi ? x : hi
                }
                doubleMin = lo; doubleMax = hi
                if lo <= hi { sawNumber = true }
            }
        case .timestamp(let v), .int64(let v):
            v.withUnsafeBufferPointer { b in
                let slice = UnsafeBufferPointer(rebasing: b[r])
                data.append(contentsOf: UnsafeRawBufferPointer(slice))
                var lo = intMin, hi = intMax
                for x in slice {
                    lo = x < lo ? x : lo
                    hi = x > hi ? x : hi
                }
                intMin = lo; intMax = hi
            }
        case .bool(let v):
            for i in r {
                data.append(v[i] ? 1 : 0)
                if v[i] { sawTrue = true } else { sawFalse = true }
            }
        case .string(let v):
            for i in r {
                var s = v[i]
                s.withUTF8 { u in
                    let n = UInt32(u.count)
                    data.append(UInt8(truncatingIfNeeded: n))
                    data.append(UInt8(truncatingIfNeeded: n >> 8))
                    data.append(UInt8(truncatingIfNeeded: n >> 16))
                    data.append(UInt8(truncatingIfNeeded: n >> 24))
                    data.append(contentsOf: u)
                    if stringMin == nil || Self.less(u, stringMin!) { stringMin = Array(u) }
                    if stringMax == nil || Self.less(stringMax!, u) { stringMax = Array(u) }
                }
            }
        }
    }

    /// Unsigned byte-wise order, as Parquet's UTF8 column order requires.
    static func less<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        a.lexicographicallyPrecedes(b)
    }

    /// PLAIN-encoded min and max for the column chunk statistics, or `nil` when there are none.
    func statistics() -> (min: [UInt8], max: [UInt8])? {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        switch spec.type {
        case .double:
            guard sawNumber else { return nil }
            // Parquet: write -0.0 as the min and +0.0 as the max when they are zero.
            let lo = doubleMin == 0 ? -0.0 : doubleMin
            let hi = doubleMax == 0 ? 0.0 : doubleMax
            return (le(lo.bitPattern), le(hi.bitPattern))
        case .timestamp, .int64:
            guard count > 0 else { return nil }
            return (le(intMin), le(intMax))
        case .string:
            guard let lo = stringMin, let hi = stringMax else { return nil }
            return (lo, hi)
        case .bool:
            guard sawTrue || sawFalse else { return nil }
            return ([sawFalse ? 0 : 1], [sawTrue ? 1 : 0])
        }
    }
}
