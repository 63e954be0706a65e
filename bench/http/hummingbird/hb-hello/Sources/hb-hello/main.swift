// hb-hello: Hummingbird 2 hello-world peer for bench/http/run.sh.
// GET /healthz -> 200 {"status":"ok"} (application/json), the same body as SignalForge.
// Port: first argument, else $PORT, else 8080. Host: $HOST, else 127.0.0.1.
// Hummingbird defaults otherwise (MultiThreadedEventLoopGroup.singleton: all cores).
import Foundation
import Hummingbird

let env = ProcessInfo.processInfo.environment
let args = CommandLine.arguments
let port = (args.count > 1 ? Int(args[1]) : nil) ?? env["PORT"].flatMap { Int($0) } ?? 8080
let host = env["HOST"] ?? "127.0.0.1"

let body = ByteBuffer(string: #"{"status":"ok"}"#)

let router = Router()
router.get("healthz") { _, _ -> Response in
    Response(
        status: .ok,
        headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: body)
    )
}

// Hummingbird's default logger (level info, $LOG_LEVEL); no per-request logging.
let app = Application(
    router: router,
    configuration: .init(address: .hostname(host, port: port), serverName: nil)
)
try await app.runService()
