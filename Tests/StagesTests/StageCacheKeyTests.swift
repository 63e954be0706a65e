import Foundation
import Pipeline
import SignalFusion
import Testing

@testable import Stages

/// The built-in stages' cache keys, from plans: canonical (defaults written
/// out or left out read alike) and changing exactly where an option is read.
struct StageCacheKeyTests {
    /// Every stage's key in the experiment of `config` (load's without dataset hashes), chained as the runner does.
    static func keys(config: String, timeframes: [String] = ["15m", "1h"], symbols: [String] = ["A", "B"]) throws -> [String: String] {
        let datasets = symbols.map { #"{"symbol":"\#($0)","path":"\#($0).csv"}"# }.joined(separator: ",")
        let tfs = timeframes.map { "\"\($0)\"" }.joined(separator: ",")
        let plan = try ExperimentPlan(request: Data(#"{"datasets":[\#(datasets)],"timeframes":[\#(tfs)],"config":\#(config)}"#.utf8))
        var out: [String: String] = [:]
        var previous: String?
        for name in plan.stages {
            let material = try #require(BuiltInStages.cacheMaterial(name, plan: plan))
            let key = StageCacheKey.key(stage: name, material: material, previous: previous)
            out[name] = key
            previous = key
            if let output = BuiltInStages.cacheOutputMaterial(name, plan: plan) {
                previous = StageCacheKey.key(stage: name + ".output", material: output, previous: key)
            }
            out[name + ".chained"] = previous
            // The feature files' part: chained to the table stage export reads.
            if name == "export" {
                let after = try #require(out[TableChain.producer(before: name, plan) + ".chained"])
                out["export.features"] = StageCacheKey.key(stage: "export.features", material: material, previous: after)
            }
        }
        return out
    }

    /// The entries (stages and parts) whose keys differ between two configs.
    static func changedEntries(_ a: String, _ b: String) throws -> [String] {
        let (x, y) = (try keys(config: a), try keys(config: b))
        return (BuiltInStages.names + ["export.features"]).filter { x[$0] != y[$0] }
    }

    /// The stages whose keys differ between two configs.
    static func changed(_ a: String, _ b: String) throws -> [String] {
        let (x, y) = (try keys(config: a), try keys(config: b))
        return BuiltInStages.names.filter { x[$0] != y[$0] }
    }

    @Test func defaultsWrittenOutOrLeftOutGiveTheSameKeys() throws {
        let threshold = FusionConfig().qualityThreshold
        #expect(try Self.changed("{}", #"{"fusion":{"quality_threshold":\#(threshold)},"merge":{"join":"inner"},"features":{}}"#) == [])
        // Member order within a section does not matter either.
        #expect(
            try Self.changed(
                #"{"forecast":{"horizon_bars":6,"models":["ar","drift"]}}"#, #"{"forecast":{"models":["ar","drift"],"horizon_bars":6}}"#)
                == [])
    }

    @Test func eachOptionChangesItsStageAndTheStagesAfterIt() throws {
        let all = BuiltInStages.names
        // Fusion's entry (the scored candidates) leaves the threshold out; what comes after it does not.
        #expect(try Self.changed("{}", #"{"fusion":{"quality_threshold":0.7}}"#) == ["export", "analysis"])
        #expect(try Self.changedEntries("{}", #"{"fusion":{"quality_threshold":0.7}}"#) == ["export", "analysis"])
        #expect(try Self.changedEntries("{}", #"{"fusion":{"stop_atr_multiplier":2.5}}"#) == ["fusion", "export", "analysis"])
        // Analysis options but the costs: analysis alone (the feature files keep their key throughout).
        #expect(try Self.changedEntries("{}", #"{"analysis":{"max_holding_bars":12}}"#) == ["analysis"])
        #expect(try Self.changed("{}", #"{"forecast":{"horizon_bars":6}}"#) == ["forecast", "fusion", "export", "analysis"])
        #expect(try Self.changed("{}", #"{"merge":{"tolerance":"1m"}}"#) == Array(all.dropFirst(2)))
        #expect(try Self.changed("{}", #"{"features":{"rsi":10}}"#) == Array(all.dropFirst(3)))
        #expect(try Self.changedEntries("{}", #"{"export":{"formats":["csv"]}}"#) == ["export", "analysis", "export.features"])
        // Fusion labels outcomes with analysis's costs: it reads that section too.
        #expect(try Self.changedEntries("{}", #"{"analysis":{"spread":0.001}}"#) == ["fusion", "export", "analysis"])
        #expect(try Self.changedEntries("{}", #"{"forecast":{"horizon_bars":6}}"#).contains("export.features"))
    }

    @Test func timeframesAndSymbolsChangeTheStagesThatDependOnThem() throws {
        let a = try Self.keys(config: "{}")
        let b = try Self.keys(config: "{}", timeframes: ["15m", "4h"])
        #expect(BuiltInStages.names.filter { a[$0] != b[$0] } == Array(BuiltInStages.names.dropFirst()), "load reads no timeframe")
        let c = try Self.keys(config: "{}", symbols: ["A", "C"])
        #expect(BuiltInStages.names.allSatisfy { a[$0] != c[$0] })
    }

    @Test func aVersionBumpChangesTheKey() throws {
        let plan = try ExperimentPlan(request: Data(#"{"datasets":[{"symbol":"A","path":"a.csv"}]}"#.utf8))
        let material = try #require(BuiltInStages.cacheMaterial("fusion", plan: plan))
        #expect(material.contains("version=\(try #require(BuiltInStages.descriptor("fusion")).cacheVersion)"))
        #expect(
            material.contains("config.fusion(but quality_threshold)=") && material.contains("config.patterns=")
                && material.contains("config.analysis(costs)="))
    }
}
