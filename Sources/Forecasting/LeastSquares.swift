/// Least squares with an intercept on k regressors, from running sums, solved
/// by Cholesky on the standardized normal equations.
///
/// Samples are added one at a time (O(k²) each, no allocation); `solve` is
/// O(k³) and allocation-free. The fit is
/// `ŷ = ȳ + Σ w_j (x_j − x̄_j)`, where β = w·s minimizes
/// `Σ (y − ȳ − zᵀβ)² + λ‖β‖²` over standardized regressors `z_j = (x_j − x̄_j)/s_j`
/// (population standard deviations over the training samples). λ is on the
/// sum-of-squares scale, as scikit-learn's `Ridge` on standardized features.
/// A regressor that is constant over the training samples gets w = 0. A tiny
/// jitter (1e-10 · n) on the diagonal keeps collinear regressors solvable.
///
/// To limit cancellation in `Σ x²`, sums are kept of `x − shift`, where
/// `shift` is the first sample ever added.
final class LeastSquares {
    let k: Int
    private(set) var count = 0
    private var hasShift = false
    private let shift: UnsafeMutablePointer<Double>
    private let sx: UnsafeMutablePointer<Double>
    private let sxx: UnsafeMutablePointer<Double>  // k×k, row-major, upper triangle
    private let sxy: UnsafeMutablePointer<Double>
    private var sy = 0.0
    // Solver scratch.
    private let a: UnsafeMutablePointer<Double>
    private let b: UnsafeMutablePointer<Double>
    private let scale: UnsafeMutablePointer<Double>
    // The committed fit (replaced only by a successful solve).
    private(set) var hasFit = false
    let weights: UnsafeMutablePointer<Double>
    let xMean: UnsafeMutablePointer<Double>
    private(set) var yMean = 0.0

    init(k: Int) {
        precondition(k >= 1)
        self.k = k
        func zeros(_ count: Int) -> UnsafeMutablePointer<Double> {
            let p = UnsafeMutablePointer<Double>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            return p
        }
        shift = zeros(k); sx = zeros(k); sxx = zeros(k * k); sxy = zeros(k)
        a = zeros(k * k); b = zeros(k); scale = zeros(k)
        weights = zeros(k); xMean = zeros(k)
    }

    deinit {
        for p in [shift, sx, sxx, sxy, a, b, scale, weights, xMean] { p.deallocate() }
    }

    /// The constant of the fit in raw units: `ȳ − Σ w_j x̄_j`.
    var intercept: Double {
        var c = yMean
        for j in 0..<k { c -= weights[j] * xMean[j] }
        return c
    }

    /// Forgets the samples (keeps the committed fit and the shift).
    func reset() {
        count = 0
        sy = 0
        sx.update(repeating: 0, count: k)
        sxx.update(repeating: 0, count: k * k)
        sxy.update(repeating: 0, count: k)
    }

    /// Adds one sample; `x` points at k finite values, `y` is finite.
    @inline(__always)
    func add(_ x: UnsafePointer<Double>, _ y: Double) {
        if !hasShift {
            shift.update(from: x, count: k)
            hasShift = true
        }
        count += 1
        sy += y
        for i in 0..<k {
            let di = x[i] - shift[i]
            sx[i] += di
            sxy[i] += di * y
            let row = sxx + i * k
            for j in i..<k { row[j] += di * (x[j] - shift[j]) }
        }
    }

    /// Solves the normal equations with penalty `lambda`; on success the fit
    /// (`weights`, `xMean`, `yMean`) is replaced, otherwise it is kept.
    /// - Returns: whether a finite solution was found (needs ≥ 2 samples).
    func solve(lambda: Double) -> Bool {
        guard count >= 2 else { return false }
        let n = Double(count)
        let jitter = 1e-10 * n
        // Centered sums of squares and cross-products, then standardized.
        for i in 0..<k {
            let aii = sxx[i * k + i] - sx[i] * sx[i] / n
            let active = sxx[i * k + i] > 0 && aii > 1e-12 * sxx[i * k + i]
            scale[i] = active ? (aii / n).squareRoot() : 0
        }
        for i in 0..<k {
            let si = scale[i]
            if si == 0 {
                for j in 0..<k { a[i * k + j] = 0; a[j * k + i] = 0 }
                a[i * k + i] = 1
                b[i] = 0
                continue
            }
            b[i] = (sxy[i] - sx[i] * sy / n) / si
            for j in i..<k {
                let sj = scale[j]
                let v = sj == 0 ? 0 : (sxx[i * k + j] - sx[i] * sx[j] / n) / (si * sj)
                a[i * k + j] = v
                a[j * k + i] = v
            }
            a[i * k + i] += lambda + jitter
        }
        guard Self.choleskySolve(a, b, k) else { return false }
        for j in 0..<k where !b[j].isFinite { return false }
        for j in 0..<k {
            weights[j] = scale[j] == 0 ? 0 : b[j] / scale[j]
            xMean[j] = shift[j] + sx[j] / n
        }
        yMean = sy / n
        hasFit = true
        return true
    }

    /// The committed fit at `x` (k values).
    @inline(__always)
    func predict(_ x: UnsafePointer<Double>) -> Double {
        var p = yMean
        for j in 0..<k { p += weights[j] * (x[j] - xMean[j]) }
        return p
    }

    /// Solves `A z = b` in place (z into `b`) for symmetric positive definite
    /// A (k×k, row-major; its lower triangle is overwritten by L, A = LLᵀ).
    /// - Returns: false when A is not positive definite.
    static func choleskySolve(_ a: UnsafeMutablePointer<Double>, _ b: UnsafeMutablePointer<Double>, _ k: Int) -> Bool {
        for j in 0..<k {
            var d = a[j * k + j]
            for m in 0..<j { d -= a[j * k + m] * a[j * k + m] }
            guard d > 0, d.isFinite else { return false }
            let ljj = d.squareRoot()
            a[j * k + j] = ljj
            for i in (j + 1)..<k {
                var s = a[i * k + j]
                for m in 0..<j { s -= a[i * k + m] * a[j * k + m] }
                a[i * k + j] = s / ljj
            }
        }
        for i in 0..<k {  // L u = b
            var s = b[i]
            for m in 0..<i { s -= a[i * k + m] * b[m] }
            b[i] = s / a[i * k + i]
        }
        for i in stride(from: k - 1, through: 0, by: -1) {  // Lᵀ z = u
            var s = b[i]
            for m in (i + 1)..<k { s -= a[m * k + i] * b[m] }
            b[i] = s / a[i * k + i]
        }
        return true
    }
}
