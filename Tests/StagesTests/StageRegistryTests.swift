import Forecasting
import Foundation
import MarketData
import Pipeline
import Testing

@testable import Stages

/// The one list of built-in stages: order, prerequisites, sections, options.
struct StageRegistryTests {
    @Test func builtInOrderAndPrerequisites() {
        #expect(BuiltInStages.names == ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"])
        let expected: [String: [String]] = [
            "load": [], "resample": ["load"], "merge": ["resample"], "features": ["merge"], "patterns": ["merge"],
            "forecast": ["features"], "fusion": ["forecast", "patterns"], "export": ["merge"], "analysis": ["fusion"],
        ]
        for d in BuiltInStages.descriptors {
            #expect(d.prerequisites == expected[d.name], "\(d.name)")
            // A prerequisite always comes earlier in the order.
            let at = BuiltInStages.names.firstIndex(of: d.name)!
            for p in d.prerequisites { #expect(BuiltInStages.names.firstIndex(of: p)! < at, "\(d.name) needs \(p)") }
            // The stage it makes is the one it describes, and carries the same prerequisites.
            #expect(d.stage().name == d.name)
            #expect(d.stage().prerequisites == d.prerequisites)
            // Its own section first, and its options type reads that section.
            #expect(d.reads.first == d.name && d.options.section == d.name)
            for s in d.reads { #expect(BuiltInStages.descriptor(s) != nil, "\(d.name) reads \(s)") }
        }
        // Fusion labels outcomes with analysis's costs; analysis uses fusion's stop/target multiples.
        #expect(BuiltInStages.descriptor("fusion")?.reads == ["fusion", "patterns", "analysis"])
        #expect(BuiltInStages.descriptor("analysis")?.reads == ["analysis", "export", "fusion"])
        #expect(BuiltInStages.descriptor("nope") == nil)
        #expect(BuiltInStages.prerequisites(of: "nope") == [])
    }

    @Test func registryKeepsTheOrderItIsGiven() {
        let registry = BuiltInStages.registry
        #expect(registry.names == BuiltInStages.names)
        #expect(registry.position(of: "merge") == 2)
        #expect(registry.position(of: "nope") == nil)
        #expect(registry.prerequisites(of: "fusion") == ["forecast", "patterns"])
        #expect(SignalForgeStages.all.map(\.name) == BuiltInStages.names)
        // Registration order, not alphabetical; a second stage of a name replaces the first in place.
        var r = StageRegistry([MergeStage(), LoadStage(), ResampleStage()])
        r.register(LoadStage(chunkRows: 8))
        #expect(r.names == ["merge", "load", "resample"])
        #expect((r.stage("load") as? LoadStage)?.chunkRows == 8)
    }

    @Test func configSchemaIsMadeOfTheOptionsTypes() {
        #expect(Set(ConfigSchema.config.members.keys) == Set(BuiltInStages.names))
        for d in BuiltInStages.descriptors {
            #expect(ConfigSchema.config.members[d.name] == d.options.schema, "\(d.name)")
        }
        #expect(ConfigSchema.config.members["forecast"]?.members["ar_order"] == .integer(1...50))
    }

    @Test func onlyTheMergeStageLeavesChartBars() throws {
        #expect(BuiltInStages.descriptors.filter { $0.bars != nil }.map(\.name) == ["merge"])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bars-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let bars = try #require(BuiltInStages.chartBars)
        #expect(bars.timeframes(folder).isEmpty)
        #expect(bars.table(folder, .h1) == nil)
        let table = AlignedTable(timestamps: [0, 3_600_000_000], columns: [NamedColumn(name: "a_close", values: [1, 2])])
        try TableCheckpoint.write(table, to: StageInputs.mergedCheckpointURL(folder, .h1))
        #expect(bars.timeframes(folder) == [.h1])
        #expect(bars.table(folder, .h1)?.column("a_close") == [1, 2])
    }
}

/// The request decoded once into typed options, every section whatever the stages.
struct ExperimentPlanTests {
    static func request(stages: [String]? = nil, config: String) -> Data {
        let list = stages.map { #","stages":["# + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? ""
        return Data(#"{"datasets":[{"symbol":"A","path":"a.csv"}]\#(list),"config":\#(config)}"#.utf8)
    }

    @Test func everySectionIsDecodedIntoItsOptionsType() throws {
        let plan = try ExperimentPlan(
            request: Self.request(
                stages: ["load"],
                config:
                    #"{"merge":{"join":"outer"},"forecast":{"ar_order":7,"window":300},"export":{"formats":["csv"]},"patterns":{"swing_window":5}}"#
            ))
        #expect(plan.stages == ["load"])
        #expect(plan.options(MergeOptions.self).join == .outer)
        #expect(plan.options(ForecastConfig.self).arOrder == 7)
        #expect(plan.options(ForecastConfig.self).window == .rolling(bars: 300))
        #expect(plan.options(ExportOptions.self).formats == [.csv])
        #expect(plan.options(PatternsOptions.self).swingWindow == 5)
        // Absent sections give the defaults.
        #expect(plan.options(FeaturesOptions.self) == FeaturesOptions())
        #expect(plan.options(ForecastConfig.self).horizonBars == ForecastConfig().horizonBars)
    }

    @Test func aSectionItsTypeRefusesFailsThePlanWhateverTheStages() {
        #expect(throws: StageError.self) {
            try ExperimentPlan(request: Self.request(stages: ["load"], config: #"{"forecast":{"window":50,"min_train":100}}"#))
        }
        #expect(throws: StageError("config.forcast: unknown section")) {
            try ExperimentPlan(request: Self.request(config: #"{"forcast":{}}"#))
        }
        #expect(throws: StageError("config.merge: expected an object")) {
            try ExperimentPlan(request: Self.request(config: #"{"merge":[]}"#))
        }
        let error = #expect(throws: StageError.self) {
            try ExperimentPlan(request: Self.request(stages: ["load"], config: #"{"fusion":{"quality_threshold":3}}"#))
        }
        #expect(error?.message.hasPrefix("config.fusion.quality_threshold: ") == true)
    }
}
