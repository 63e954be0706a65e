import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The one `URLSessionDataDelegate` of the client's session: it hands each
/// task's callbacks to the handlers registered for that task.
///
/// Why a delegate and not `URLSession.bytes(for:)`: FoundationNetworking on
/// Linux has no `bytes(for:)`/`AsyncBytes` (checked with Swift 6.3.1), and the
/// completion-handler API buffers the whole body. With a delegate,
/// `urlSession(_:dataTask:didReceive:)` delivers each chunk as libcurl reads it
/// — what a live SSE stream and a large download need — and corelibs resets
/// the request timeout on every chunk, so `timeoutInterval` is an idle timeout.
///
/// The callbacks run on the session's serial delegate queue; the thread that
/// started the task waits on a semaphore (see `APIClient.exchange`), so the
/// commands stay synchronous `ParsableCommand`s and nothing runs on Swift's
/// cooperative pool.
final class SessionRouter: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // @unchecked: NSObject is not Sendable; the only state is the Mutex.

    /// What one task does with its callbacks. Each returns false to stop the task.
    struct Handlers: Sendable {
        var response: @Sendable (HTTPURLResponse) -> Bool
        var data: @Sendable (Data) -> Bool
        var complete: @Sendable ((any Error)?) -> Void
    }

    private let handlers = Mutex<[Int: Handlers]>([:])

    func register(_ task: URLSessionTask, _ h: Handlers) {
        handlers.withLock { $0[task.taskIdentifier] = h }
    }

    private func handlers(for task: URLSessionTask) -> Handlers? {
        handlers.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
    ) {
        guard let h = handlers(for: dataTask), let http = response as? HTTPURLResponse else {
            completionHandler(.cancel)
            return
        }
        completionHandler(h.response(http) ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let h = handlers(for: dataTask) else { return }
        if !h.data(data) { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let h = handlers.withLock { $0.removeValue(forKey: task.taskIdentifier) }
        h?.complete(error)
    }

    /// The API never redirects; a redirect (a proxy's login page, say) is
    /// returned as it is rather than followed.
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
