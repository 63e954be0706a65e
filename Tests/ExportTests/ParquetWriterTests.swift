import Foundation
import TestSupport
import Testing

@testable import Export

struct ParquetWriterTests {
    @Test func thriftCompactEncoding() {
        var w = ThriftCompactWriter()
        w.i32(1, 1)  // delta 1, i32, zigzag(1) = 2
        w.i64(3, -1)  // delta 2, i64, zigzag(-1) = 1
        w.string(20, "ab")  // delta 17: long form
        w.bool(21, true)
        #expect(w.finish() == [0x15, 0x02, 0x26, 0x01, 0x08, 0x28, 0x02, 0x61, 0x62, 0x11, 0x00])
    }

    /// Writes files covering every type, NaN, empty strings, zero rows and several row groups,
    /// with and without zstd, and checks them with pyarrow, pandas, polars and duckdb in one Python run.
    @Test func readBackByPyarrowPandasPolarsAndDuckDB() throws {
        let dir = try TempDir()
        let n = 2_500
        let t0: Int64 = 1_704_067_200_000_000
        let ts = (0..<n).map { t0 + Int64($0) * 60_000_000 }
        let dbl = (0..<n).map { $0 % 7 == 3 ? Double.nan : Double($0) * 0.25 - 100 }
        let ints = (0..<n).map { Int64($0) * 1_000_003 - 7 }
        let strs = (0..<n).map { $0 % 5 == 0 ? "" : "s\($0 % 13)é" }
        let bools = (0..<n).map { $0 % 3 == 0 }
        let columns: [ExportColumn] = [
            ExportColumn("timestamp", .timestamp(ts)), ExportColumn("eurusd_close", .double(dbl)),
            ExportColumn("count", .int64(ints)), ExportColumn("label", .string(strs)), ExportColumn("accepted", .bool(bools)),
        ]
        let specs = columns.map(\.spec)
        var files: [String] = []
        for (name, compression, rowGroup, batch) in [
            ("zstd_groups.parquet", ParquetCompression.zstd, 1000, 333),
            ("plain_one.parquet", ParquetCompression.none, 1 << 20, n),
        ] {
            let path = dir.path(name)
            let w = try ParquetWriter(path: path, columns: specs, compression: compression, rowGroupRows: rowGroup, pageRows: 256)
            var i = 0
            while i < n {
                let j = min(n, i + batch)
                try w.write([
                    ExportColumn("timestamp", .timestamp(Array(ts[i..<j]))),
                    ExportColumn("eurusd_close", .double(Array(dbl[i..<j]))),
                    ExportColumn("count", .int64(Array(ints[i..<j]))),
                    ExportColumn("label", .string(Array(strs[i..<j]))),
                    ExportColumn("accepted", .bool(Array(bools[i..<j]))),
                ])
                i = j
            }
            try w.close()
            files.append(path)
        }
        let empty = dir.path("empty.parquet")
        let we = try ParquetWriter(path: empty, columns: specs)
        try we.close()
        let allNaN = dir.path("nan.parquet")
        let wn = try ParquetWriter(path: allNaN, columns: [ColumnSpec("x", .double)])
        try wn.write([ExportColumn("x", .double([.nan, .nan]))])
        try wn.close()

        let script = #"""
            import sys, math, json
            import pyarrow.parquet as pq, pyarrow as pa, pandas as pd, polars as pl, duckdb
            n = int(sys.argv[1]); files = sys.argv[2:4]; empty = sys.argv[4]; nanfile = sys.argv[5]
            t0 = 1704067200000000
            ts = [t0 + i * 60000000 for i in range(n)]
            dbl = [float("nan") if i % 7 == 3 else i * 0.25 - 100 for i in range(n)]
            ints = [i * 1000003 - 7 for i in range(n)]
            strs = ["" if i % 5 == 0 else "s%dé" % (i % 13) for i in range(n)]
            bools = [i % 3 == 0 for i in range(n)]
            def same(a, b):
                return len(a) == len(b) and all((x == y) or (isinstance(x, float) and math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))
            problems = []
            def check(cond, what):
                if not cond: problems.append(what)
            for f in files:
                t = pq.read_table(f)
                s = t.schema
                check(str(s.field("timestamp").type) == "timestamp[us, tz=UTC]", f"{f}: pyarrow ts type {s.field('timestamp').type}")
                check(s.field("eurusd_close").type == pa.float64(), "pyarrow double type")
                check(s.field("count").type == pa.int64(), "pyarrow int64 type")
                check(s.field("label").type in (pa.string(), pa.large_string()), f"pyarrow string type {s.field('label').type}")
                check(s.field("accepted").type == pa.bool_(), "pyarrow bool type")
                check(t.column("timestamp").cast(pa.int64()).to_pylist() == ts, f"{f}: pyarrow timestamps")
                check(same(t.column("eurusd_close").to_pylist(), dbl), f"{f}: pyarrow doubles")
                check(t.column("count").to_pylist() == ints, f"{f}: pyarrow ints")
                check(t.column("label").to_pylist() == strs, f"{f}: pyarrow strings")
                check(t.column("accepted").to_pylist() == bools, f"{f}: pyarrow bools")
                md = pq.ParquetFile(f).metadata
                groups = md.num_row_groups
                if "groups" in f:
                    check(groups == 3, f"{f}: row groups {groups}")
                for g in range(groups):
                    rg = md.row_group(g)
                    lo = g * 1000 if "groups" in f else 0
                    hi = min(n, lo + rg.num_rows)
                    st = rg.column(1).statistics
                    vals = [x for x in dbl[lo:hi] if not math.isnan(x)]
                    check(st is not None and st.has_min_max and st.min == min(vals) and st.max == max(vals), f"{f}: double stats rg{g} {st}")
                    st = rg.column(0).statistics
                    check(st.has_min_max and int(st.min.timestamp() * 1e6) == ts[lo] and int(st.max.timestamp() * 1e6) == ts[hi - 1], f"{f}: ts stats")
                    st = rg.column(3).statistics
                    check(st.has_min_max and st.min == min(strs[lo:hi]) and st.max == max(strs[lo:hi]), f"{f}: string stats {st.min!r} {st.max!r}")
                    st = rg.column(2).statistics
                    check(st.min == min(ints[lo:hi]) and st.max == max(ints[lo:hi]), f"{f}: int stats")
                df = pd.read_parquet(f)
                check(str(df["timestamp"].dtype) in ("datetime64[us, UTC]", "datetime64[ns, UTC]"), f"pandas ts dtype {df['timestamp'].dtype}")
                check(str(df["eurusd_close"].dtype) == "float64" and str(df["count"].dtype) == "int64" and str(df["accepted"].dtype) == "bool", f"pandas dtypes {df.dtypes.to_dict()}")
                check(list(df["timestamp"].astype("int64") // (1000 if str(df['timestamp'].dtype).startswith('datetime64[ns') else 1)) == ts, "pandas timestamps")
                check(same(df["eurusd_close"].tolist(), dbl) and df["label"].tolist() == strs, "pandas values")
                p = pl.read_parquet(f)
                check(p.schema["timestamp"] == pl.Datetime("us", "UTC"), f"polars ts {p.schema['timestamp']}")
                check(p.schema["eurusd_close"] == pl.Float64 and p.schema["count"] == pl.Int64 and p.schema["label"] == pl.String and p.schema["accepted"] == pl.Boolean, f"polars schema {p.schema}")
                check(p["timestamp"].dt.epoch("us").to_list() == ts and same(p["eurusd_close"].to_list(), dbl) and p["label"].to_list() == strs and p["accepted"].to_list() == bools, "polars values")
                con = duckdb.connect()
                types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{f}')").fetchall()}
                check(types == {"timestamp": "TIMESTAMP WITH TIME ZONE", "eurusd_close": "DOUBLE", "count": "BIGINT", "label": "VARCHAR", "accepted": "BOOLEAN"}, f"duckdb types {types}")
                rows = con.execute(f"SELECT epoch_us(timestamp), eurusd_close, count, label, accepted FROM read_parquet('{f}')").fetchall()
                check([r[0] for r in rows] == ts and same([r[1] for r in rows], dbl) and [r[2] for r in rows] == ints and [r[3] for r in rows] == strs and [r[4] for r in rows] == bools, "duckdb values")
                check(con.execute(f"SELECT count(*) FILTER (WHERE isnan(eurusd_close)) FROM read_parquet('{f}')").fetchone()[0] == sum(1 for x in dbl if math.isnan(x)), "duckdb NaN count")
            t = pq.read_table(empty)
            check(t.num_rows == 0 and str(t.schema.field("timestamp").type) == "timestamp[us, tz=UTC]", "empty pyarrow")
            check(len(pd.read_parquet(empty)) == 0 and pl.read_parquet(empty).height == 0, "empty pandas/polars")
            check(duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{empty}')").fetchone()[0] == 0, "empty duckdb")
            t = pq.read_table(nanfile)
            check(all(math.isnan(x) for x in t.column("x").to_pylist()) and t.num_rows == 2, "all-NaN values")
            print(json.dumps(problems))
            """#
        let out = try PythonPeer.run(script, ["\(n)"] + files + [empty, allNaN])
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(out)")
    }

    @Test func refusesBadSchemasAndBatches() throws {
        let dir = try TempDir()
        #expect(throws: ExportError.self) { try ParquetWriter(path: dir.path("a.parquet"), columns: []) }
        #expect(throws: ExportError.self) {
            try ParquetWriter(path: dir.path("b.parquet"), columns: [ColumnSpec("x", .double), ColumnSpec("x", .int64)])
        }
        let w = try ParquetWriter(path: dir.path("c.parquet"), columns: [ColumnSpec("x", .double)])
        #expect(throws: ExportError.self) { try w.write([ExportColumn("x", .int64([1]))]) }
        try w.close()
        #expect(throws: ExportError.self) { try w.write([ExportColumn("x", .double([1]))]) }
    }

    /// The checkpoint runs before every page of a row group (the long part of
    /// `close`), changes nothing in the file, and when it throws the write
    /// stops with `.interrupted`.
    @Test func theCheckpointRunsBeforeEveryPageAndCanStopTheWrite() throws {
        let dir = try TempDir()
        let n = 1_000
        let columns: [ExportColumn] = [
            ExportColumn("timestamp", .timestamp((0..<n).map { Int64($0) * 60_000_000 })),
            ExportColumn("close", .double((0..<n).map { Double($0) / 8 })),
            ExportColumn("label", .string((0..<n).map { "s\($0 % 13)" })),
        ]
        func write(_ name: String, _ checkpoint: (() throws -> Void)?) throws -> [UInt8] {
            let path = dir.path(name)
            let w = try ParquetWriter(path: path, columns: columns.map(\.spec), rowGroupRows: 600, pageRows: 100)
            w.checkpoint = checkpoint
            try w.write(columns)
            try w.close()
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        var calls = 0
        let plain = try write("plain.parquet", nil)
        let checked = try write("checked.parquet") { calls += 1 }
        #expect(checked == plain)
        // Two row groups (600 + 400 rows) of three columns in pages of 100 rows: (6 + 4) × 3 pages.
        #expect(calls == 30)

        struct Stop: Error {}
        var left = 7
        let stopped = try ParquetWriter(path: dir.path("stopped.parquet"), columns: columns.map(\.spec), rowGroupRows: 600, pageRows: 100)
        stopped.checkpoint = {
            left -= 1
            if left == 0 { throw Stop() }
        }
        #expect(throws: ExportError(.interrupted, path: dir.path("stopped.parquet"), reason: "Stop()")) {
            try stopped.write(columns)
            try stopped.close()
        }
        #expect(left == 0)
    }
}
