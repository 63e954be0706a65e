import Foundation
import TestSupport
import Testing

/// Times and cursors outside what PostgreSQL's timestamp holds are the
/// client's 400 naming the parameter, never a 500 (SQLSTATE 22008).
struct RangeTests {
    static func cursor(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test func outOfRangeTimesAre400NamingTheParameter() throws {
        let t = try TestApp()
        let id = try t.create(#"{"datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#)
        let huge = "9223372036854775807", tiny = "-9223372036854775808"
        let refused: [(String, String)] = [
            ("from", huge), ("to", huge), ("from", tiny), ("to", tiny), ("from", "-9223372036854775807"),
            ("to", "99999999999999999999"), ("from", "253402300800000000"), ("to", "-62135596800000001"),
            ("from", "10000-01-01T00:00:00Z"), ("to", "yesterday"),
        ]
        for route in ["signals", "bars"] {
            for (name, value) in refused {
                let extra = route == "bars" ? "symbol=A&timeframe=1h&" : ""
                let r = try t.request("GET", "/v1/experiments/\(id)/\(route)?\(extra)\(name)=\(value)")
                #expect(r.status == 400, "\(route) \(name)=\(value): \(r.text)")
                #expect(r.header("Content-Type") == "application/problem+json")
                #expect(r.json["field"] as? String == name, "\(route) \(name)=\(value): \(r.text)")
            }
        }
        // The edges and ordinary values are fine (before 1970 too).
        for (name, value) in [
            ("from", "-62135596800000000"), ("to", "253402300799999999"), ("from", "-1"), ("from", "0"),
            ("to", "2024-01-01T00:00:00Z"), ("from", "0001-01-01T00:00:00Z"), ("to", "9999-12-31T23:59:59.999Z"),
        ] {
            let r = try t.request("GET", "/v1/experiments/\(id)/signals?\(name)=\(value)")
            #expect(r.status == 200, "\(name)=\(value): \(r.text)")
        }
    }

    @Test func craftedCursorsAre400AndIdCursorsNever500() throws {
        let t = try TestApp()
        let id = try t.create(#"{"name":"one","datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#)
        _ = try t.create(#"{"name":"two","datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#)
        let uuid = UUID().uuidString.lowercased()
        let crafted = [
            Self.cursor("9223372036854775807/\(uuid)"), Self.cursor("-9223372036854775808/\(uuid)"),
            Self.cursor("253402300800000000/\(uuid)"), Self.cursor("1/not-a-uuid"), Self.cursor("garbage"), "!!!",
        ]
        for list in ["/v1/experiments", "/v1/datasets"] {
            for c in crafted {
                let r = try t.request("GET", "\(list)?cursor=\(c)")
                #expect(r.status == 400, "\(list) cursor=\(c): \(r.text)")
                #expect(r.json["field"] as? String == "cursor", "\(list) cursor=\(c): \(r.text)")
            }
        }
        // A cursor the server issued still pages.
        let page = try t.request("GET", "/v1/experiments?limit=1")
        let next = try #require(page.json["next_cursor"] as? String)
        let second = try t.request("GET", "/v1/experiments?limit=1&cursor=\(next)")
        #expect(second.status == 200)
        #expect((second.json["items"] as? [[String: Any]])?.count == 1)

        // Id cursors: the largest id is an empty page, not a 500; garbage is a 400 naming the parameter.
        for path in ["signals", "logs", "events", "metrics"] {
            let max = try t.request("GET", "/v1/experiments/\(id)/\(path)?after=9223372036854775807")
            #expect(max.status == 200, "\(path): \(max.text)")
            #expect((max.json["items"] as? [Any])?.isEmpty == true, "\(path): \(max.text)")
            for bad in ["-1", "99999999999999999999", "abc"] {
                let r = try t.request("GET", "/v1/experiments/\(id)/\(path)?after=\(bad)")
                #expect(r.status == 400, "\(path) after=\(bad): \(r.text)")
                #expect(r.json["field"] as? String == "after", "\(path) after=\(bad): \(r.text)")
            }
        }
    }
}
