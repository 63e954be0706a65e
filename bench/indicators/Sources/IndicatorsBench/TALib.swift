// TA-Lib's C library, loaded with dlopen from the `ta-lib` wheel, called the
// way the Python wrapper calls it (talib/_func.pxi): a fresh output array per
// call, allocated like numpy allocates it, its lookback prefix filled with
// NaN (0 for the pattern scores), then TA_<NAME>(0, n−1, …) writing past the
// lookback. The only thing left out is the interpreter (a few µs per call,
// measured by talib_bench.py).
import Foundation

/// The C functions used by the benchmark, resolved from one shared library.
struct TALib {
    typealias Real1 =
        @convention(c) (
            Int32, Int32, UnsafePointer<Double>?, Int32,
            UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Double>?
        ) -> Int32
    typealias MACDFn =
        @convention(c) (
            Int32, Int32, UnsafePointer<Double>?, Int32, Int32, Int32,
            UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?,
            UnsafeMutablePointer<Double>?, UnsafeMutablePointer<Double>?, UnsafeMutablePointer<Double>?
        ) -> Int32
    typealias BBandsFn =
        @convention(c) (
            Int32, Int32, UnsafePointer<Double>?, Int32, Double, Double, Int32,
            UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?,
            UnsafeMutablePointer<Double>?, UnsafeMutablePointer<Double>?, UnsafeMutablePointer<Double>?
        ) -> Int32
    typealias HLC1 =
        @convention(c) (
            Int32, Int32, UnsafePointer<Double>?, UnsafePointer<Double>?, UnsafePointer<Double>?, Int32,
            UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Double>?
        ) -> Int32
    typealias StochFn =
        @convention(c) (
            Int32, Int32, UnsafePointer<Double>?, UnsafePointer<Double>?, UnsafePointer<Double>?,
            Int32, Int32, Int32, Int32, Int32,
            UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?,
            UnsafeMutablePointer<Double>?, UnsafeMutablePointer<Double>?
        ) -> Int32
    typealias CDLFn =
        @convention(c) (
            Int32, Int32, UnsafePointer<Double>?, UnsafePointer<Double>?, UnsafePointer<Double>?, UnsafePointer<Double>?,
            UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?
        ) -> Int32

    let sma: Real1, ema: Real1, rsi: Real1
    let macd: MACDFn
    let bbands: BBandsFn
    let atr: HLC1, adx: HLC1
    let stoch: StochFn
    let cdl: [String: CDLFn]

    init?(path: String) {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else { return nil }
        func sym<T>(_ name: String, _: T.Type) -> T? {
            guard let p = dlsym(handle, name) else { return nil }
            return unsafeBitCast(p, to: T.self)
        }
        typealias Initialize = @convention(c) () -> Int32
        guard let initialize = sym("TA_Initialize", Initialize.self), initialize() == 0,
            let sma = sym("TA_SMA", Real1.self), let ema = sym("TA_EMA", Real1.self),
            let rsi = sym("TA_RSI", Real1.self), let macd = sym("TA_MACD", MACDFn.self),
            let bbands = sym("TA_BBANDS", BBandsFn.self), let atr = sym("TA_ATR", HLC1.self),
            let adx = sym("TA_ADX", HLC1.self), let stoch = sym("TA_STOCH", StochFn.self)
        else { return nil }
        var cdl: [String: CDLFn] = [:]
        for name in [
            "CDLHAMMER", "CDLSHOOTINGSTAR", "CDLENGULFING", "CDLDOJI", "CDLDRAGONFLYDOJI",
            "CDLGRAVESTONEDOJI", "CDL3WHITESOLDIERS", "CDL3BLACKCROWS",
        ] {
            guard let f = sym("TA_" + name, CDLFn.self) else { return nil }
            cdl[name] = f
        }
        (self.sma, self.ema, self.rsi, self.macd, self.bbands) = (sma, ema, rsi, macd, bbands)
        (self.atr, self.adx, self.stoch, self.cdl) = (atr, adx, stoch, cdl)
    }
}

/// An output array as numpy allocates one (`PyArray_EMPTY` → `malloc`, then
/// `madvise(MADV_HUGEPAGE)` from the next 4 KiB boundary to the end when it
/// is ≥ 4 MiB, numpy/_core/src/multiarray/alloc.c), with the wrapper's fill
/// of the lookback prefix. Freed by `release`.
struct NumpyArray<T> {
    let base: UnsafeMutablePointer<T>
    let count: Int

    init(count: Int, lookback: Int, fill: T) {
        let bytes = count * MemoryLayout<T>.stride
        let raw = malloc(bytes)!
        #if os(Linux)
        if bytes >= 1 << 22 {
            let offset = 4096 - Int(bitPattern: raw) % 4096
            _ = madvise(raw + offset, bytes - offset, MADV_HUGEPAGE)
        }
        #endif
        base = raw.bindMemory(to: T.self, capacity: count)
        self.count = count
        var i = 0
        while i < Swift.min(lookback, count) { base[i] = fill; i += 1 }
    }

    /// The element written last (to keep the work observable), then free.
    func release() -> T {
        let last = base[count - 1]
        free(base)
        return last
    }
}

/// One call of each benchmarked TA-Lib function on the given columns,
/// returning its last value (a fresh output array per call, as in Python).
struct TALibCases {
    let lib: TALib
    let o: UnsafePointer<Double>, h: UnsafePointer<Double>, l: UnsafePointer<Double>, c: UnsafePointer<Double>
    let n: Int

    private var end: Int32 { Int32(n - 1) }

    func real1(_ f: TALib.Real1, period: Int32, lookback: Int) -> Double {
        let out = NumpyArray<Double>(count: n, lookback: lookback, fill: .nan)
        var beg: Int32 = 0, nb: Int32 = 0
        precondition(f(0, end, c, period, &beg, &nb, out.base + lookback) == 0)
        return out.release()
    }

    func macd(lookback: Int) -> Double {
        let a = NumpyArray<Double>(count: n, lookback: lookback, fill: .nan)
        let b = NumpyArray<Double>(count: n, lookback: lookback, fill: .nan)
        let d = NumpyArray<Double>(count: n, lookback: lookback, fill: .nan)
        var beg: Int32 = 0, nb: Int32 = 0
        precondition(lib.macd(0, end, c, 12, 26, 9, &beg, &nb, a.base + lookback, b.base + lookback, d.base + lookback) == 0)
        return a.release() + b.release() + d.release()
    }

    func bbands(lookback: Int) -> Double {
        let a = NumpyArray<Double>(count: n, lookback: lookback, fill: .nan)
        let b = NumpyArray<Double>(count: n, lookback: lookback, fill: .nan)
        let d = NumpyArray<Double>(count: n, lookback: lookback, fill: .nan)
        var beg: Int32 = 0, nb: Int32 = 0
        precondition(lib.bbands(0, end, c, 20, 2.0, 2.0, 0, &beg, &nb, a.base + lookback, b.base + lookback, d.base + lookback) == 0)
        return a.release() + b.release() + d.release()
    }

    func hlc(_ f: TALib.HLC1, period: Int32, lookback: Int) -> Double {
        let out = NumpyArray<Double>(count: n, lookback: lookback, fill: .nan)
        var beg: Int32 = 0, nb: Int32 = 0
        precondition(f(0, end, h, l, c, period, &beg, &nb, out.base + lookback) == 0)
        return out.release()
    }

    func stoch(lookback: Int) -> Double {
        let k = NumpyArray<Double>(count: n, lookback: lookback, fill: .nan)
        let d = NumpyArray<Double>(count: n, lookback: lookback, fill: .nan)
        var beg: Int32 = 0, nb: Int32 = 0
        precondition(lib.stoch(0, end, h, l, c, 14, 3, 0, 3, 0, &beg, &nb, k.base + lookback, d.base + lookback) == 0)
        return k.release() + d.release()
    }

    func pattern(_ name: String, lookback: Int) -> Double {
        let out = NumpyArray<Int32>(count: n, lookback: lookback, fill: 0)
        var beg: Int32 = 0, nb: Int32 = 0
        precondition(lib.cdl[name]!(0, end, o, h, l, c, &beg, &nb, out.base + lookback) == 0)
        return Double(out.release())
    }

    /// Full outputs, for the correctness check (not timed).
    func real1Series(_ f: TALib.Real1, period: Int32, lookback: Int) -> [Double] {
        var out = [Double](repeating: .nan, count: n)
        var beg: Int32 = 0, nb: Int32 = 0
        out.withUnsafeMutableBufferPointer { precondition(f(0, end, c, period, &beg, &nb, $0.baseAddress! + lookback) == 0) }
        return out
    }

    func macdSeries(lookback: Int) -> [[Double]] {
        var a = [Double](repeating: .nan, count: n), b = a, d = a
        var beg: Int32 = 0, nb: Int32 = 0
        a.withUnsafeMutableBufferPointer { a in
            b.withUnsafeMutableBufferPointer { b in
                d.withUnsafeMutableBufferPointer { d in
                    precondition(
                        lib.macd(
                            0, end, c, 12, 26, 9, &beg, &nb, a.baseAddress! + lookback,
                            b.baseAddress! + lookback, d.baseAddress! + lookback) == 0)
                }
            }
        }
        return [a, b, d]
    }

    func bbandsSeries(lookback: Int) -> [[Double]] {
        var a = [Double](repeating: .nan, count: n), b = a, d = a
        var beg: Int32 = 0, nb: Int32 = 0
        a.withUnsafeMutableBufferPointer { a in
            b.withUnsafeMutableBufferPointer { b in
                d.withUnsafeMutableBufferPointer { d in
                    precondition(
                        lib.bbands(
                            0, end, c, 20, 2.0, 2.0, 0, &beg, &nb, a.baseAddress! + lookback,
                            b.baseAddress! + lookback, d.baseAddress! + lookback) == 0)
                }
            }
        }
        return [a, b, d]
    }

    func hlcSeries(_ f: TALib.HLC1, period: Int32, lookback: Int) -> [Double] {
        var out = [Double](repeating: .nan, count: n)
        var beg: Int32 = 0, nb: Int32 = 0
        out.withUnsafeMutableBufferPointer { precondition(f(0, end, h, l, c, period, &beg, &nb, $0.baseAddress! + lookback) == 0) }
        return out
    }

    func stochSeries(lookback: Int) -> [[Double]] {
        var k = [Double](repeating: .nan, count: n), d = k
        var beg: Int32 = 0, nb: Int32 = 0
        k.withUnsafeMutableBufferPointer { k in
            d.withUnsafeMutableBufferPointer { d in
                precondition(
                    lib.stoch(
                        0, end, h, l, c, 14, 3, 0, 3, 0, &beg, &nb,
                        k.baseAddress! + lookback, d.baseAddress! + lookback) == 0)
            }
        }
        return [k, d]
    }

    func patternSeries(_ name: String, lookback: Int) -> [Int32] {
        var out = [Int32](repeating: 0, count: n)
        var beg: Int32 = 0, nb: Int32 = 0
        out.withUnsafeMutableBufferPointer { precondition(lib.cdl[name]!(0, end, o, h, l, c, &beg, &nb, $0.baseAddress! + lookback) == 0) }
        return out
    }
}
