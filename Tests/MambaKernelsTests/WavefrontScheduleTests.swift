import Foundation
import XCTest
@testable import MambaKernels

/// Every (group, tile) item runs exactly once, and only after (group − 1, tile) and (group, tile − 1) have finished,
/// whatever the number of workers (more workers than groups included).
final class WavefrontScheduleTests: XCTestCase {
    func testItemsRunOnceInDependencyOrder() {
        for (groups, tiles, workers) in [(5, 7, 4), (3, 1, 8), (1, 6, 3), (16, 12, 16)] {
            let schedule = WavefrontSchedule(groups: groups, tiles: tiles)
            let lock = NSLock()
            nonisolated(unsafe) var finished = Set<[Int]>()
            nonisolated(unsafe) var runs = 0, violations = 0
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                while let item = schedule.next(home: w * groups / workers) {
                    let (g, t) = (item.group, item.tile)
                    lock.lock()
                    if (g > 0 && !finished.contains([g - 1, t])) || (t > 0 && !finished.contains([g, t - 1]))
                        || finished.contains([g, t]) { violations += 1 }
                    lock.unlock()
                    usleep(UInt32((g * 7 + t * 3) % 5) * 100)  // uneven item times
                    lock.lock()
                    finished.insert([g, t]); runs += 1
                    lock.unlock()
                    schedule.finish(group: g)
                }
            }
            XCTAssertEqual(violations, 0, "\(groups)×\(tiles), \(workers) workers")
            XCTAssertEqual(runs, groups * tiles, "\(groups)×\(tiles), \(workers) workers")
            XCTAssertEqual(finished.count, groups * tiles)
        }
    }
}
