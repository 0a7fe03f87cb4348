import MambaKernels

/// Arithmetic of an encoder's projections (in_proj, x_proj, out_proj) at inference. The scan, the conv, the norms,
/// dt_proj (rank 4–16: nothing to gain) and the heads stay fp32 either way.
public enum Precision: String, CaseIterable, Sendable {
    /// fp32 products (OpenBLAS).
    case fp32
    /// bf16 weights and activations, products accumulated in fp32 (oneDNN; AMX or AVX512-BF16).
    case bf16
}

/// What `usePrecision` set up: the precision asked for, the one the products run in, and why they differ.
public struct PrecisionChoice: Equatable, Sendable, CustomStringConvertible {
    public var requested: Precision
    public var used: Precision
    /// The bf16 instructions the products run on (`.none` on fp32).
    public var path: BF16Path
    /// oneDNN's implementation name on bf16 ("brg:avx512_core_bf16", …); "" on fp32.
    public var implementation: String
    /// Why bf16 was asked for and fp32 is used (nil otherwise).
    public var fallbackReason: String?

    public static func fp32(requested: Precision = .fp32, reason: String? = nil) -> PrecisionChoice {
        PrecisionChoice(requested: requested, used: .fp32, path: .none, implementation: "", fallbackReason: reason)
    }

    /// "bf16 (avx512_bf16, oneDNN brg:avx512_core_bf16)", "fp32", or "fp32 (bf16 unavailable: REASON)".
    public var description: String {
        if used == .bf16 { return "bf16 (\(path.rawValue), oneDNN \(implementation))" }
        if let fallbackReason { return "fp32 (bf16 unavailable: \(fallbackReason))" }
        return "fp32"
    }
}

/// bf16 copies of one mixer's projection weights (see `Precision.bf16`). The fp32 tensors stay as they are: training
/// never sees these copies, and a mixer whose weights change must be given new ones.
public final class MixerBF16Weights: @unchecked Sendable {
    /// in_proj split into its x and z halves, each (dInner, dModel), as the fp32 path runs them.
    let inX: BF16LinearWeights
    let inZ: BF16LinearWeights
    let xProj: BF16LinearWeights    // (dtRank + 2·dState, dInner)
    let outProj: BF16LinearWeights  // (dModel, dInner)

    /// Converts `mixer`'s weights; `tiedTo` (a mixer sharing in_proj/out_proj, Caduceus weight tying) lends its
    /// copies of those. Nil when the products would not run in bf16 here (`reason` says why).
    static func make(_ mixer: MambaMixer, tiedTo shared: MixerBF16Weights?,
                     features: CPUFeatures) -> Result<MixerBF16Weights, PrecisionFallback> {
        let c = mixer.config, dxp = c.dtRank + 2 * c.dState
        func convert(_ t: UnsafePointer<Float>, _ rows: Int, _ cols: Int) -> BF16LinearWeights {
            BF16LinearWeights(weight: Array(UnsafeBufferPointer(start: t, count: rows * cols)),
                              outFeatures: rows, inFeatures: cols, features: features)
        }
        let xProj = convert(mixer.xProjWeight.ptr, dxp, c.dInner)
        if let reason = xProj.fallbackReason { return .failure(PrecisionFallback(reason: reason)) }
        let inX = shared?.inX ?? convert(mixer.inProjWeight.ptr, c.dInner, c.dModel)
        let inZ = shared?.inZ ?? convert(mixer.inProjWeight.ptr + c.dInner * c.dModel, c.dInner, c.dModel)
        let outProj = shared?.outProj ?? convert(mixer.outProjWeight.ptr, c.dModel, c.dInner)
        for w in [inX, inZ, outProj] {
            if let reason = w.fallbackReason { return .failure(PrecisionFallback(reason: reason)) }
        }
        return .success(MixerBF16Weights(inX: inX, inZ: inZ, xProj: xProj, outProj: outProj))
    }

    private init(inX: BF16LinearWeights, inZ: BF16LinearWeights, xProj: BF16LinearWeights, outProj: BF16LinearWeights) {
        self.inX = inX; self.inZ = inZ; self.xProj = xProj; self.outProj = outProj
    }

    var choice: PrecisionChoice {
        PrecisionChoice(requested: .bf16, used: .bf16, path: inX.path, implementation: inX.implementation,
                        fallbackReason: nil)
    }
}

struct PrecisionFallback: Error { var reason: String }

extension Precision {
    /// The precision the commands use when none is asked for: bf16 where the CPU runs bf16 products natively
    /// (measured 1.3–1.7× faster with the bundled models' test figures unchanged: see the Performance article),
    /// fp32 elsewhere. Library models stay fp32 until `usePrecision` is called.
    public static let `default`: Precision = bf16Support().used

    /// The CPU's instruction-set features that decide the precision paths (/proc/cpuinfo names).
    public static var cpuFeatures: String { CPUFeatures.current.description }

    /// What `.bf16` would run as on this CPU: a small product is set up through the same path a model takes.
    public static func bf16Support(features: CPUFeatures = .current) -> PrecisionChoice {
        let w = BF16LinearWeights(weight: [Float](repeating: 0, count: 64 * 64), outFeatures: 64, inFeatures: 64,
                                  features: features)
        if let reason = w.fallbackReason { return .fp32(requested: .bf16, reason: reason) }
        return PrecisionChoice(requested: .bf16, used: .bf16, path: w.path, implementation: w.implementation,
                               fallbackReason: nil)
    }
}

extension MambaMixer {
    /// Sets the precision of this mixer's projections; `tiedTo` as in `MixerBF16Weights.make`.
    mutating func usePrecision(_ p: Precision, features: CPUFeatures, tiedTo shared: MambaMixer? = nil) -> PrecisionChoice {
        guard p == .bf16 else { lowPrecision = nil; return .fp32() }
        switch MixerBF16Weights.make(self, tiedTo: shared?.lowPrecision, features: features) {
        case .success(let w):
            lowPrecision = w
            return w.choice
        case .failure(let f):
            lowPrecision = nil
            return .fp32(requested: .bf16, reason: f.reason)
        }
    }
}

extension MambaLMModel {
    /// Sets the precision of every mixer's projections (see `Precision`).
    @discardableResult
    public mutating func usePrecision(_ p: Precision, features: CPUFeatures = .current) -> PrecisionChoice {
        var choice = PrecisionChoice.fp32(requested: p)
        for i in layers.indices { choice = layers[i].mixer.usePrecision(p, features: features) }
        return choice
    }
}

extension CaduceusModel {
    /// Sets the precision of every mixer's projections (see `Precision`); tied reverse mixers share the forward
    /// mixer's bf16 in_proj/out_proj.
    @discardableResult
    public mutating func usePrecision(_ p: Precision, features: CPUFeatures = .current) -> PrecisionChoice {
        var choice = PrecisionChoice.fp32(requested: p)
        for i in layers.indices {
            choice = layers[i].mixer.fwd.usePrecision(p, features: features)
            if layers[i].mixer.rev != nil {
                let shared = layers[i].mixer.weightTie ? layers[i].mixer.fwd : nil
                _ = layers[i].mixer.rev!.usePrecision(p, features: features, tiedTo: shared)
            }
        }
        return choice
    }
}

extension SequenceModel {
    /// `usePrecision` on whichever model this is; models without projections to lower stay fp32.
    @discardableResult
    public mutating func usePrecision(_ p: Precision, features: CPUFeatures = .current) -> PrecisionChoice {
        if var m = self as? MambaLMModel {
            let c = m.usePrecision(p, features: features)
            if let s = m as? Self { self = s }
            return c
        }
        if var m = self as? CaduceusModel {
            let c = m.usePrecision(p, features: features)
            if let s = m as? Self { self = s }
            return c
        }
        return .fp32(requested: p, reason: p == .bf16 ? "\(architecture) has no bf16 path" : nil)
    }
}
