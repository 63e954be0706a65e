/// Who asked for a pause, resume or cancel; recorded as `cause` in the
/// details of the events the request produces (`pipeline_events.details`).
public enum ControlCause: Sendable, Equatable {
    /// A request over the API, with the name of its bearer token ("" when the server has no tokens).
    case api(token: String)
    /// A process signal (`SIGUSR1` pauses every running experiment, `SIGUSR2` resumes them).
    case signal(String)
    /// The server is draining (SIGTERM).
    case drain

    /// The event details: `{"cause":"api","token":"ci"}`, `{"cause":"signal","signal":"SIGUSR1"}`, `{"cause":"drain"}`.
    public var details: [String: String] {
        switch self {
        case .api(let token): token.isEmpty ? ["cause": "api"] : ["cause": "api", "token": token]
        case .signal(let name): ["cause": "signal", "signal": name]
        case .drain: ["cause": "drain"]
        }
    }
}
