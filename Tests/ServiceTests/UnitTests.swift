import Foundation
import Hashing
import Store
import Testing

@testable import Service

struct SHA256Tests {
    @Test func nistVectors() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func incrementalEqualsOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var h = SHA256.Hasher()
        for chunk in stride(from: 0, to: data.count, by: 37) { h.update(Array(data[chunk..<min(chunk + 37, data.count)])) }
        #expect(h.finalize() == SHA256.hash(data))
    }
}

struct TokenTests {
    @Test func generatedTokenAuthenticatesWithItsScope() throws {
        let (token, line) = try TokenStore.generate(name: "ci", scope: .operate)
        #expect(token.hasPrefix("sf_"))
        #expect(token.count == 46)
        #expect(!line.contains(token))
        let store = try TokenStore.parse("# c\n\n" + line + "\n", file: "t")
        #expect(store.authenticate(token)?.name == "ci")
        #expect(store.authenticate(token)?.scope == .operate)
        #expect(store.authenticate(token + "x") == nil)
        #expect(store.authenticate("") == nil)
    }

    @Test func scopesImplyEachOther() {
        #expect(Scope.admin >= .operate)
        #expect(Scope.operate >= .read)
        #expect(!(Scope.read >= .operate))
    }

    @Test func badLinesNameFileAndLine() {
        #expect(throws: TokenFileError.self) { try TokenStore.parse("a read abc\n", file: "t") }
        do {
            _ = try TokenStore.parse("# ok\nx superuser \(String(repeating: "a", count: 64))\n", file: "tokens")
            Issue.record("accepted a bad scope")
        } catch {
            #expect("\(error)" == "tokens:2: unknown scope 'superuser' (read, operate or admin)")
        }
    }
}

struct SettingsTests {
    @Test func flagsBeatEnvironmentBeatFileBeatDefaults() throws {
        let file = NSTemporaryDirectory() + "sf-config-\(UUID().uuidString).yaml"
        try "port: 9001\nlog_level: debug\npool_max: 3\n".write(toFile: file, atomically: true, encoding: .utf8)
        let s = try Settings.resolve(
            flags: ["port": "9003"], environment: ["SIGNALFORGE_PORT": "9002", "SIGNALFORGE_LOG_LEVEL": "warning"],
            configFile: file)
        #expect(s.port == 9003)
        #expect(s.logLevel == "warning")
        #expect(s.poolMax == 3)
        #expect(s.address == "127.0.0.1")
        #expect(s.maxBodyBytes == 1 << 20)
    }

    @Test func printingTheSettingsRedactsTheDatabasePassword() throws {
        let s = try Settings.resolve(
            flags: [:], environment: ["DATABASE_URL": "postgres://sf:s3cret@db:5432/signalforge?sslpassword=x"], configFile: nil)
        for text in ["\(s)", String(reflecting: s)] {
            #expect(!text.contains("s3cret") && !text.contains("sslpassword"), "\(text)")
            #expect(text.contains("postgres://sf:…@db:5432/signalforge?…"), "\(text)")
            #expect(text.contains("port: 8080"), "\(text)")
        }
        #expect(s.databaseURL == "postgres://sf:s3cret@db:5432/signalforge?sslpassword=x")
    }

    @Test func errorsNameTheSource() throws {
        #expect(throws: SettingsError("SIGNALFORGE_PORT: port: 'http' is not an integer")) {
            try Settings.resolve(flags: [:], environment: ["SIGNALFORGE_PORT": "http"], configFile: nil)
        }
        #expect(throws: SettingsError("--port: port: 70000 is outside 0…65535")) {
            try Settings.resolve(flags: ["port": "70000"], environment: [:], configFile: nil)
        }
        let file = NSTemporaryDirectory() + "sf-config-\(UUID().uuidString).yaml"
        try "prot: 1\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: SettingsError.self) { try Settings.resolve(flags: [:], environment: [:], configFile: file) }
    }

    @Test func everyKeyHasAnEnvironmentName() {
        let design = [
            "DATABASE_URL", "SIGNALFORGE_ADDRESS", "SIGNALFORGE_PORT", "SIGNALFORGE_DATA_DIR", "SIGNALFORGE_TOKENS_FILE",
            "SIGNALFORGE_MEMORY_BUDGET_MB", "SIGNALFORGE_MAX_RUNNING",
        ]
        let envs = Set(Settings.keys.map(\.env))
        for name in design { #expect(envs.contains(name), "\(name)") }
    }
}

struct JSONParserTests {
    @Test func parsesDocuments() throws {
        let v = try JSONParser.parse(Array(#"{"a":[1,-2.5e2,true,false,null],"b":"x\u00e9\ud83d\ude00\n"}"#.utf8))
        #expect(v["a"] == .array([.number(1), .number(-250), .bool(true), .bool(false), .null]))
        #expect(v["b"] == .string("xé😀\n"))
        #expect(v.serialized == #"{"a":[1,-250,true,false,null],"b":"xé😀\n"}"#)
    }

    @Test func errorsCarryLineAndColumn() {
        func err(_ s: String) -> JSONSyntaxError? {
            do {
                _ = try JSONParser.parse(Array(s.utf8))
                return nil
            } catch { return error }
        }
        #expect(err("{\"a\":1,}")?.description == "line 1, column 8: unexpected '}'; expected a member name in double quotes")
        #expect(err("[1,\n 2,\n x]")?.line == 3)
        #expect(err("[1,\n 2,\n x]")?.column == 2)
        #expect(err("")?.reason == "the body is empty; expected a JSON document")
        #expect(err("01") != nil)
        #expect(err("\"abc") != nil)
        #expect(err("{\"a\":1} x")?.reason == "unexpected 'x' after the document")
        #expect(err(String(repeating: "[", count: 100))?.reason == "nesting deeper than 64 levels")
        #expect(err("{\"a\":1,\"a\":2}")?.reason == "duplicate member \"a\"")
    }
}

struct ExperimentRequestTests {
    @Test func defaultsAreFilledIn() throws {
        let r = try ExperimentRequest.validate(
            try JSONParser.parse(Array(#"{"datasets":[{"symbol":"EURUSD","path":"./a/../b.csv"}]}"#.utf8)))
        #expect(r.priority == "medium")
        #expect(r.timeframes == ["1h"])
        #expect(r.stages == ExperimentRequest.stageNames)
        #expect(r.datasets[0].path == "b.csv")
    }

    @Test func subsetsMustIncludePrerequisites() throws {
        let ok = try ExperimentRequest.validate(
            try JSONParser.parse(Array(#"{"datasets":[{"symbol":"A","path":"a"}],"stages":["merge","load","resample"]}"#.utf8)))
        #expect(ok.stages == ["load", "resample", "merge"])
        #expect(throws: APIError.self) {
            try ExperimentRequest.validate(
                try JSONParser.parse(Array(#"{"datasets":[{"symbol":"A","path":"a"}],"stages":["load","merge"]}"#.utf8)))
        }
    }
}

struct UUIDParsingTests {
    /// `parseUUID` agrees with Foundation's `UUID(uuidString:)` on valid ids in
    /// both cases and on malformed ones.
    @Test func agreesWithFoundation() {
        for _ in 0..<500 {
            let id = UUID()
            #expect(parseUUID(id.uuidString) == id)
            #expect(parseUUID(id.uuidString.lowercased()) == id)
        }
        let bad = [
            "", "not-a-uuid", "0123456789abcdef0123456789abcdef", "0123456-89ab-cdef-0123-456789abcdef0",
            "01234567-89ab-cdef-0123-456789abcdeg", "01234567-89ab-cdef-0123_456789abcdef", "01234567-89ab-cdef-0123-456789abcde",
            "01234567-89ab-cdef-0123-456789abcdef ", "{01234567-89ab-cdef-0123-456789abcde}", "01234567-89ab-cdéf-0123-456789abcd",
        ]
        for s in bad {
            #expect(parseUUID(s) == nil, "\(s)")
            #expect((UUID(uuidString: s) == nil) == (parseUUID(s) == nil), "\(s)")
        }
    }
}

struct BearerHeaderTests {
    /// The scheme in any case, one space, the token with blanks around it trimmed.
    @Test func parsesTheSchemeAndTrimsTheToken() {
        #expect(Authenticator.bearer("Bearer abc") == "abc")
        #expect(Authenticator.bearer("bearer abc") == "abc")
        #expect(Authenticator.bearer("BEARER  abc \t") == "abc")
        #expect(Authenticator.bearer("Bearer ") == nil)
        #expect(Authenticator.bearer("Bearer  ") == "")
        #expect(Authenticator.bearer("Bearer") == nil)
        #expect(Authenticator.bearer("Basic abc") == nil)
        #expect(Authenticator.bearer("Bearerabc") == nil)
        #expect(Authenticator.bearer("Béarer abc") == nil)
        #expect(Authenticator.bearer("Bearer tök") == "tök")
    }
}
