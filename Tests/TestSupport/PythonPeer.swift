public import Foundation

/// The project's Python (pandas, pyarrow, polars, duckdb) for cross-checks.
///
/// Uses `SIGNALFORGE_PYTHON` when set; otherwise creates or refreshes the
/// project's virtualenv with `deploy/lib/python.sh` from the repository root.
/// A missing interpreter is a test failure with a clear message, never a skip.
public enum PythonPeer {
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    public static let interpreter: Result<String, ProcessFailure> = {
        if let p = ProcessInfo.processInfo.environment["SIGNALFORGE_PYTHON"], !p.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: p) else {
                return .failure(ProcessFailure(message: "SIGNALFORGE_PYTHON=\(p) is not an executable"))
            }
            return .success(p)
        }
        do {
            let out = try runProcess(
                "/bin/bash", ["-c", ". deploy/lib/python.sh && sf_python_venv >&2 && echo \"$SIGNALFORGE_PYTHON\""],
                currentDirectory: repoRoot)
            let path = out.trimmingCharacters(in: .whitespacesAndNewlines)
            guard FileManager.default.isExecutableFile(atPath: path) else {
                return .failure(ProcessFailure(message: "sf_python_venv gave no interpreter (got '\(path)')"))
            }
            return .success(path)
        } catch {
            return .failure(
                ProcessFailure(message: "cannot set up the Python venv (deploy/lib/python.sh, sf_python_venv): \(error)"))
        }
    }()

    /// Runs `script` with `arguments` and returns its standard output.
    public static func run(_ script: String, _ arguments: [String] = []) throws -> String {
        let python = try interpreter.get()
        return try runProcess(python, ["-c", script] + arguments)
    }
}
