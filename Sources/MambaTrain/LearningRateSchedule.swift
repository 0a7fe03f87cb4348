import Foundation

/// Linear warm-up then cosine decay, indexed by the 0-based optimiser step s:
///   s < warmup:           η = peak·(s + 1)/warmup
///   warmup ≤ s < total:   η = floor + ½(peak − floor)(1 + cos(π·(s − warmup)/(total − warmup)))
///   s ≥ total:            η = floor
public struct WarmupCosineSchedule: Sendable, Equatable {
    public var peak: Float
    public var floor: Float
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Float, floor: Float = 0, warmupSteps: Int, totalSteps: Int) {
        precondition(warmupSteps >= 0 && totalSteps >= warmupSteps)
        self.peak = peak; self.floor = floor; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps
    }

    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        if step >= totalSteps { return floor }
        let progress = Double(step - warmupSteps) / Double(totalSteps - warmupSteps)
        return floor + Float(0.5 * Double(peak - floor) * (1 + Foundation.cos(Double.pi * progress)))
    }
}
