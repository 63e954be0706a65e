public import Foundation

/// A temporary folder for one test, removed when the value goes away.
public final class TempDir {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("md-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `text` (as UTF-8 bytes, untouched) to a file in the folder and returns its path.
    public func file(_ name: String, _ text: String) throws -> String {
        let path = url.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes raw bytes to a file in the folder and returns its path.
    public func file(_ name: String, bytes: [UInt8]) throws -> String {
        let path = url.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Runs a program and returns its standard output; throws with its standard error when it fails.
public func runProcess(_ executable: String, _ arguments: [String], currentDirectory: URL? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Standard error goes to a file-backed pipe reader on another thread so neither pipe fills up.
    let errBox = ErrorBytes()
    let thread = Thread {
        errBox.data = err.fileHandleForReading.readDataToEndOfFile(); errBox.done.signal()
    }
    thread.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    errBox.done.wait()
    let errBytes = errBox.data
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ProcessFailure(
            message: "\(executable) \(arguments.prefix(1).joined()) exited \(process.terminationStatus): "
                + String(decoding: errBytes, as: UTF8.self))
    }
    return String(decoding: outData, as: UTF8.self)
}

public struct ProcessFailure: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

private final class ErrorBytes: @unchecked Sendable {
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}
