import Testing

@testable import PostgresClient

struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine<Int>
    let t0 = ContinuousClock.now

    func machine(max: Int = 2, min: Int = 0) -> Machine {
        Machine(maxConnections: max, minConnections: min, idleCheckInterval: .seconds(1), maxIdleTime: .seconds(300))
    }

    @Test func connectsUntilMaxThenParksWaiters() {
        var pool = machine(max: 2)
        #expect(pool.checkout(now: t0) == .connect)
        #expect(pool.connectSucceeded() == .use)
        #expect(pool.checkout(now: t0) == .connect)
        #expect(pool.connectSucceeded() == .use)
        #expect(pool.checkout(now: t0) == .wait(.init(rawValue: 0)))
        let statistics = pool.statistics
        #expect(statistics.inUse == 2)
        #expect(statistics.total == 2)
        #expect(statistics.waiting == 1)
        #expect(statistics.waits == 1)
    }

    @Test func checkinHandsTheConnectionToTheFirstWaiter() {
        var pool = machine(max: 1)
        #expect(pool.checkout(now: t0) == .connect)
        _ = pool.connectSucceeded()
        guard case .wait(let first) = pool.checkout(now: t0), case .wait(let second) = pool.checkout(now: t0) else {
            Issue.record("expected two waiters")
            return
        }
        #expect(pool.checkin(7, reusable: true, now: t0) == .handOff(7, to: first))
        #expect(pool.checkin(7, reusable: true, now: t0) == .handOff(7, to: second))
        #expect(pool.checkin(7, reusable: true, now: t0) == .keep)
        #expect(pool.statistics.idle == 1)
        #expect(pool.statistics.inUse == 0)
    }

    @Test func idleConnectionsAreReusedAndPingedWhenStale() {
        var pool = machine(max: 2)
        _ = pool.checkout(now: t0)
        _ = pool.connectSucceeded()
        #expect(pool.checkin(1, reusable: true, now: t0) == .keep)
        #expect(pool.checkout(now: t0 + .milliseconds(500)) == .use(1, healthCheck: false))
        #expect(pool.checkin(1, reusable: true, now: t0 + .milliseconds(500)) == .keep)
        #expect(pool.checkout(now: t0 + .seconds(2)) == .use(1, healthCheck: true))
    }

    @Test func aDeadIdleConnectionIsReplacedInItsSlot() {
        var pool = machine(max: 1)
        _ = pool.checkout(now: t0)
        _ = pool.connectSucceeded()
        _ = pool.checkin(1, reusable: true, now: t0)
        #expect(pool.checkout(now: t0 + .seconds(5)) == .use(1, healthCheck: true))
        pool.replaceLeased()
        #expect(pool.statistics.total == 0)
        #expect(pool.connectSucceeded() == .use)
        #expect(pool.statistics.inUse == 1)
        #expect(pool.statistics.total == 1)
    }

    @Test func aBrokenConnectionIsClosedAndItsSlotGoesToAWaiter() {
        var pool = machine(max: 1)
        _ = pool.checkout(now: t0)
        _ = pool.connectSucceeded()
        guard case .wait(let waiter) = pool.checkout(now: t0) else {
            Issue.record("expected a waiter")
            return
        }
        #expect(pool.checkin(1, reusable: false, now: t0) == .closeAndPermit(1, waiter))
        #expect(pool.statistics.total == 0)
        #expect(pool.connectSucceeded() == .use)
        #expect(pool.checkin(2, reusable: false, now: t0) == .close(2))
        #expect(pool.statistics.total == 0)
        #expect(pool.checkout(now: t0) == .connect)
    }

    @Test func aFailedConnectFreesTheSlotOrPassesItOn() {
        var pool = machine(max: 1)
        #expect(pool.checkout(now: t0) == .connect)
        guard case .wait(let waiter) = pool.checkout(now: t0) else {
            Issue.record("expected a waiter")
            return
        }
        #expect(pool.connectFailed() == .permit(waiter))
        #expect(pool.connectFailed() == .none)
        #expect(pool.statistics.connectsFailed == 2)
        #expect(pool.statistics.total == 0)
        #expect(pool.checkout(now: t0) == .connect)
    }

    @Test func aTimedOutWaiterIsRemovedOnceAndCounted() {
        var pool = machine(max: 1)
        _ = pool.checkout(now: t0)
        _ = pool.connectSucceeded()
        guard case .wait(let waiter) = pool.checkout(now: t0) else {
            Issue.record("expected a waiter")
            return
        }
        let first = pool.waiterTimedOut(waiter)
        let second = pool.waiterTimedOut(waiter)
        #expect(first)
        #expect(!second)
        #expect(pool.statistics.timeouts == 1)
        #expect(pool.statistics.waiting == 0)
        #expect(pool.checkin(1, reusable: true, now: t0) == .keep)
    }

    @Test func aWaiterServedBeforeItsTimeoutIsNotCountedAsTimedOut() {
        var pool = machine(max: 1)
        _ = pool.checkout(now: t0)
        _ = pool.connectSucceeded()
        guard case .wait(let waiter) = pool.checkout(now: t0) else {
            Issue.record("expected a waiter")
            return
        }
        #expect(pool.checkin(1, reusable: true, now: t0) == .handOff(1, to: waiter))
        let timedOut = pool.waiterTimedOut(waiter)
        #expect(!timedOut)
        #expect(pool.statistics.timeouts == 0)
        #expect(pool.statistics.inUse == 1)
    }

    @Test func closeFailsWaitersClosesIdleAndLaterCheckins() {
        var pool = machine(max: 2)
        _ = pool.checkout(now: t0)
        _ = pool.connectSucceeded()
        _ = pool.checkout(now: t0)
        _ = pool.connectSucceeded()
        #expect(pool.checkin(1, reusable: true, now: t0) == .keep)
        _ = pool.checkout(now: t0)  // takes 1 again
        #expect(pool.checkin(1, reusable: true, now: t0) == .keep)
        guard case .use = pool.checkout(now: t0), case .wait(let waiter) = pool.checkout(now: t0) else {
            Issue.record("expected use then wait")
            return
        }
        let close = pool.close()
        #expect(close.connections.isEmpty)
        #expect(close.waiters == [waiter])
        #expect(pool.checkout(now: t0) == .failClosed)
        #expect(pool.checkin(1, reusable: true, now: t0) == .close(1))
        #expect(pool.checkin(2, reusable: true, now: t0) == .close(2))
        #expect(pool.statistics.total == 0)
    }

    @Test func aConnectFinishingAfterCloseIsClosed() {
        var pool = machine(max: 1)
        #expect(pool.checkout(now: t0) == .connect)
        _ = pool.close()
        #expect(pool.connectSucceeded() == .closeAndFail)
        #expect(pool.statistics.total == 0)
    }

    @Test func idleConnectionsBeyondTheMinimumAreEvicted() {
        var pool = machine(max: 3, min: 1)
        for _ in 0..<3 {
            _ = pool.checkout(now: t0)
            _ = pool.connectSucceeded()
        }
        for id in 1...3 { _ = pool.checkin(id, reusable: true, now: t0 + .seconds(id)) }
        #expect(pool.evictIdle(now: t0 + .seconds(100)).isEmpty)
        #expect(pool.evictIdle(now: t0 + .seconds(600)) == [1, 2])
        #expect(pool.statistics.idle == 1)
    }

    @Test func checkoutTimeIsSummed() {
        var pool = machine()
        pool.checkoutCompleted(elapsed: .milliseconds(250))
        pool.checkoutCompleted(elapsed: .milliseconds(500))
        #expect(pool.statistics.checkouts == 2)
        #expect(abs(pool.statistics.checkoutSecondsTotal - 0.75) < 1e-9)
    }
}
