import MarketData

// libFuzzer entry for OHLCVCSVReader: every input is written to a file and
// read twice, once whole with the default buffer and once in chunks of 7 rows
// through a 64-byte buffer (so every record straddles refills). Both readings
// must agree: the same rows, or the same error. A crash, a hang, or a
// disagreement is a finding.
#if canImport(Glibc)
import Glibc
#endif

private let path: String = {
    let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    return "\(dir)/signalforge-fuzz-csv-\(getpid()).csv"
}()

private func write(_ data: UnsafePointer<UInt8>?, _ size: Int) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot write \(path)")
    var done = 0
    while done < size {
        let n = Glibc.write(fd, data! + done, size - done)
        precondition(n > 0)
        done += n
    }
    close(fd)
}

/// Rows or an error, comparable across readings (NaN extras by bit pattern).
private enum Outcome: Equatable {
    case rows(times: [Int64], values: [[UInt64]], extras: [String])
    case failure(String)
}

private func whole() -> Outcome {
    do {
        let s = try OHLCVCSVReader.read(path: path, fileName: "fuzz.csv")
        return .rows(times: s.timestamps, values: bits(s), extras: s.extras.map(\.name))
    } catch {
        return .failure(error.description)
    }
}

private func chunked() -> Outcome {
    do {
        let reader = try OHLCVCSVReader(path: path, fileName: "fuzz.csv", bufferSize: 64)
        var times: [Int64] = []
        var values: [[UInt64]] = []
        while let chunk = try reader.next(maxRows: 7) {
            times += chunk.timestamps
            let b = bits(chunk)
            if values.isEmpty { values = b } else { for i in values.indices { values[i] += b[i] } }
        }
        if values.isEmpty { values = Array(repeating: [], count: 5 + reader.extraNames.count) }
        return .rows(times: times, values: values, extras: reader.extraNames)
    } catch {
        return .failure(error.description)
    }
}

private func bits(_ s: OHLCVSeries) -> [[UInt64]] {
    [s.open, s.high, s.low, s.close, s.volume].map { $0.map(\.bitPattern) } + s.extras.map { $0.values.map(\.bitPattern) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    write(data, size)
    let a = whole()
    let b = chunked()
    if a != b {
        fatalError("whole and chunked readings differ:\n  whole:   \(a)\n  chunked: \(b)")
    }
    return 0
}
