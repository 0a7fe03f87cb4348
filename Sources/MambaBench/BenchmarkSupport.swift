import Foundation
import MambaModel

/// Timing, memory and model helpers shared by the benchmark suites.
public enum BenchClock {
    /// Monotonic wall time in seconds.
    public static func wall() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// CPU time of the calling thread in seconds: on a shared machine it is not inflated by other
    /// processes taking the core, so it is the honest single-thread figure there.
    public static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// CPU time of the whole process (all threads) in seconds.
    public static func processCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Peak resident set size of this process so far, in MiB (getrusage ru_maxrss is KiB on Linux).
    public static func peakRSSMiB() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_maxrss) / 1024
    }

    public static func median(_ xs: [Double]) -> Double {
        precondition(!xs.isEmpty)
        let s = xs.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// One warm-up call, then `runs` timed calls: wall, calling-thread CPU and whole-process CPU seconds per run.
    public static func measure(runs: Int, _ body: () -> Void) -> (wall: [Double], cpu: [Double], processCPU: [Double]) {
        body()
        var w: [Double] = [], c: [Double] = [], p: [Double] = []
        for _ in 0..<max(1, runs) {
            let c0 = threadCPU(), p0 = processCPU(), w0 = wall()
            body()
            w.append(wall() - w0)
            c.append(threadCPU() - c0)
            p.append(processCPU() - p0)
        }
        return (w, c, p)
    }
}

/// The fixed benchmark models: random weights from a seed, so every run (and every machine) sees the same model.
public enum BenchModels {
    /// mamba_ssm MixerModel, d_state 16, expand 2, d_conv 4, vocab 16.
    public static func mambaConfig(dModel: Int, layers: Int) -> MambaLMConfig {
        MambaLMConfig(layout: .mambaSSM, nLayer: layers, vocabSize: 16, mixer: MixerConfig(dModel: dModel))
    }

    public static func mamba(dModel: Int, layers: Int, seed: UInt64 = 1) throws -> MambaLMModel {
        try MambaInit.randomLM(config: mambaConfig(dModel: dModel, layers: layers), seed: seed)
    }

    /// Caduceus-PS dims: bidirectional (weight-tied, add), RCPS, fused add+norm. Its mixers come from random
    /// Mamba stacks (same initialisation); the reverse mixer of each layer shares in_proj/out_proj with the forward one.
    public static func caduceus(dModel: Int, layers: Int, seed: UInt64 = 1) throws -> CaduceusModel {
        var c = CaduceusConfig(nLayer: layers, vocabSize: 16, mixer: MixerConfig(dModel: dModel))
        c.rcps = true
        // Character tokenizer: A=7 ↔ T=10, C=8 ↔ G=9, every other id is its own complement.
        var comp = Array(0..<16)
        comp[7] = 10; comp[10] = 7; comp[8] = 9; comp[9] = 8
        c.complementMap = comp
        let f = try mamba(dModel: dModel, layers: layers, seed: seed)
        let r = try mamba(dModel: dModel, layers: layers, seed: seed &+ 1)
        let layers: [(NormLayer, BiMambaMixer)] = zip(f.layers, r.layers).map { fl, rl in
            var rev = rl.mixer
            rev.inProjWeight = fl.mixer.inProjWeight; rev.inProjBias = fl.mixer.inProjBias
            rev.outProjWeight = fl.mixer.outProjWeight; rev.outProjBias = fl.mixer.outProjBias
            return (fl.norm, BiMambaMixer(fwd: fl.mixer, rev: rev, strategy: .add, weightTie: true))
        }
        return CaduceusModel(config: c, embedding: f.embedding, layers: layers, normF: f.normF, lmHead: f.embedding,
                             complementMap: c.paddedComplementMap)
    }

    /// `count` random bases as token ids (A, C, G, T = 7…10), from a seed.
    public static func randomTokens(_ count: Int, seed: UInt64 = 7) -> [Int32] {
        var rng = RandomSource(seed: seed)
        return (0..<count).map { _ in Int32(7 + rng.nextInt(below: 4)) }
    }
}
