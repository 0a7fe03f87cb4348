import CDNNL
import Foundation

/// Weights of one `nn.Linear` ([outFeatures, inFeatures], row-major) prepared once for `Gemm.linearBF16`.
///
/// On a CPU with bf16 instructions (`CPUFeatures.bf16Path` ≠ `.none`) and a oneDNN that runs bf16 products natively
/// there, the weights are kept only as bf16 (rounded to nearest even) and products go through oneDNN's matmul with
/// fp32 accumulation. Otherwise the fp32 weights are kept and every product is the fp32 `Gemm.linear`: `path` is
/// then `.none` and `fallbackReason` says why.
public final class BF16LinearWeights: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// The bf16 instructions the products use; `.none`: the fp32 fallback.
    public let path: BF16Path
    /// Why the fp32 fallback was taken (nil on the bf16 path).
    public let fallbackReason: String?
    /// oneDNN's name for the implementation it picked (e.g. "brg:avx512_core_bf16"); "" on the fallback.
    public let implementation: String

    /// bf16 bits, [outFeatures, inFeatures] row-major (nil on the fallback).
    let bf16: UnsafeMutablePointer<UInt16>?
    /// fp32 weights (only on the fallback).
    let fp32: [Float]

    struct Key: Hashable { var rows, ldy: Int; var sum: Bool; var team = 1 }
    /// The row counts products are cut into (see `Gemm.linearBF16`); fewer than 8 rows left over run as an 8-row
    /// piece padded with zero rows. (oneDNN may pick a one-row kernel that sums in another order: a row must get the
    /// same bits whichever piece it lands in.)
    public static let pieceRows = [512, 128, 32, 8]
    private let primitives = OneDNNPrimitives<Key>()

    /// Converts `weight` ([outFeatures, inFeatures], row-major fp32). `features` decides the path (tests pass
    /// `CPUFeatures.none` to take the fallback on any machine).
    public init(weight: [Float], outFeatures: Int, inFeatures: Int, features: CPUFeatures = .current) {
        precondition(outFeatures > 0 && inFeatures > 0, "empty weight matrix")
        precondition(weight.count == outFeatures * inFeatures,
                     "weight has \(weight.count) values, not \(outFeatures)×\(inFeatures)")
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        var reason: String?
        var impl = ""
        if features.bf16Path == .none {
            reason = "CPU has no avx512_bf16 or amx_bf16"
        } else {
            switch OneDNN.probe(outFeatures: outFeatures, inFeatures: inFeatures) {
            case .success(let name): impl = name
            case .failure(let why): reason = why.description
            }
        }
        if let reason {
            path = .none
            fallbackReason = reason
            implementation = ""
            bf16 = nil
            fp32 = weight
        } else {
            path = features.bf16Path
            fallbackReason = nil
            implementation = impl
            let b = UnsafeMutablePointer<UInt16>.allocate(capacity: weight.count)
            weight.withUnsafeBufferPointer { BFloat16.convert($0.baseAddress!, to: b, count: $0.count) }
            bf16 = b
            fp32 = []
        }
    }

    /// Matmul primitives built so far (bounded: see `pieceRows`).
    public var cachedPrimitiveCount: Int { primitives.count }

    deinit { bf16?.deallocate() }

    /// The matmul primitive for this shape: built once per (rows, ldy, accumulate, OpenMP team size) and kept, since
    /// oneDNN plans its blocking and thread split when it builds one (on the calling thread's OpenMP setting).
    /// Row counts are those of `pieceRows`, so the cache stays small.
    fileprivate func primitive(rows: Int, ldy: Int, sum: Bool, team: Int) -> OpaquePointer {
        // The same primitive was built for one row at init, so its building here is not expected to fail.
        primitives.primitive(Key(rows: rows, ldy: ldy, sum: sum, team: team)) {
            OneDNN.matmul(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, ldy: ldy, sum: sum)
        }
    }
}

/// oneDNN matmul primitives built once per key and kept until the cache goes (a primitive plans its blocking and
/// thread split when it is built, so it is worth keeping; keys are bounded by the row pieces).
final class OneDNNPrimitives<Key: Hashable>: @unchecked Sendable {
    private var built: [Key: OpaquePointer] = [:]
    private let lock = NSLock()

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return built.count
    }

    /// The primitive for `key`, built by `make` the first time. `make` failing is a bug: callers probe the shape
    /// first.
    func primitive(_ key: Key, _ make: () -> Result<(OpaquePointer, String), OneDNN.OneDNNError>) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let p = built[key] { return p }
        switch make() {
        case .success(let (p, _)):
            built[key] = p
            return p
        case .failure(let why):
            fatalError("oneDNN matmul for \(key): \(why)")
        }
    }

    deinit { for p in built.values { dnnl_primitive_destroy(p) } }
}

extension Gemm {
    /// `nn.Linear` with bf16 inputs: y[rows, out] = bf16(x)[rows, in] · bf16(W)ᵀ (+ bias), products of bf16 values
    /// accumulated in fp32, fp32 output. x is rounded to bf16 on each call (row stride `ldx`); `ldy` writes into a
    /// wider buffer; `accumulate` adds to y instead of overwriting it (bias then ignored, as in `linear`).
    /// `threads` and `threading` choose how the product is spread (see `BF16Threading`).
    /// Returns the path taken: `.none` when `weight` is on the fp32 fallback, which then runs `Gemm.linear` on the
    /// fp32 weights on `threads` OpenBLAS threads.
    @discardableResult
    public static func linearBF16(x: UnsafePointer<Float>, rows: Int, ldx: Int? = nil,
                                  weight: BF16LinearWeights, bias: UnsafePointer<Float>? = nil,
                                  y: UnsafeMutablePointer<Float>, ldy: Int? = nil, accumulate: Bool = false,
                                  threads: Int = 1,
                                  threading: BF16Threading = .oneDNN) -> BF16Path {
        let k = weight.inFeatures, n = weight.outFeatures
        let lx = ldx ?? k, ly = ldy ?? n
        precondition(lx >= k && ly >= n, "row strides smaller than the rows")
        guard let wb = weight.bf16 else {
            weight.fp32.withUnsafeBufferPointer { w in
                linear(x: x, rows: rows, inFeatures: k, ldx: lx, weight: w.baseAddress!, bias: bias, outFeatures: n,
                       y: y, ldy: ly, accumulate: accumulate, threads: threads)
            }
            return .none
        }
        if rows == 0 { return weight.path }
        let sum = bias != nil || accumulate
        if threading == .oneDNN || threads <= 1 {
            if let bias, !accumulate { for r in 0..<rows { (y + r * ly).update(from: bias, count: n) } }
            let xb = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * k)
            defer { xb.deallocate() }
            BFloat16.convertRows(x, lds: lx, rows: rows, columns: k, to: xb, threads: threads)
            let team = Swift.max(1, threads)
            mamba_dnnl_set_threads(Int32(team))
            multiplyPieces(weight, rows: rows, src: xb, weights: wb, dst: y, ldy: ly, sum: sum, team: team)
            return weight.path
        }
        // .rowBlocks: one block of rows per thread, each rounded and multiplied by a one-thread primitive.
        let parts = Swift.max(1, Swift.min(threads, rows / 16))
        Parallel.run(parts) { part in
            let r0 = rows * part / parts, r1 = rows * (part + 1) / parts, m = r1 - r0
            if m == 0 { return }
            if let bias, !accumulate {
                for r in r0..<r1 { (y + r * ly).update(from: bias, count: n) }
            }
            let xb = UnsafeMutablePointer<UInt16>.allocate(capacity: m * k)
            defer { xb.deallocate() }
            BFloat16.convertRows(x + r0 * lx, lds: lx, rows: m, columns: k, to: xb)
            mamba_dnnl_set_threads(1)
            multiplyPieces(weight, rows: m, src: xb, weights: wb, dst: y + r0 * ly, ldy: ly, sum: sum, team: 1)
        }
        return weight.path
    }

    /// Row counts of the primitives `linearBF16` builds: any row count is run as pieces of these sizes, largest
    /// first, so a weight keeps at most `BF16LinearWeights.pieceRows.count` primitives per (ldy, sum, team) however
    /// many different row counts it sees (packed reads give a new one per batch).
    private static func multiplyPieces(_ weight: BF16LinearWeights, rows: Int, src: UnsafeMutablePointer<UInt16>,
                                       weights: UnsafeMutablePointer<UInt16>, dst: UnsafeMutablePointer<Float>,
                                       ldy: Int, sum: Bool, team: Int) {
        OneDNN.multiplyInPieces(rows: rows, inFeatures: weight.inFeatures, outFeatures: weight.outFeatures,
                                src: UnsafeRawPointer(src), ldx: weight.inFeatures, elementBytes: 2,
                                weights: UnsafeMutableRawPointer(weights), dst: dst, ldy: ldy, sum: sum) { pieceRows, _ in
            weight.primitive(rows: pieceRows, ldy: ldy, sum: sum, team: team)
        }
    }

    /// The arithmetic `linearBF16` stands for, written out plainly: x and W rounded to bf16 (nearest even), each
    /// output the sum of the exact products in Double, plus bias (or plus y when `accumulate`), rounded once to Float.
    public static func linearBF16Reference(x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil,
                                           weight: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil,
                                           outFeatures: Int, y: UnsafeMutablePointer<Float>, ldy: Int? = nil,
                                           accumulate: Bool = false) {
        let lx = ldx ?? inFeatures, ly = ldy ?? outFeatures
        let wr = (0..<(outFeatures * inFeatures)).map { Double(BFloat16.rounded(weight[$0])) }
        var xr = [Double](repeating: 0, count: inFeatures)
        for r in 0..<rows {
            for i in 0..<inFeatures { xr[i] = Double(BFloat16.rounded(x[r * lx + i])) }
            for o in 0..<outFeatures {
                var s = 0.0
                for i in 0..<inFeatures { s += xr[i] * wr[o * inFeatures + i] }
                if accumulate { s += Double(y[r * ly + o]) } else if let bias { s += Double(bias[o]) }
                y[r * ly + o] = Float(s)
            }
        }
    }
}

/// How `Gemm.linearBF16` spreads one product over threads.
public enum BF16Threading: String, Sendable, CaseIterable {
    /// oneDNN's own OpenMP team (its threads spin between products). Fastest on idle cores: on the 2-vCPU Zen 4,
    /// 2 threads, x_proj ≈ 200 and out_proj ≈ 320 GFLOP/s. When another process holds a core, the team waits for
    /// its missing member: x_proj fell to 12.6 GFLOP/s.
    case oneDNN
    /// One block of rows per thread through `Parallel.run` (Dispatch), each a one-thread oneDNN product: the
    /// blocks of a thread that gets no core are run by the others, so a busy core costs at most its share; on idle
    /// cores small products are slower (x_proj ≈ 145, out_proj ≈ 215 GFLOP/s on 2 threads).
    case rowBlocks
}

/// The few oneDNN calls the bf16 products need: one CPU engine, matmul primitives, execution.
enum OneDNN {
    static let engine: OpaquePointer? = {
        var e: OpaquePointer?
        return dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success ? e : nil
    }()

    /// Whether oneDNN builds a native (non-reference) bf16 matmul of this weight shape: its implementation name.
    static func probe(outFeatures: Int, inFeatures: Int) -> Result<String, OneDNNError> {
        // oneDNN emulates bf16 on plain AVX-512 (slower than fp32) when its ISA is capped, e.g. by
        // ONEDNN_MAX_CPU_ISA: require the bf16 bit (set in avx512_core_bf16 and avx512_core_amx).
        let isa = dnnl_get_effective_cpu_isa().rawValue
        if isa & 0x80 == 0 {
            return .failure(OneDNNError(description: "oneDNN is limited to an ISA without bf16 (dnnl_cpu_isa 0x\(String(isa, radix: 16)))"))
        }
        switch matmul(rows: 1, inFeatures: inFeatures, outFeatures: outFeatures, ldy: outFeatures, sum: false) {
        case .success(let (p, impl)):
            dnnl_primitive_destroy(p)
            return .success(impl)
        case .failure(let e): return .failure(e)
        }
    }

    struct OneDNNError: Error, CustomStringConvertible { var description: String }

    /// dst[rows, out] (row stride `ldy`) = src · W through matmul primitives of `BF16LinearWeights.pieceRows` rows,
    /// largest first; fewer than 8 rows left over run as an 8-row piece padded with zero rows (copied to a packed
    /// buffer, so src row stride `inFeatures` there). A row gets the same bits whichever piece it lands in: oneDNN
    /// may pick a one-row kernel that sums in another order, so no piece is smaller than 8 rows. `src` rows are
    /// `ldx` elements of `elementBytes` apart; `primitive(rows, ldx)` gives the matmul for a piece.
    static func multiplyInPieces(rows: Int, inFeatures k: Int, outFeatures n: Int, src: UnsafeRawPointer, ldx: Int,
                                 elementBytes: Int, weights: UnsafeMutableRawPointer, dst: UnsafeMutablePointer<Float>,
                                 ldy: Int, sum: Bool, primitive: (_ rows: Int, _ ldx: Int) -> OpaquePointer) {
        var r = 0
        for piece in BF16LinearWeights.pieceRows {
            while rows - r >= piece {
                execute(primitive(piece, ldx), src: UnsafeMutableRawPointer(mutating: src + r * ldx * elementBytes),
                        weights: weights, dst: dst + r * ldy)
                r += piece
            }
        }
        let left = rows - r, last = BF16LinearWeights.pieceRows.last!
        guard left > 0 else { return }
        let rowBytes = k * elementBytes
        let srcPad = UnsafeMutableRawPointer.allocate(byteCount: last * rowBytes, alignment: 64)
        let dstPad = UnsafeMutablePointer<Float>.allocate(capacity: last * ldy)
        defer { srcPad.deallocate(); dstPad.deallocate() }
        srcPad.initializeMemory(as: UInt8.self, repeating: 0, count: last * rowBytes)
        dstPad.initialize(repeating: 0, count: last * ldy)
        for i in 0..<left {
            (srcPad + i * rowBytes).copyMemory(from: src + (r + i) * ldx * elementBytes, byteCount: rowBytes)
            if sum { (dstPad + i * ldy).update(from: dst + (r + i) * ldy, count: n) }
        }
        execute(primitive(last, k), src: srcPad, weights: weights, dst: dstPad)
        for i in 0..<left { (dst + (r + i) * ldy).update(from: dstPad + i * ldy, count: n) }
    }

    /// src bf16 [rows, in] packed, weights bf16 [in, out] read from W [out, in] row-major (strides 1, in), dst fp32
    /// [rows, out] with row stride `ldy`; `sum` adds the product to dst. A reference ("ref:") implementation counts
    /// as unavailable: it is far slower than the fp32 product.
    static func matmul(rows: Int, inFeatures k: Int, outFeatures n: Int, ldy: Int, sum: Bool,
                       fp32: Bool = false, ldx: Int? = nil) -> Result<(OpaquePointer, String), OneDNNError> {
        guard let engine else { return .failure(OneDNNError(description: "oneDNN has no CPU engine")) }
        let type = fp32 ? dnnl_f32 : dnnl_bf16, what = fp32 ? "fp32" : "bf16"
        var src = dnnl_memory_desc_t(), wei = dnnl_memory_desc_t(), dst = dnnl_memory_desc_t()
        var st = dnnl_memory_desc_init_by_strides(&src, 2, [Int64(rows), Int64(k)], type, [Int64(ldx ?? k), 1])
        if st == dnnl_success {
            st = dnnl_memory_desc_init_by_strides(&wei, 2, [Int64(k), Int64(n)], type, [1, Int64(k)])
        }
        if st == dnnl_success {
            st = dnnl_memory_desc_init_by_strides(&dst, 2, [Int64(rows), Int64(n)], dnnl_f32, [Int64(ldy), 1])
        }
        var desc = dnnl_matmul_desc_t()
        if st == dnnl_success { st = dnnl_matmul_desc_init(&desc, &src, &wei, nil, &dst) }
        guard st == dnnl_success else { return .failure(OneDNNError(description: "oneDNN matmul descriptor: status \(st.rawValue)")) }
        var attr: dnnl_primitive_attr_t?
        dnnl_primitive_attr_create(&attr)
        defer { dnnl_primitive_attr_destroy(attr) }
        // Scratch memory comes with each call (see `execute`), so one primitive may run on several threads at once.
        dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)
        if sum {
            var po: dnnl_post_ops_t?
            dnnl_post_ops_create(&po)
            dnnl_post_ops_append_sum(po, 1)
            dnnl_primitive_attr_set_post_ops(attr, po)
            dnnl_post_ops_destroy(po)
        }
        var pd: dnnl_primitive_desc_t?
        st = withUnsafePointer(to: &desc) { d in
            dnnl_primitive_desc_create(&pd, UnsafeRawPointer(d), attr, engine, nil)
        }
        guard st == dnnl_success, let pd else {
            return .failure(OneDNNError(description: "oneDNN has no \(what) matmul on this CPU (status \(st.rawValue))"))
        }
        defer { dnnl_primitive_desc_destroy(pd) }
        var implC: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &implC)
        let impl = implC.map { String(cString: $0) } ?? "?"
        if impl.hasPrefix("ref") {
            return .failure(OneDNNError(description: "oneDNN's \(what) matmul here is its reference code (\(impl))"))
        }
        var prim: dnnl_primitive_t?
        guard dnnl_primitive_create(&prim, pd) == dnnl_success, let prim else {
            return .failure(OneDNNError(description: "oneDNN could not build the \(what) matmul"))
        }
        return .success((prim, impl))
    }

    /// Runs a matmul from `matmul` on the calling thread's stream; returns when the product is in dst.
    static func execute(_ p: OpaquePointer, src: UnsafeMutableRawPointer, weights: UnsafeMutableRawPointer,
                        dst: UnsafeMutablePointer<Float>) {
        var pd: const_dnnl_primitive_desc_t?
        dnnl_primitive_get_primitive_desc(p, &pd)
        var sm: dnnl_memory_t?, wm: dnnl_memory_t?, dm: dnnl_memory_t?, pm: dnnl_memory_t?, stream: dnnl_stream_t?
        let scratchMD = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)
        let scratchBytes = scratchMD.map { dnnl_memory_desc_get_size($0) } ?? 0
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(64, scratchBytes), alignment: 64)
        dnnl_memory_create(&sm, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), engine, src)
        dnnl_memory_create(&wm, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), engine, weights)
        dnnl_memory_create(&dm, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), engine, dst)
        if scratchBytes > 0 { dnnl_memory_create(&pm, scratchMD, engine, scratch) }
        dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue)
        defer {
            dnnl_memory_destroy(sm); dnnl_memory_destroy(wm); dnnl_memory_destroy(dm); dnnl_memory_destroy(pm)
            dnnl_stream_destroy(stream); scratch.deallocate()
        }
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: sm), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: wm),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: dm)]
        if let pm { args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: pm)) }
        let st = dnnl_primitive_execute(p, stream, Int32(args.count), &args)
        precondition(st == dnnl_success, "oneDNN matmul failed: status \(st.rawValue)")
        dnnl_stream_wait(stream)
    }
}
