import Foundation
import Logging
public import Pipeline

/// A CPU-light test stage that works in `units` chunks of `chunkSeconds`,
/// reporting progress and calling the checkpoint between chunks, then logs
/// "chunks done".
public struct ChunkedStage: Stage {
    public let name: String
    public var units: Int64
    public var chunkSeconds: Double

    /// - Parameters:
    ///   - units: chunks to work through (default 100).
    ///   - chunkSeconds: how long each chunk sleeps (default 0.005 s).
    public init(name: String, units: Int64 = 100, chunkSeconds: Double = 0.005) {
        self.name = name
        self.units = units
        self.chunkSeconds = chunkSeconds
    }

    public func run(_ context: StageContext) throws {
        let step = context.progress.child(of: context.node, "work", total: units)
        for _ in 0..<units {
            try context.checkpoint()
            Thread.sleep(forTimeInterval: chunkSeconds)
            context.progress.advance(step, by: 1)
        }
        context.logger.info("chunks done", metadata: ["units": "\(units)"])
    }
}
