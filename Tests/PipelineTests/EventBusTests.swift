import Foundation
import Synchronization
import Testing

@testable import Pipeline

struct EventBusTests {
    @Test func everySubscriberGetsEveryEventInOrder() {
        let bus = EventBus<Int>()
        let a = bus.subscribe()
        let b = bus.subscribe()
        for i in 0..<1000 { bus.publish(i) }
        bus.publish(contentsOf: Array(1000..<1500))
        #expect(a.poll() == Array(0..<1500))
        #expect(b.poll(max: 10) == Array(0..<10))
        #expect(b.poll() == Array(10..<1500))
        #expect(a.poll().isEmpty)
        #expect(bus.publishedCount == 1500)
    }

    @Test func filtersSelectEvents() {
        let bus = EventBus<Int>()
        let even = bus.subscribe(filter: { $0 % 2 == 0 })
        for i in 0..<10 { bus.publish(i) }
        bus.publish(contentsOf: [10, 11, 12])
        #expect(even.poll() == [0, 2, 4, 6, 8, 10, 12])
    }

    @Test func aSlowBoundedSubscriberDropsAndCountsWithoutBlockingOthers() {
        let bus = EventBus<Int>()
        let slow = bus.subscribe(capacity: 100)
        let lossless = bus.subscribe()
        for i in 0..<10_000 { bus.publish(i) }
        #expect(slow.pendingCount == 100)
        #expect(slow.droppedCount == 9_900)
        #expect(slow.poll() == Array(0..<100))
        #expect(lossless.poll().count == 10_000)
        #expect(lossless.droppedCount == 0)
        #expect(bus.droppedCount == 9_900)
        bus.publish(contentsOf: Array(0..<150))
        #expect(slow.pendingCount == 100)
        #expect(slow.droppedCount == 9_950)
    }

    @Test func aWaitingConsumerWakesOnPublish() {
        let bus = EventBus<String>()
        let sub = bus.subscribe()
        let got = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let events = sub.next(timeout: .seconds(5))
            got.withLock { $0 = events }
            done.signal()
        }
        Thread.sleep(forTimeInterval: 0.05)
        let t0 = Date()
        bus.publish("hello")
        #expect(done.wait(timeout: .now() + 2) == .success)
        #expect(Date().timeIntervalSince(t0) < 0.5)
        #expect(got.withLock { $0 } == ["hello"])
    }

    @Test func nextTimesOutEmpty() {
        let sub = EventBus<Int>().subscribe()
        let t0 = Date()
        #expect(sub.next(timeout: .milliseconds(100)).isEmpty)
        let waited = Date().timeIntervalSince(t0)
        #expect(waited >= 0.09 && waited < 1)
    }

    @Test func onAvailableFiresOncePerEmptyToNonEmpty() {
        let bus = EventBus<Int>()
        let sub = bus.subscribe()
        let calls = Atomic<Int>(0)
        sub.onAvailable { calls.add(1, ordering: .relaxed) }
        bus.publish(1)
        bus.publish(2)
        #expect(calls.load(ordering: .relaxed) == 1)
        _ = sub.poll()
        bus.publish(3)
        #expect(calls.load(ordering: .relaxed) == 2)
    }

    @Test func unsubscribedStopsReceiving() {
        let bus = EventBus<Int>()
        let sub = bus.subscribe()
        bus.unsubscribe(sub)
        bus.publish(1)
        #expect(sub.poll().isEmpty)
        #expect(sub.isClosed)
        #expect(bus.subscriberCount == 0)
    }

    @Test func concurrentPublishersLoseNothing() {
        let bus = EventBus<Int>()
        let sub = bus.subscribe()
        let group = DispatchGroup()
        for t in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                for i in 0..<5000 { bus.publish(t * 10_000 + i) }
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 10) == .success)
        let all = sub.poll()
        #expect(all.count == 20_000)
        for t in 0..<4 {
            let mine = all.filter { $0 / 10_000 == t }
            #expect(mine == mine.sorted())
        }
    }
}
