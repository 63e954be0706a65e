import Foundation
import Stages
import TestSupport
import Testing
import Yams

@testable import Service

/// The key checker and did-you-mean on their own (no database, no server).
struct ConfigCheckerTests {
    @Test func editDistance() {
        #expect(ConfigChecker.editDistance("", "") == 0)
        #expect(ConfigChecker.editDistance("abc", "") == 3)
        #expect(ConfigChecker.editDistance("forcast", "forecast") == 1)
        #expect(ConfigChecker.editDistance("kitten", "sitting") == 3)
        #expect(ConfigChecker.editDistance("ar_order", "ar_order") == 0)
    }

    @Test func suggestions() {
        let forecast = ConfigSchema.config.members["forecast"]!.members.keys
        #expect(ConfigChecker.suggestion(for: "model_timeout", among: forecast) == "model_timeout_s")  // a prefix
        #expect(ConfigChecker.suggestion(for: "ar_ordr", among: forecast) == "ar_order")  // distance 1
        #expect(ConfigChecker.suggestion(for: "HORIZON_BARS", among: forecast) == "horizon_bars")  // case ignored
        #expect(ConfigChecker.suggestion(for: "refit_everyday", among: forecast) == "refit_every")  // known is a prefix
        #expect(ConfigChecker.suggestion(for: "colour", among: forecast) == nil)
        #expect(ConfigChecker.suggestion(for: "forcast", among: ExperimentRequest.configSections) == "forecast")
        #expect(ConfigChecker.suggestion(for: "stage", among: ExperimentRequest.topLevelKeys) == "stages")
        // The nearest wins over a prefix match.
        #expect(ConfigChecker.suggestion(for: "window", among: ["windows", "window_size"]) == "windows")
        // Prefixes shorter than 3 characters suggest nothing.
        #expect(ConfigChecker.suggestion(for: "m", among: ["max_span_long_name"]) == nil)
    }

    @Test func faults() {
        let schema = ConfigSchema.config
        func fault(_ json: String) -> ConfigChecker.Fault? {
            ConfigChecker.check(try! JSONParser.parse(Array(json.utf8)), against: schema, path: "config")
        }
        #expect(
            fault(#"{"forecast":{"model_timeout":5}}"#)
                == .init(
                    path: "config.forecast.model_timeout", reason: "unknown key; did you mean model_timeout_s?",
                    suggestion: "model_timeout_s"))
        #expect(
            fault(#"{"forecast":{"ar_order":1e20}}"#)?.description == "config.forecast.ar_order: expected an integer in 1...50, got 1e20")
        #expect(fault(#"{"forecast":{"ar_order":2.5}}"#)?.description == "config.forecast.ar_order: expected an integer in 1...50, got 2.5")
        #expect(
            fault(#"{"forecast":{"ar_order":"5"}}"#)?.description == #"config.forecast.ar_order: expected an integer in 1...50, got "5""#)
        #expect(
            fault(#"{"fusion":{"quality_threshold":2}}"#)?.description
                == "config.fusion.quality_threshold: expected a number in 0...1, got 2")
        #expect(
            fault(#"{"patterns":{"peak_tolerance":1}}"#)?.description
                == "config.patterns.peak_tolerance: expected a number in (0, 1), got 1")
        #expect(fault(#"{"fusion":{"weights":{"pattern_strenght":1}}}"#)?.path == "config.fusion.weights.pattern_strenght")
        #expect(fault(#"{"fusion":{"weights":{"pattern_strenght":1}}}"#)?.suggestion == "pattern_strength")
        #expect(fault(#"{"features":{"macd":{"fast":12,"slo":26}}}"#)?.path == "config.features.macd.slo")
        #expect(fault(#"{"features":{"sma":[20,0]}}"#)?.path == "config.features.sma[1]")
        #expect(
            fault(#"{"export":{"formats":["csv","xlsx"]}}"#)?.description
                == "config.export.formats[1]: expected one of csv, csv.gz, parquet, got \"xlsx\"")
        #expect(fault(#"{"load":{"x":1}}"#)?.description == "config.load.x: unknown key (known: none)")
        #expect(fault(#"{"resample":[]}"#)?.description == "config.resample: expected an object (members: ), got an array")
        // What the README, deploy/ci/experiment.json and the tests send passes.
        #expect(fault("{}") == nil)
        #expect(
            fault(
                #"""
                {"merge": {"join": "inner", "tolerance": "0s", "higher_timeframes": true},
                 "export": {"formats": ["CSV", "parquet"], "compression": "zstd", "gzip": false},
                 "features": {"sma": 20, "ema": [10, 50], "macd": {"fast": 12, "slow": 26, "signal": 9}, "bollinger": {"stddev": 2.5}},
                 "patterns": {"swing_window": 3, "peak_tolerance": 0.02, "max_span": 100},
                 "forecast": {"models": ["ar", "ridge", "drift"], "horizon_bars": 12, "model_timeout_s": 30, "total_timeout_s": 60,
                              "window": "expanding", "min_train": 40, "refit_every": 200},
                 "fusion": {"quality_threshold": 0.65, "weights": {"pattern_strength": 0.2}},
                 "analysis": {"spread": 0.0001, "commission": 0.0, "max_holding_bars": 24, "sizing": "units", "units": 2}}
                """#) == nil)
        #expect(fault(#"{"forecast":{"window":500}}"#) == nil)
        #expect(fault(#"{"forecast":{"window":"rolling"}}"#)?.path == "config.forecast.window")
    }
}

/// `POST /v1/experiments` refuses every bad config section with its path,
/// whether or not the experiment runs that stage.
struct ConfigValidationTests {
    static func body(config: String, stages: [String]? = ["load"]) -> String {
        let list = stages.map { #","stages":["# + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? ""
        return #"{"datasets":[{"symbol":"A","path":"a.csv"}]\#(list),"config":\#(config)}"#
    }

    /// Per section: an unknown key, a wrong type and an out-of-range value,
    /// with the path each must name. `load` and `resample` take no members:
    /// any key is unknown, and the section itself must be an object.
    static let table: [(section: String, config: String, field: String)] = [
        ("load", #"{"load":{"chunk_rows":100}}"#, "config.load.chunk_rows"),
        ("load", #"{"load":"all"}"#, "config.load"),
        ("resample", #"{"resample":{"method":"ohlc"}}"#, "config.resample.method"),
        ("resample", #"{"resample":5}"#, "config.resample"),
        ("merge", #"{"merge":{"joins":"inner"}}"#, "config.merge.joins"),
        ("merge", #"{"merge":{"higher_timeframes":"yes"}}"#, "config.merge.higher_timeframes"),
        ("merge", #"{"merge":{"tolerance":-5}}"#, "config.merge.tolerance"),
        ("features", #"{"features":{"bollinger":{"periods":20}}}"#, "config.features.bollinger.periods"),
        ("features", #"{"features":{"rsi":"14"}}"#, "config.features.rsi"),
        ("features", #"{"features":{"rsi":1}}"#, "config.features.rsi"),
        ("patterns", #"{"patterns":{"swing":3}}"#, "config.patterns.swing"),
        ("patterns", #"{"patterns":{"max_span":true}}"#, "config.patterns.max_span"),
        ("patterns", #"{"patterns":{"swing_window":51}}"#, "config.patterns.swing_window"),
        ("forecast", #"{"forecast":{"model_timeout":5}}"#, "config.forecast.model_timeout"),
        ("forecast", #"{"forecast":{"ar_order":1e20}}"#, "config.forecast.ar_order"),
        ("forecast", #"{"forecast":{"ar_order":51}}"#, "config.forecast.ar_order"),
        ("fusion", #"{"fusion":{"weights":{"sentiment":0.1}}}"#, "config.fusion.weights.sentiment"),
        ("fusion", #"{"fusion":{"horizon_bars":[12]}}"#, "config.fusion.horizon_bars"),
        ("fusion", #"{"fusion":{"quality_threshold":1.5}}"#, "config.fusion.quality_threshold"),
        ("export", #"{"export":{"format":["csv"]}}"#, "config.export.format"),
        ("export", #"{"export":{"formats":"csv"}}"#, "config.export.formats"),
        ("export", #"{"export":{"formats":[]}}"#, "config.export.formats"),
        ("analysis", #"{"analysis":{"slippage":0.1}}"#, "config.analysis.slippage"),
        ("analysis", #"{"analysis":{"max_holding_bars":"24"}}"#, "config.analysis.max_holding_bars"),
        ("analysis", #"{"analysis":{"commission":1}}"#, "config.analysis.commission"),
        // Rules that tie members together, checked by the options types.
        ("forecast", #"{"forecast":{"window":50,"min_train":100}}"#, "config.forecast.window"),
        (
            "fusion",
            #"{"fusion":{"weights":{"pattern_strength":0,"mtf_agreement":0,"regime_confidence":0,"volume_confirmation":0,"sentiment_alignment":0,"correlation_safety":0}}}"#,
            "config.fusion.weights"
        ),
    ]

    @Test func everySectionIsCheckedWhateverTheStages() throws {
        let t = try TestApp()
        for stages in [["load"], nil] as [[String]?] {
            for (section, config, field) in Self.table {
                let r = try t.request("POST", "/v1/experiments", body: Self.body(config: config, stages: stages))
                #expect(r.status == 400, "\(section) \(config) → \(r.text)")
                #expect(r.json["field"] as? String == field, "\(config) → \(r.text)")
                #expect((r.json["detail"] as? String)?.hasPrefix(field + ": ") == true, "\(config) → \(r.text)")
                #expect(r.header("Content-Type") == "application/problem+json")
            }
        }
        // Nothing was stored by the refused requests.
        let list = try t.request("GET", "/v1/experiments")
        #expect((list.json["items"] as? [Any])?.count == 0)
        // Every section appears in the table.
        #expect(Set(Self.table.map(\.section)) == Set(ExperimentRequest.configSections))
    }

    /// Bad values for every member of every section, generated from the
    /// options types' schemas (so a member added later is covered too): the
    /// wrong JSON type, and a value just outside its range; plus an unknown key
    /// in every object. Each is a 400 naming the member's path and saying what
    /// was expected, with the experiment running only `load`.
    static func generatedFaults() -> [(path: [String], value: String)] {
        var cases: [(path: [String], value: String)] = []
        func walk(_ schema: ConfigSchema, _ path: [String]) {
            switch schema {
            case .object(let members):
                cases.append((path, "7"))
                cases.append((path + ["zz_unknown"], "1"))
                for (key, member) in members.sorted(by: { $0.key < $1.key }) { walk(member, path + [key]) }
            case .integer(let range):
                cases += [(path, "{}"), (path, "2.5"), (path, "1e20"), (path, "\(range.lowerBound - 1)")]
                if range.upperBound < Int.max { cases.append((path, "\(range.upperBound + 1)")) }
            case .number(let range):
                cases += [(path, #""1""#), (path, "true")]
                if let upper = range.upper { cases.append((path, "\(upper + 1)")) }
                if let lower = range.lower { cases.append((path, "\(lower - 1)")) }
            case .boolean: cases += [(path, "1"), (path, #""yes""#)]
            case .choice: cases += [(path, #""zzz""#), (path, "3")]
            case .duration: cases += [(path, #""-5s""#), (path, "true"), (path, "-1")]
            case .list: cases += [(path, "[]"), (path, "{}")]
            case .oneOrList, .either: cases += [(path, "{}"), (path, "true")]
            case .map(let item):
                // Any key (a symbol): not an object, then every fault of the item under one key.
                cases.append((path, "7"))
                walk(item, path + ["EURUSD"])
            }
        }
        walk(ConfigSchema.config, [])
        return cases.filter { !$0.path.isEmpty }
    }

    @Test func everyMemberOfEverySectionIsCheckedFromItsSchema() throws {
        let t = try TestApp()
        let cases = Self.generatedFaults()
        // Every section and every member of the schema is exercised.
        #expect(Set(cases.map { $0.path[0] }) == Set(ExperimentRequest.configSections + ["zz_unknown"]))
        #expect(cases.count > 150)
        for (path, value) in cases {
            var config = value
            for key in path.reversed() { config = "{\"\(key)\":\(config)}" }
            let field = "config." + path.joined(separator: ".")
            let r = try t.request("POST", "/v1/experiments", body: Self.body(config: config))
            #expect(r.status == 400, "\(config) → \(r.text)")
            #expect(r.json["field"] as? String == field, "\(config) → \(r.text)")
            let detail = r.json["detail"] as? String ?? ""
            #expect(detail.hasPrefix(field + ": "), "\(config) → \(r.text)")
            let expected = path.last == "zz_unknown" ? (path.count == 1 ? "unknown section" : "unknown key") : "expected "
            #expect(detail.contains(expected), "\(config) → \(detail)")
        }
        let list = try t.request("GET", "/v1/experiments")
        #expect((list.json["items"] as? [Any])?.count == 0)
    }

    @Test func nearMissesSayDidYouMean() throws {
        let t = try TestApp()
        let typo = try t.request("POST", "/v1/experiments", body: Self.body(config: #"{"forecast":{"model_timeout":5}}"#))
        #expect(typo.status == 400)
        #expect(typo.json["detail"] as? String == "config.forecast.model_timeout: unknown key; did you mean model_timeout_s?")
        #expect(typo.json["field"] as? String == "config.forecast.model_timeout")
        #expect(typo.json["did_you_mean"] as? String == "model_timeout_s")

        let section = try t.request("POST", "/v1/experiments", body: Self.body(config: #"{"forcast":{}}"#))
        #expect(section.status == 400)
        #expect(section.json["detail"] as? String == "config.forcast: unknown section; did you mean forecast?")
        #expect(section.json["field"] as? String == "config.forcast")

        let huge = try t.request("POST", "/v1/experiments", body: Self.body(config: #"{"forecast":{"ar_order":1e20}}"#))
        #expect(huge.json["detail"] as? String == "config.forecast.ar_order: expected an integer in 1...50, got 1e20")

        let top = try t.request("POST", "/v1/experiments", body: #"{"datasets":[{"symbol":"A","path":"a.csv"}],"stage":["load"]}"#)
        #expect(top.status == 400)
        #expect(top.json["field"] as? String == "stage")
        #expect(top.json["detail"] as? String == "stage: unknown key; did you mean stages?")

        let far = try t.request("POST", "/v1/experiments", body: #"{"datasets":[{"symbol":"A","path":"a.csv"}],"colour":"red"}"#)
        #expect(far.status == 400)
        #expect(far.json["field"] as? String == "colour")
        #expect(far.json["did_you_mean"] == nil)

        let dataset = try t.request("POST", "/v1/experiments", body: #"{"datasets":[{"symbol":"A","paht":"a.csv"}]}"#)
        #expect(dataset.json["field"] as? String == "datasets[0].paht")
        #expect(dataset.json["did_you_mean"] as? String == "path")
    }

    @Test func documentedRequestsAreStillAccepted() throws {
        let t = try TestApp()
        // The README's example config, with the stage not run as well as run.
        let readme = #"""
            {"merge": {"join": "inner"}, "export": {"formats": ["csv", "parquet"], "compression": "zstd"},
             "forecast": {"models": ["ar", "ridge", "drift"], "horizon_bars": 12, "model_timeout_s": 30, "total_timeout_s": 60},
             "fusion": {"quality_threshold": 0.65}, "analysis": {"spread": 0.0001, "max_holding_bars": 24}}
            """#
        for stages in [["load"], nil] as [[String]?] {
            let r = try t.request("POST", "/v1/experiments", body: Self.body(config: readme, stages: stages))
            #expect(r.status == 201, "\(r.text)")
        }
        // deploy/ci/experiment.json as it is.
        let ci = try String(
            contentsOfFile: #filePath.replacingOccurrences(
                of: "Tests/ServiceTests/ConfigValidationTests.swift", with: "deploy/ci/experiment.json"), encoding: .utf8)
        let r = try t.request("POST", "/v1/experiments", body: ci)
        #expect(r.status == 201, "\(r.text)")
    }
}

/// The spec's `config` sections list the same keys as ``ConfigSchema``, nested objects too.
struct ConfigSpecTests {
    @Test func specSectionsMatchTheSchema() throws {
        let spec = try Yams.load(yaml: try String(contentsOfFile: OpenAPIContractTests.specPath, encoding: .utf8)) as? [String: Any]
        let schemas = try #require((spec?["components"] as? [String: Any])?["schemas"] as? [String: Any])
        func compare(_ spec: [String: Any], _ schema: ConfigSchema, _ path: String) {
            #expect(spec["additionalProperties"] as? Bool == false, "\(path)")
            let properties = spec["properties"] as? [String: Any] ?? [:]
            #expect(Set(properties.keys) == Set(schema.members.keys), "\(path)")
            for (key, member) in schema.members {
                if case .object = member, let sub = properties[key] as? [String: Any] { compare(sub, member, "\(path).\(key)") }
            }
        }
        for section in ExperimentRequest.configSections {
            let name = "Config" + section.prefix(1).uppercased() + section.dropFirst()
            let object = try #require(schemas[name] as? [String: Any], "\(name)")
            compare(object, try #require(ConfigSchema.config.members[section]), "config.\(section)")
        }
        #expect(Set(ConfigSchema.config.members.keys) == Set(ExperimentRequest.configSections))
    }
}
