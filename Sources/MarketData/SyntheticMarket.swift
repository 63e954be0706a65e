#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Deterministic synthetic OHLCV bars for several correlated symbols: sample
/// data for demos, tests and benchmarks.
///
/// The model, per bar:
/// - **Returns** follow geometric Brownian motion with no drift. Each symbol's
///   shock is a common market shock with weight `√ρ` (negated for `USDxxx`
///   pairs, so they move against `xxxUSD` ones) plus its own with weight
///   `√(1-ρ)`, so returns of two symbols correlate about `±ρ`. Rare jumps (four
///   times the usual size) give fat tails.
/// - **Volatility regimes** (calm × 0.6, normal × 1, turbulent × 2.2), shared by
///   all symbols, switch as a Markov chain lasting about three days on average.
/// - **Intraday seasonality** (UTC): quiet in Asia, peaks at the London open
///   and the London/New York overlap, quiet on weekends. It scales both the
///   volatility (by its square root) and the volume.
/// - **High and low** extend beyond the body by half-normal excursions; prices
///   are rounded to 5 decimals (3 above 10, 2 above 1,000), volumes to integers,
///   and every bar satisfies `low ≤ min(open, close) ≤ max(open, close) ≤ high`.
/// - **Edge** (optional, `edge = k > 0`): each symbol carries a hidden,
///   persistent trend `m` (AR(1) with coefficient 0.98 and unit variance, a
///   half-life of about 34 bars), and its shock becomes `z + k·m`: a drift of
///   `k·m` bar volatilities that a trend-following forecast can pick up. With
///   `edge = 0` (the default) no extra random numbers are drawn and the bars
///   are the plain random walks.
/// - **Sentiment** (optional): a slowly mean-reverting score in [-1, 1] that
///   follows recent returns with noise, rounded to 4 decimals.
///
/// The output depends only on the configuration: the same seed gives the same
/// bars, whatever the chunk sizes used to draw them.
public struct SyntheticMarket: Sendable {
    /// What to generate.
    public struct Configuration: Sendable, Equatable {
        /// The symbols, such as `EURUSD`; known FX pairs start at realistic prices.
        public var symbols: [String]
        /// The bar timeframe; default 1m.
        public var timeframe: Timeframe
        /// The first bar's open time, µs since the epoch, UTC; default 2024-01-01T00:00:00Z.
        public var start: Int64
        /// The number of bars per symbol.
        public var bars: Int
        /// The random seed; default 42.
        public var seed: UInt64
        /// The return correlation between symbols, 0 ≤ ρ < 1; default 0.6.
        public var correlation: Double
        /// Whether to add a `sentiment` column; default `false`.
        public var sentiment: Bool
        /// The planted edge's strength `k` in [0, 1] (0: random walks); default 0.
        public var edge: Double

        /// 2024-01-01T00:00:00Z in µs.
        public static let defaultStart = UTCTime.daysFromCivil(year: 2024, month: 1, day: 1) * UTCTime.dayMicros

        /// Creates a configuration.
        /// - Parameters:
        ///   - symbols: the symbols (distinct).
        ///   - timeframe: the bar timeframe; default `.m1`.
        ///   - start: the first open time (µs, UTC); default 2024-01-01T00:00:00Z.
        ///   - bars: bars per symbol.
        ///   - seed: the random seed; default 42.
        ///   - correlation: the return correlation; default 0.6.
        ///   - sentiment: whether to add a `sentiment` column; default `false`.
        public init(
            symbols: [String], timeframe: Timeframe = .m1, start: Int64 = Configuration.defaultStart, bars: Int,
            seed: UInt64 = 42, correlation: Double = 0.6, sentiment: Bool = false, edge: Double = 0
        ) {
            self.edge = edge
            self.symbols = symbols
            self.timeframe = timeframe
            self.start = start
            self.bars = bars
            self.seed = seed
            self.correlation = correlation
            self.sentiment = sentiment
        }

        /// The number of bars that cover `days` days at `timeframe` (at least 1).
        public static func bars(days: Int, timeframe: Timeframe) -> Int {
            max(1, Int(Int64(days) * UTCTime.dayMicros / timeframe.nominalDurationMicros))
        }
    }

    /// One written file.
    public struct FileSummary: Sendable, Equatable {
        /// The symbol.
        public var symbol: String
        /// The file's path.
        public var path: String
        /// Data rows written (the header not counted).
        public var rows: Int
        /// The file size in bytes.
        public var bytes: Int64
    }

    private struct Instrument: Sendable {
        var symbol: String
        var price: Double  // unrounded close of the last bar
        var loading: Double  // +1 or -1 on the market shock
        var annualVol: Double
        var decimals: Int
        var sentiment: Double = 0
        var trend: Double = 0  // the planted edge's hidden trend state
    }

    /// The configuration being generated.
    public let configuration: Configuration
    private var rng: Xoshiro256
    private var instruments: [Instrument]
    private var regime = 1  // 0 calm, 1 normal, 2 turbulent
    private var produced = 0
    private let seasonality: [Double]  // per minute of the day, mean 1
    private let barScale: Double  // sqrt of the bar's share of a year
    private let switchProbability: Double

    private static let regimeVolatility = [0.6, 1.0, 2.2]
    private static let regimeVolume = [0.7, 1.0, 1.8]

    /// Starts a generator.
    /// - Parameter configuration: what to generate.
    public init(_ configuration: Configuration) {
        precondition(configuration.bars >= 0 && configuration.correlation >= 0 && configuration.correlation < 1)
        precondition(configuration.edge >= 0 && configuration.edge <= 1)
        self.configuration = configuration
        rng = Xoshiro256(seed: configuration.seed)
        instruments = configuration.symbols.map(Self.instrument)
        let minutes = Double(configuration.timeframe.nominalDurationMicros / Timeframe.minuteMicros)
        barScale = (minutes / (365 * 1440)).squareRoot()
        switchProbability = min(0.5, minutes / (3 * 1440))
        var table = (0..<1440).map { m -> Double in
            let h = Double(m) / 60
            @inline(__always) func bump(_ center: Double, _ width: Double) -> Double {
                let d = min(abs(h - center), 24 - abs(h - center))
                return exp(-(d / width) * (d / width))
            }
            return 0.3 + 0.25 * bump(1, 2) + 0.9 * bump(8, 1.8) + 1.4 * bump(14.5, 2.2)
        }
        let mean = table.reduce(0, +) / Double(table.count)
        for i in table.indices { table[i] /= mean }
        seasonality = table
    }

    /// Whether every bar has been drawn.
    public var isFinished: Bool { produced >= configuration.bars }

    /// Draws the next bars, the same count for every symbol.
    /// - Parameter maxBars: the most bars per symbol; default 65,536.
    /// - Returns: one series per symbol (in configuration order), or `nil` when all bars are drawn.
    public mutating func next(maxBars: Int = 1 << 16) -> [OHLCVSeries]? {
        precondition(maxBars > 0)
        let n = min(maxBars, configuration.bars - produced)
        if n <= 0 { return nil }
        let k = instruments.count
        let timeframe = configuration.timeframe
        var times = [Int64](repeating: 0, count: n)
        var cols = [[Double]](repeating: [Double](repeating: 0, count: n), count: k * 6)  // o h l c v s per symbol
        let rho = configuration.correlation
        let common = rho.squareRoot()
        let own = (1 - rho).squareRoot()
        var shocks = [Double](repeating: 0, count: k)
        for i in 0..<n {
            let t =
                timeframe.isCalendar
                ? timeframe.openTime(configuration.start, advancedBy: Int64(produced + i))
                : configuration.start + Int64(produced + i) * timeframe.nominalDurationMicros
            times[i] = t
            // Regime switch (shared).
            if rng.uniform() < switchProbability {
                switch regime {
                case 0: regime = 1
                case 2: regime = 1
                default: regime = rng.uniform() < 0.7 ? 0 : 2
                }
            }
            let season = seasonality(at: t)
            let volFactor = Self.regimeVolatility[regime] * season.squareRoot() * barScale
            let jump = rng.uniform() < 0.0005 ? 4.0 : 1.0
            let market = rng.normal()
            for s in 0..<k { shocks[s] = common * instruments[s].loading * market + own * rng.normal() }
            if configuration.edge > 0 {
                for s in 0..<k {
                    instruments[s].trend = 0.98 * instruments[s].trend + 0.198_997_487_421_324 * rng.normal()
                    shocks[s] += configuration.edge * instruments[s].trend
                }
            }
            for s in 0..<k {
                let sigma = instruments[s].annualVol * volFactor
                let z = shocks[s] * jump
                let open = instruments[s].price
                let close = open * exp(sigma * z - 0.5 * sigma * sigma)
                let high = max(open, close) * exp(0.5 * sigma * abs(rng.normal()))
                let low = min(open, close) * exp(-0.5 * sigma * abs(rng.normal()))
                instruments[s].price = close
                let d = instruments[s].decimals
                let o = Self.round(open, d), c = Self.round(close, d)
                let h = max(Self.round(high, d), o, c), l = min(Self.round(low, d), o, c)
                let base = 100 * Double(timeframe.nominalDurationMicros / Timeframe.minuteMicros)
                let volume = max(
                    1,
                    (base * season * Self.regimeVolume[regime] * (1 + 0.3 * abs(z)) * exp(0.4 * rng.normal() - 0.08))
                        .rounded())
                var sentiment = instruments[s].sentiment
                sentiment = 0.995 * sentiment + 0.05 * tanh(z) + 0.02 * rng.normal()
                sentiment = min(1, max(-1, sentiment))
                instruments[s].sentiment = sentiment
                cols[s * 6][i] = o
                cols[s * 6 + 1][i] = h
                cols[s * 6 + 2][i] = l
                cols[s * 6 + 3][i] = c
                cols[s * 6 + 4][i] = volume
                cols[s * 6 + 5][i] = (sentiment * 10_000).rounded() / 10_000
            }
        }
        produced += n
        return (0..<k).map { s in
            OHLCVSeries(
                symbol: instruments[s].symbol, timeframe: configuration.timeframe, timestamps: times,
                open: cols[s * 6], high: cols[s * 6 + 1], low: cols[s * 6 + 2], close: cols[s * 6 + 3],
                volume: cols[s * 6 + 4],
                extras: configuration.sentiment ? [NamedColumn(name: "sentiment", values: cols[s * 6 + 5])] : [])
        }
    }

    /// Generates every bar and writes one CSV file per symbol,
    /// `<directory>/<SYMBOL>_<timeframe>.csv` (`.csv.gz` with `gzip`), with the
    /// header `timestamp,open,high,low,close,volume[,sentiment]` and ISO-8601 UTC
    /// timestamps. Numbers are formatted straight into a byte buffer.
    /// - Parameters:
    ///   - configuration: what to generate.
    ///   - directory: an existing folder.
    ///   - gzip: whether to gzip the files; default `false`.
    ///   - progress: called after each chunk with the bars written per symbol so far.
    /// - Returns: one summary per symbol.
    /// - Throws: ``MarketDataError`` (`.io`, `.compression`).
    public static func writeCSV(
        _ configuration: Configuration, to directory: String, gzip: Bool = false, progress: (Int) -> Void = { _ in }
    ) throws(MarketDataError) -> [FileSummary] {
        var market = SyntheticMarket(configuration)
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var files: [SyntheticCSVFile] = []
        for symbol in configuration.symbols {
            let path = "\(dir)/\(symbol)_\(configuration.timeframe.rawValue).csv" + (gzip ? ".gz" : "")
            files.append(try SyntheticCSVFile(path: path, gzip: gzip))
        }
        let header = "timestamp,open,high,low,close,volume" + (configuration.sentiment ? ",sentiment" : "") + "\n"
        for f in files { try f.put(header) }
        var written = 0
        while let chunk = market.next() {
            for (s, series) in chunk.enumerated() {
                try files[s].put(series, decimals: market.instruments[s].decimals)
            }
            written += chunk.first?.count ?? 0
            progress(written)
        }
        var out: [FileSummary] = []
        for (s, f) in files.enumerated() {
            let bytes = try f.close()
            out.append(FileSummary(symbol: configuration.symbols[s], path: f.path, rows: written, bytes: bytes))
        }
        return out
    }

    // MARK: - Model pieces

    @inline(__always)
    private func seasonality(at t: Int64) -> Double {
        var days = t / UTCTime.dayMicros
        var rest = t % UTCTime.dayMicros
        if rest < 0 { rest += UTCTime.dayMicros; days -= 1 }
        let minute = Int(rest / Timeframe.minuteMicros)
        // 1970-01-01 was a Thursday: weekday 0 = Monday.
        let weekday = ((days + 3) % 7 + 7) % 7
        return seasonality[minute] * (weekday >= 5 ? 0.15 : 1)
    }

    @inline(__always)
    private static func round(_ v: Double, _ decimals: Int) -> Double {
        let scale = powersOfTen[decimals]
        return (v * scale).rounded() / scale
    }

    static let powersOfTen: [Double] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]

    private static func instrument(_ symbol: String) -> Instrument {
        let known: [String: (Double, Double)] = [
            "EURUSD": (1.0850, 0.07), "GBPUSD": (1.2650, 0.08), "USDJPY": (148.50, 0.09), "AUDUSD": (0.6600, 0.10),
            "USDCHF": (0.8800, 0.08), "USDCAD": (1.3500, 0.07), "NZDUSD": (0.6100, 0.10), "EURGBP": (0.8600, 0.05),
            "EURJPY": (160.50, 0.09), "XAUUSD": (2050.0, 0.15), "BTCUSD": (42_000, 0.60),
        ]
        let upper = symbol.uppercased()
        var price: Double
        var vol: Double
        if let (p, v) = known[upper] {
            (price, vol) = (p, v)
        } else {
            // FNV-1a of the name: a stable start price between 10 and 110.
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in upper.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            price = 10 + Double(h % 10_000) / 100
            vol = 0.2
        }
        let loading: Double = upper.count == 6 && upper.hasPrefix("USD") ? -1 : 1
        let decimals = price < 10 ? 5 : price < 1_000 ? 3 : 2
        return Instrument(symbol: symbol, price: price, loading: loading, annualVol: vol, decimals: decimals)
    }
}

/// xoshiro256** seeded through SplitMix64, with a Box–Muller normal.
private struct Xoshiro256: Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spare: Double? = nil

    init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9e37_79b9_7f4a_7c15
            var z = x
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    @inline(__always)
    mutating func nextUInt64() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    @inline(__always)
    mutating func uniform() -> Double { Double(nextUInt64() >> 11) * 0x1.0p-53 }

    /// Standard normal.
    @inline(__always)
    mutating func normal() -> Double {
        if let z = spare { spare = nil; return z }
        let u1 = max(uniform(), 0x1.0p-60)
        let u2 = uniform()
        let r = (-2 * log(u1)).squareRoot()
        let a = 2 * Double.pi * u2
        spare = r * sin(a)
        return r * cos(a)
    }
}

/// `close(2)` under a name that the writer's own `close()` does not shadow.
private func closeFileDescriptor(_ fd: Int32) -> Int32 { close(fd) }

/// One output file of ``SyntheticMarket/writeCSV(_:to:gzip:progress:)``: a
/// byte buffer that rows are formatted into, flushed with `write(2)` (through
/// gzip when asked).
private final class SyntheticCSVFile {
    let path: String
    private var fd: Int32
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 1 << 20
    private var used = 0
    private let gzip: GzipWriter?
    private var written: Int64 = 0

    init(path: String, gzip: Bool) throws(MarketDataError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw MarketDataError(.io, file: path, reason: "cannot create: " + String(cString: strerror(errno))) }
        buffer = .allocate(capacity: capacity)
        do { self.gzip = gzip ? try GzipWriter() : nil } catch {
            _ = closeFileDescriptor(fd)
            buffer.deallocate()
            throw error
        }
    }

    deinit {
        if fd >= 0 { _ = closeFileDescriptor(fd) }
        buffer.deallocate()
    }

    func put(_ text: String) throws(MarketDataError) {
        for b in text.utf8 {
            if used == capacity { try flush(finish: false) }
            buffer[used] = b
            used += 1
        }
    }

    /// Formats every row of `series` (the whole chunk) into the buffer.
    func put(_ series: OHLCVSeries, decimals: Int) throws(MarketDataError) {
        let sentiment = series.extras.first?.values
        let maxRow = 20 + 5 * 24 + 12 + 2
        for i in 0..<series.count {
            if capacity - used < maxRow { try flush(finish: false) }
            var p = buffer + used
            p += UTCTime.formatISO8601(series.timestamps[i], into: p)
            p = Self.fixed(series.open[i], decimals, comma: p)
            p = Self.fixed(series.high[i], decimals, comma: p)
            p = Self.fixed(series.low[i], decimals, comma: p)
            p = Self.fixed(series.close[i], decimals, comma: p)
            p = Self.fixed(series.volume[i], 0, comma: p)
            if let sentiment { p = Self.fixed(sentiment[i], 4, comma: p) }
            p[0] = 10
            p += 1
            used = p - buffer
        }
    }

    /// Writes `,` then `v` with `decimals` digits after the point; returns the end.
    @inline(__always)
    private static func fixed(_ v: Double, _ decimals: Int, comma p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var p = p
        p[0] = 44
        p += 1
        var scaled = Int64((v * SyntheticMarket.powersOfTen[decimals]).rounded())
        if scaled < 0 {
            p[0] = 45
            p += 1
            scaled = -scaled
        }
        var divisor: Int64 = 1
        for _ in 0..<decimals { divisor *= 10 }
        let whole = scaled / divisor
        var fraction = scaled % divisor
        var digits = 1
        var w = whole
        while w >= 10 { w /= 10; digits += 1 }
        w = whole
        for j in stride(from: digits - 1, through: 0, by: -1) {
            p[j] = UInt8(48 + w % 10)
            w /= 10
        }
        p += digits
        if decimals > 0 {
            p[0] = 46
            for j in stride(from: decimals, through: 1, by: -1) {
                p[j] = UInt8(48 + fraction % 10)
                fraction /= 10
            }
            p += decimals + 1
        }
        return p
    }

    private func flush(finish: Bool) throws(MarketDataError) {
        let bytes = UnsafeRawBufferPointer(start: buffer, count: used)
        if let gzip {
            try gzip.write(bytes, finish: finish) { (out: UnsafeRawBufferPointer) throws(MarketDataError) in try self.writeAll(out) }
        } else {
            try writeAll(bytes)
        }
        used = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(MarketDataError) {
        if let failure = posixWriteAll(fd, bytes) { throw MarketDataError(.io, file: path, reason: failure) }
        written += Int64(bytes.count)
    }

    /// Flushes, ends the gzip stream, closes; returns the file size.
    func close() throws(MarketDataError) -> Int64 {
        try flush(finish: true)
        let fd = self.fd
        self.fd = -1
        if closeFileDescriptor(fd) != 0 {
            throw MarketDataError(.io, file: path, reason: "close failed: " + String(cString: strerror(errno)))
        }
        return written
    }
}
