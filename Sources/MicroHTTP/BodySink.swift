/// Receives a request body chunk by chunk, for uploads too large to buffer.
///
/// Calls come from one server thread at a time, in order: `write` 0…N times,
/// then exactly one of `finish` (the body is complete) or `abort` (too large,
/// or the client went away).
public protocol BodySink: AnyObject, Sendable {
    /// Consumes the next chunk. Throwing ends the request with the error's response.
    func write(_ chunk: UnsafeRawBufferPointer) throws
    /// The body is complete: produce the response.
    func finish() throws -> Response
    /// The body will not complete; discard what was written.
    func abort()
}
