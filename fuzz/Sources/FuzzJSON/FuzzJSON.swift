// libFuzzer entry for JSONParser: parse any bytes; a document that parses
// must serialize to text that parses back to the same value (canonical form),
// and an error must point inside the input. A crash, a hang or a broken
// round trip is a finding.
import MicroHTTP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let value = try JSONParser.parse(bytes)
        let text = value.serialized
        let again: JSONValue
        do { again = try JSONParser.parse(Array(text.utf8)) } catch {
            fatalError("serialized form does not parse: \(error)\n  \(text)")
        }
        if again.canonical != value.canonical {
            fatalError("round trip changed the document:\n  \(value.canonical)\n  \(again.canonical)")
        }
    } catch {
        if error.offset < 0 || error.offset > bytes.count || error.line < 1 || error.column < 1 {
            fatalError("error position outside the input: \(error)")
        }
    }
    return 0
}
