/// Standard feature column names (`sma_20`, `rsi_14`, `macd_hist`, …).
///
/// One function, ``standardize(_:)``, turns any spelling into the standard
/// lowercase_underscore form; ``standardize(_:)-(_:[String])`` does it for a
/// whole table and refuses two columns that collapse to the same name.
public enum FeatureName {
    /// Standardizes one name: lowercase ASCII letters and digits, every other
    /// run of characters (spaces, dashes, dots, camel-case boundaries) becomes
    /// one `_`, with no leading or trailing `_`.
    ///
    /// `"SMA_20"`, `"sma-20"`, `"Sma 20"` → `"sma_20"`; `"macdHist"` → `"macd_hist"`;
    /// `"BB.Upper(20)"` → `"bb_upper_20"`.
    ///
    /// - Parameter raw: any column name.
    /// - Returns: the standard form (possibly empty when `raw` has no letter or digit).
    public static func standardize(_ raw: String) -> String {
        var out = ""
        out.reserveCapacity(raw.utf8.count + 4)
        var pendingSeparator = false
        var previousWasLower = false
        for scalar in raw.unicodeScalars {
            let v = scalar.value
            let isUpper = v >= 65 && v <= 90
            let isLower = v >= 97 && v <= 122
            let isDigit = v >= 48 && v <= 57
            if isUpper || isLower || isDigit {
                if isUpper && previousWasLower { pendingSeparator = true }
                if pendingSeparator && !out.isEmpty { out.append("_") }
                pendingSeparator = false
                out.unicodeScalars.append(isUpper ? Unicode.Scalar(v + 32)! : scalar)
                previousWasLower = isLower || isDigit
            } else {
                pendingSeparator = true
                previousWasLower = false
            }
        }
        return out
    }

    /// Standardizes every name of a table.
    ///
    /// - Parameter names: the column names, in order.
    /// - Returns: the standardized names, in the same order.
    /// - Throws: ``FeatureNameClash`` naming the first two originals that
    ///   standardize to the same name (`SMA_20` next to `sma_20`).
    public static func standardize(_ names: [String]) throws(FeatureNameClash) -> [String] {
        var seen: [String: String] = [:]
        seen.reserveCapacity(names.count)
        var result: [String] = []
        result.reserveCapacity(names.count)
        for name in names {
            let standard = standardize(name)
            if let first = seen[standard] {
                throw FeatureNameClash(first: first, second: name, standardized: standard)
            }
            seen[standard] = name
            result.append(standard)
        }
        return result
    }

    /// `sma_<period>`.
    public static func sma(_ period: Int) -> String { "sma_\(period)" }
    /// `ema_<period>`.
    public static func ema(_ period: Int) -> String { "ema_\(period)" }
    /// `rsi_<period>`.
    public static func rsi(_ period: Int) -> String { "rsi_\(period)" }
    /// `atr_<period>`.
    public static func atr(_ period: Int) -> String { "atr_\(period)" }
    /// `adx_<period>`.
    public static func adx(_ period: Int) -> String { "adx_\(period)" }
    /// `bb_upper_<period>`, `bb_middle_<period>`, `bb_lower_<period>`.
    public static func bollinger(_ period: Int) -> (upper: String, middle: String, lower: String) {
        ("bb_upper_\(period)", "bb_middle_\(period)", "bb_lower_\(period)")
    }
    /// `macd`, `macd_signal`, `macd_hist`.
    public static let macd = (macd: "macd", signal: "macd_signal", histogram: "macd_hist")
    /// `stoch_k`, `stoch_d`.
    public static let stochastic = (k: "stoch_k", d: "stoch_d")
}
