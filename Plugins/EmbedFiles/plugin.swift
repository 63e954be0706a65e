import Foundation
import PackagePlugin

/// Embeds the OpenAPI contract (and later the web view) in the Service module
/// as string constants: one binary, no resource bundle to ship beside it.
@main
struct EmbedFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let root = context.package.directoryURL
        var inputs: [(name: String, url: URL)] = [
            ("openapi.yaml", root.appending(path: "openapi/openapi.yaml"))
        ]
        let ui = root.appending(path: "Sources/Service/UI")
        if let names = try? FileManager.default.contentsOfDirectory(atPath: ui.path) {
            for name in names.sorted() where !name.hasPrefix(".") {
                inputs.append(("ui/" + name, ui.appending(path: name)))
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) files in \(target.name)",
                executable: try context.tool(named: "embedder").url,
                arguments: [output.path, "EmbeddedFiles"] + inputs.map { "\($0.name)=\($0.url.path)" },
                inputFiles: inputs.map(\.url),
                outputFiles: [output]
            )
        ]
    }
}
