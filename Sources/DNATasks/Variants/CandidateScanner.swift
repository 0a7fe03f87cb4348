import SeqIO

/// Turns the pileup columns of one scanned range into candidate alleles with their features.
///
/// Columns are scanned over `scanRange` (which should extend past `keepRange` on the left, so an
/// indel that left-aligns into the kept range from outside it is still seen), and only alleles whose
/// normalised position lies in `keepRange` are returned: adjacent chunks then report each allele once.
final class CandidateScanner {
    let contig: Int
    let keepRange: Range<Int>
    let options: CandidateOptions
    /// Reference bases from 0-based `windowStart` (upper case, ambiguity codes as `N`), covering
    /// `scanRange` plus flanks.
    let window: [UInt8]
    let windowStart: Int
    var columns: ColumnStats
    var alleles: [Allele: AlleleEvidence] = [:]
    /// Longest read seen (query positions + 1): read-end distances are measured against it, since a
    /// pileup entry does not carry its read's length.
    var readLength = 1

    init(contig: Int, scanRange: Range<Int>, keepRange: Range<Int>, window: [UInt8], windowStart: Int,
         options: CandidateOptions) {
        self.contig = contig
        self.keepRange = keepRange
        self.options = options
        self.window = window.map(IndelNormalizer.referenceBase)
        self.windowStart = windowStart
        columns = ColumnStats(start: scanRange.lowerBound, count: scanRange.count)
    }

    func refBase(_ position: Int) -> UInt8? {
        let i = position - windowStart
        return i >= 0 && i < window.count ? window[i] : nil
    }

    /// Positions of the scanned range inside realignment windows (`LocalRealigner`): their columns
    /// come from `addRealigned`, not from the pileup.
    private var masked: [Bool] = []

    /// Marks 0-based half-open windows whose columns `addRealigned` fills.
    func mask(_ windows: [Range<Int>]) {
        if masked.isEmpty { masked = Array(repeating: false, count: columns.count) }
        for w in windows { for p in w { if let i = columns.index(p) { masked[i] = true } } }
    }

    func isMasked(_ position: Int) -> Bool {
        guard !masked.isEmpty, let i = columns.index(position) else { return false }
        return masked[i]
    }

    /// Adds one pileup column (0-based position inside the scanned range; others, and positions in
    /// realignment windows, are ignored).
    func add(position: Int, entries: [PileupEntry]) {
        if isMasked(position) { return }
        accumulate(position: position, entries: entries)
    }

    /// Adds the realigned observations of the reads in `windows` (0-based half-open, as masked):
    /// every window position becomes a column of them.
    func addRealigned(_ windows: [Range<Int>], reads: [AlignedRead], minBaseQuality: Int) {
        guard !windows.isEmpty, !reads.isEmpty else { return }
        let longest = reads.reduce(0) { max($0, $1.extendedSpan.count) }
        var lo = 0
        for w in windows {
            guard let first = refBase(w.lowerBound), first > 0, refBase(w.upperBound - 1) != nil else { continue }
            let ref = w.map { refBase($0)! }
            while lo < reads.count && reads[lo].position < w.lowerBound - longest { lo += 1 }
            var indices: [Int] = []
            var k = lo
            while k < reads.count && reads[k].position < w.upperBound + longest {
                let span = reads[k].extendedSpan
                if span.lowerBound < w.upperBound && span.upperBound > w.lowerBound { indices.append(k) }
                k += 1
            }
            let obs = LocalRealigner.realign(window: w, reference: ref, reads: reads, indices: indices,
                                             minBaseQuality: minBaseQuality)
            var byPosition = [[RealignedObservation]](repeating: [], count: w.count)
            for o in obs { byPosition[o.position - w.lowerBound].append(o) }
            for (i, column) in byPosition.enumerated() { accumulate(position: w.lowerBound + i, entries: column) }
        }
    }

    /// Counts one column's reads (pileup entries or realigned observations).
    private func accumulate<E: ColumnRead>(position: Int, entries: [E]) {
        guard let ci = columns.index(position), let ref = refBase(position) else { return }
        var depth: Int32 = 0, refReads: Int32 = 0, mismatches: Int32 = 0, refForward: Int32 = 0, mq0: Int32 = 0
        var rescued: Int32 = 0, realigned: Int32 = 0
        var refQual: Float = 0, refMapq: Float = 0, refEnd: Float = 0
        var refEvidence = ReadEvidence()
        for e in entries {
            if e.isRefSkip { continue }
            depth += 1
            if e.mappingQuality == 0 { mq0 += 1 }
            if e.fromClip { rescued += 1 }
            if e.moved { realigned += 1 }
            if e.queryPosition >= readLength { readLength = e.queryPosition + 1 }
            let endDistance = Float(min(e.queryPosition, max(0, readLength - 1 - e.queryPosition)))
            if e.isDeletion { mismatches += 1; continue }
            let base = IndelNormalizer.upper(e.base)
            if base != ref && base != UInt8(ascii: "N") {
                mismatches += 1
                record(Allele(contig: contig, position: position, ref: [ref], alt: [base]), e, endDistance)
            } else if base == ref && e.indel == 0 {
                refReads += 1
                if !e.isReverse { refForward += 1 }
                refQual += Float(e.quality); refMapq += Float(e.mappingQuality); refEnd += endDistance
                refEvidence.add(e.read, mappingQuality: e.mappingQuality, ownEdits: 0)
            }
            if e.indel != 0 {
                if base == ref { mismatches += 1 }
                let at = position + 1
                let normal = window.withUnsafeBufferPointer {
                    IndelNormalizer.normalize(at: at, inserted: e.indel > 0 ? e.insertedBases : [],
                                              deleted: e.indel < 0 ? -e.indel : 0, window: $0, windowStart: windowStart)
                }
                if let n = normal, !n.alt.contains(UInt8(ascii: "N")) {
                    record(Allele(contig: contig, position: n.position, ref: n.ref, alt: n.alt), e, endDistance)
                }
            }
        }
        columns.depth[ci] = depth; columns.refReads[ci] = refReads; columns.mismatches[ci] = mismatches
        columns.refForward[ci] = refForward; columns.mapq0[ci] = mq0
        columns.refQualSum[ci] = refQual; columns.refMapqSum[ci] = refMapq; columns.refEndDistanceSum[ci] = refEnd
        columns.refReadEvidence[ci] = refEvidence
        columns.rescued[ci] = rescued; columns.realigned[ci] = realigned
    }

    /// Adds one read's rescued soft-clipped bases (`SoftClipRescue`) as extra reads of their columns.
    /// Bases inside realignment windows are left out: the realigned reads already hold them.
    func addRescued(_ bases: [RescuedBase], read: ReadSummary, mappingQuality: Int, isReverse: Bool, readLength length: Int) {
        for b in bases {
            guard !isMasked(b.position), let ci = columns.index(b.position), let ref = refBase(b.position) else { continue }
            let endDistance = Float(min(b.queryPosition, max(0, length - 1 - b.queryPosition)))
            columns.depth[ci] += 1
            columns.rescued[ci] += 1
            if mappingQuality == 0 { columns.mapq0[ci] += 1 }
            if b.base == ref {
                columns.refReads[ci] += 1
                if !isReverse { columns.refForward[ci] += 1 }
                columns.refQualSum[ci] += Float(b.quality); columns.refMapqSum[ci] += Float(mappingQuality)
                columns.refEndDistanceSum[ci] += endDistance
                columns.refReadEvidence[ci].add(read, mappingQuality: mappingQuality, ownEdits: 0)
            } else {
                columns.mismatches[ci] += 1
                let allele = Allele(contig: contig, position: b.position, ref: [ref], alt: [b.base])
                alleles[allele, default: AlleleEvidence()].addRescued(b, read: read, mappingQuality: mappingQuality,
                                                                      isReverse: isReverse, endDistance: endDistance)
            }
        }
    }

    private func record<E: ColumnRead>(_ allele: Allele, _ e: E, _ endDistance: Float) {
        alleles[allele, default: AlleleEvidence()].add(e, endDistance: endDistance, ownEdits: allele.isSNP ? 1 : abs(allele.lengthChange))
    }

    /// The candidates whose position is in the kept range, sorted as a VCF.
    func finish() -> [Candidate] {
        let median = columns.medianDepth()
        let haplotypeCounts = countHaplotypes(reusing: firstCounts)
        // Alleles only assembly found take their read evidence from the reads the haplotypes gave them.
        for (a, ev) in assembledEvidence { alleles[a, default: AlleleEvidence()].merge(ev) }
        var out: [Candidate] = []
        for (allele, ev) in alleles where keepRange.contains(allele.position) {
            guard ev.count >= options.minAltReads, let ci = columns.index(allele.position) else { continue }
            let depth = Int(columns.depth[ci])
            let hc = haplotypeCounts[allele]
            // An allele only assembly found may sit where every read is clipped (no pileup depth); its reads are the haplotypes'.
            guard depth > 0 || (hc != nil && assembledSites.contains(allele)) else { continue }
            if let hc {
                guard hc.alt >= options.minAltReads,
                      Double(hc.alt) / Double(hc.informative) >= options.minIndelFraction else { continue }
            } else {
                let fraction = Double(ev.count) / Double(max(depth, ev.count))
                guard fraction >= (allele.isSNP ? options.minSNPFraction : options.minIndelFraction) else { continue }
            }
            let features = VariantFeatures.compute(allele: allele, evidence: ev, column: ci, stats: columns,
                                                   medianDepth: median, readLength: readLength, scanner: self,
                                                   haplotype: hc)
            if let hc {
                out.append(Candidate(allele: allele, depth: hc.informative, refCount: hc.ref, altCount: hc.alt,
                                     depthMapq0: hc.informativeMapq0, altMapq0: hc.altMapq0, features: features))
            } else {
                out.append(Candidate(allele: allele, depth: max(depth, ev.count), refCount: Int(columns.refReads[ci]),
                                     altCount: ev.count, depthMapq0: Int(columns.mapq0[ci]), altMapq0: ev.mapq0,
                                     features: features))
            }
        }
        return out.sorted { $0.allele < $1.allele }
    }

    // MARK: Haplotype evidence for indels

    /// Indel alleles whose reads are compared against haplotypes (`HaplotypeEvidence`), sorted; set by
    /// `prepareHaplotypeSites` once the pileup is scanned.
    private(set) var haplotypeSites: [Allele] = []
    /// Prefix sums over the scanned range of the positions the sites touch (`wantsRead`).
    private var siteCover: [Int32] = []
    /// Reads that overlap a site, in file order (`collect`).
    private(set) var haplotypeReads: [AlignedRead] = []

    /// Picks the indel alleles that get haplotype evidence: in the kept range, with at least
    /// `minAltReads` pileup reads and at most `HaplotypeEvidence.maxIndel` bases. Call after the pileup.
    func prepareHaplotypeSites() {
        guard options.haplotypeEvidence != .off else { return }
        haplotypeSites = alleles.compactMap { a, ev in
            !a.isSNP && ev.count >= options.minAltReads && abs(a.lengthChange) <= HaplotypeEvidence.maxIndel
                && keepRange.contains(a.position) ? a : nil
        }.sorted()
        siteCover = buildCover(haplotypeSites)
    }

    /// Whether a read covering `span` (soft clips laid on ungapped) overlaps a haplotype site.
    func wantsRead(_ span: Range<Int>) -> Bool { covers(siteCover, span) }

    private func covers(_ cover: [Int32], _ span: Range<Int>) -> Bool {
        guard !cover.isEmpty else { return false }
        let lo = max(0, min(columns.count, span.lowerBound - columns.start))
        let hi = max(0, min(columns.count, span.upperBound - columns.start))
        return lo < hi && cover[hi] > cover[lo]
    }

    private func buildCover(_ sites: [Allele]) -> [Int32] {
        guard !sites.isEmpty else { return [] }
        var touched = [Int32](repeating: 0, count: columns.count + 1)
        for a in sites {
            for p in a.position..<(a.position + a.ref.count + 1) { if let i = columns.index(p) { touched[i + 1] = 1 } }
        }
        for i in 1..<touched.count { touched[i] += touched[i - 1] }
        return touched
    }

    /// Keeps a read for the haplotype comparison when it overlaps a site.
    func collect(_ r: AlignedRead) {
        if wantsRead(r.extendedSpan) { haplotypeReads.append(r) }
    }

    // MARK: Indel alleles from clipped sequence

    /// Alleles that reads' clips suggest (`ClippedIndels`), with the evidence of those reads.
    private var clipAlleles: [Allele: AlleleEvidence] = [:]
    /// `siteCover` before the latest `extendSites`: the reads it wants are already collected.
    private var coverBeforeNewSites: [Int32] = []

    /// Notes the indel alleles a read's clips suggest; call for every read of the pass that collects reads.
    func noteClips(_ r: AlignedRead) {
        guard options.clipIndels, options.haplotypeEvidence != .off,
              max(r.leadingClip, r.trailingClip) >= ClippedIndels.minAnchor else { return }
        let found = ClippedIndels.alleles(r, contig: contig, minBaseQuality: options.filter.minBaseQuality,
                                          window: window, windowStart: windowStart)
        guard !found.isEmpty else { return }
        let n = r.sequence.count
        for a in found {
            // The read base next to its clip stands in for the pileup's anchor base.
            let trailingEvent = r.trailingClip >= ClippedIndels.minAnchor && abs(a.position - r.referenceEnd) <= abs(a.position - r.position)
            let qp = trailingEvent ? max(0, n - r.trailingClip - 1) : min(n - 1, r.leadingClip)
            var ev = clipAlleles[a, default: AlleleEvidence()]
            ev.reads.add(r.summary, mappingQuality: r.mappingQuality, ownEdits: 0)
            if r.isReverse { ev.reverse += 1 } else { ev.forward += 1 }
            ev.qualSum += r.qualities[qp] == 0xFF ? 0 : Float(r.qualities[qp])
            ev.mapqSum += Float(r.mappingQuality)
            if r.mappingQuality == 0 { ev.mapq0 += 1 }
            ev.endDistanceSum += Float(min(qp, n - 1 - qp))
            clipAlleles[a] = ev
        }
    }

    /// Turns the clip alleles that `ClippedIndels.minReads` reads suggest, and that the pileup did not
    /// already make haplotype sites, into candidates with haplotype evidence. Call after the pass of
    /// `noteClips`; then pass the reads overlapping the returned sites to `collectForNewSites`.
    /// - Returns: the new sites, sorted.
    func addClipSites() -> [Allele] {
        guard !clipAlleles.isEmpty, options.haplotypeEvidence != .off else { return [] }
        var added: [Allele] = []
        for (a, ev) in clipAlleles where ev.count >= ClippedIndels.minReads && keepRange.contains(a.position)
            && columns.index(a.position) != nil {
            if let known = alleles[a], known.count >= options.minAltReads { continue }
            alleles[a, default: AlleleEvidence()].merge(ev)
            added.append(a)
        }
        guard !added.isEmpty else { return [] }
        added.sort()
        extendSites(added)
        return added
    }

    /// Adds sites after the first read pass; `collectForNewSites` then keeps the reads that only they want.
    private func extendSites(_ added: [Allele]) {
        coverBeforeNewSites = siteCover
        haplotypeSites = (haplotypeSites + added).sorted()
        siteCover = buildCover(haplotypeSites)
    }

    /// Keeps a read that overlaps a site added by the latest `addClipSites` or `assemble` and no earlier site
    /// (the reads of those were collected already).
    func collectForNewSites(_ r: AlignedRead) {
        let span = r.extendedSpan
        if covers(siteCover, span) && !covers(coverBeforeNewSites, span) { haplotypeReads.append(r) }
    }

    // MARK: Haplotypes from local assembly

    /// Active regions assembled by `assemble` (0-based half-open windows, disjoint) and their haplotypes
    /// (window sequence and the alleles it holds).
    private(set) var assembledRegions: [(window: Range<Int>, haplotypes: [(sequence: [UInt8], alleles: [Allele])])] = []
    /// Indel alleles only assembly made sites of, and the evidence of the reads counted for them.
    private var assembledSites: Set<Allele> = []
    private var assembledEvidence: [Allele: AlleleEvidence] = [:]
    /// Haplotype counts of the pass before assembly (kept for the sites outside assembled regions).
    private var firstCounts: [Allele: HaplotypeCounts] = [:]

    /// Assembles the reads of active regions (`LocalAssembly`): windows of `LocalAssembly.regionPadding` bases
    /// around each site where at least `LocalAssembly.activeShare` of the counted reads (and 2) fit no candidate
    /// haplotype. Their haplotypes join the comparison of every site inside them, and their indel alleles that
    /// are no site yet become sites. Call after every read pass (`collect`, `collectForNewSites`); then pass the
    /// reads overlapping the returned ranges to `collectForNewSites`.
    /// - Returns: the windows that hold new sites, sorted.
    func assemble() -> [Range<Int>] {
        guard options.assemble, options.haplotypeEvidence != .off, !haplotypeSites.isEmpty else { return [] }
        firstCounts = countHaplotypes()
        let active = haplotypeSites.filter { a in
            guard let c = firstCounts[a] else { return false }
            return c.other >= LocalAssembly.minReads && Double(c.other) >= LocalAssembly.activeShare * Double(c.informative)
        }
        guard !active.isEmpty else { return [] }
        // Windows around the active sites, merged while they stay under `maxWindow`, inside the columns and the reference.
        let lowest = max(columns.start, windowStart), highest = min(columns.start + columns.count, windowStart + window.count)
        var windows: [Range<Int>] = []
        for a in active {
            let w = max(lowest, a.position - LocalAssembly.regionPadding)..<min(highest, a.position + a.ref.count + LocalAssembly.regionPadding)
            guard !w.isEmpty else { continue }
            if let last = windows.last, w.lowerBound <= last.upperBound {
                if w.upperBound - last.lowerBound <= LocalAssembly.maxWindow {
                    windows[windows.count - 1] = last.lowerBound..<max(last.upperBound, w.upperBound)
                } else if w.upperBound > last.upperBound {
                    windows.append(last.upperBound..<w.upperBound)
                }
            } else {
                windows.append(w)
            }
        }
        let reads = haplotypeReads.sorted { $0.extendedSpan.lowerBound < $1.extendedSpan.lowerBound }
        let longest = reads.reduce(0) { max($0, $1.extendedSpan.count) }
        var lo = 0
        var added: [Allele] = [], addedWindows: [Range<Int>] = []
        let known = Set(haplotypeSites)
        for w in windows {
            while lo < reads.count && reads[lo].extendedSpan.lowerBound < w.lowerBound - longest { lo += 1 }
            var pieces: [LocalAssembly.Read] = []
            var k = lo
            while k < reads.count && reads[k].extendedSpan.lowerBound < w.upperBound {
                let r = reads[k]
                k += 1
                guard r.extendedSpan.upperBound > w.lowerBound else { continue }
                let t = HaplotypeEvidence.Read(r).trimmed(to: w)
                pieces.append(LocalAssembly.Read(sequence: t.sequence, qualities: t.qualities))
            }
            let reference = Array(window[(w.lowerBound - windowStart)..<(w.upperBound - windowStart)])
            guard pieces.count >= LocalAssembly.minReads,
                  let result = LocalAssembly.haplotypes(reference: reference, reads: pieces, minBaseQuality: options.filter.minBaseQuality)
            else { continue }
            let haplotypes = result.haplotypes.compactMap { h -> (sequence: [UInt8], alleles: [Allele])? in
                guard let al = LocalAssembly.alleles(haplotype: h, reference: reference, start: w.lowerBound, contig: contig,
                                                     window: window, windowStart: windowStart), !al.isEmpty else { return nil }
                return (h, al)
            }
            guard !haplotypes.isEmpty else { continue }
            assembledRegions.append((w, haplotypes))
            var fresh = false
            for h in haplotypes {
                for a in h.alleles where !a.isSNP && keepRange.contains(a.position) && columns.index(a.position) != nil
                    && a.position >= w.lowerBound && a.position + a.ref.count <= w.upperBound && !known.contains(a) && !added.contains(a) {
                    added.append(a); fresh = true
                }
            }
            if fresh { addedWindows.append(w) }
        }
        guard !added.isEmpty else { return [] }
        added.sort()
        for a in added where alleles[a] == nil { alleles[a] = AlleleEvidence() }
        assembledSites = Set(added)
        extendSites(added)
        return addedWindows
    }

    /// Per-haplotype read counts of the sites (only those `options.haplotypeEvidence` selects).
    /// - Parameter reusing: counts of an earlier pass, kept for sites outside every assembled region.
    private func countHaplotypes(reusing earlier: [Allele: HaplotypeCounts] = [:]) -> [Allele: HaplotypeCounts] {
        guard !haplotypeSites.isEmpty, !haplotypeReads.isEmpty else { return [:] }
        let reads = haplotypeReads.sorted { $0.position < $1.position }
        let longest = reads.reduce(0) { max($0, $1.extendedSpan.count) }
        // Candidate alleles that may share a read with a site, sorted.
        let neighbours = alleles.compactMap { b, ev -> Allele? in
            guard ev.count >= options.minAltReads, abs(b.lengthChange) <= HaplotypeEvidence.maxIndel else { return nil }
            if b.isSNP {
                guard let ci = columns.index(b.position), Double(ev.count) >= 0.2 * Double(columns.depth[ci]) else { return nil }
            }
            return b
        }.sorted()
        var out: [Allele: HaplotypeCounts] = [:]
        var lo = 0
        for a in haplotypeSites {
            let event = a.position..<(a.position + a.ref.count + 1)
            let region = assembledRegions.first { $0.window.lowerBound <= a.position && a.position + a.ref.count <= $0.window.upperBound }
            if region == nil, !earlier.isEmpty {
                if let c = earlier[a] { out[a] = c }
                continue
            }
            while lo < reads.count && reads[lo].position < event.lowerBound - longest { lo += 1 }
            var overlapping: [Int] = []
            var k = lo
            while k < reads.count && reads[k].position - reads[k].leadingClip < event.upperBound {
                let span = reads[k].extendedSpan
                if span.lowerBound < event.upperBound && span.upperBound > event.lowerBound { overlapping.append(k) }
                k += 1
            }
            guard !overlapping.isEmpty else { continue }
            if options.haplotypeEvidence == .clipped {
                // Only events that reads clip at: a clip of ≥ 5 bases whose boundary lies near the event.
                let near = (event.lowerBound - 10)...(event.upperBound + 10)
                let clipped = overlapping.contains { i in
                    let r = reads[i]
                    return (r.leadingClip >= 5 && near.contains(r.position))
                        || (r.trailingClip >= 5 && near.contains(r.referenceEnd))
                }
                guard clipped else { continue }
            }
            // Nearby candidates (indels, and SNPs on at least a fifth of the reads) become haplotype alleles too:
            // a read carrying one of them must not be pushed onto this allele's haplotype for want of its own.
            let near = (a.position - HaplotypeEvidence.competitorDistance)...(a.position + a.ref.count + HaplotypeEvidence.competitorDistance)
            let others = neighbours.filter { b in
                b != a && b.position + b.ref.count >= near.lowerBound && b.position <= near.upperBound
            }.sorted { abs($0.position - a.position) < abs($1.position - a.position) }
            let lower = overlapping.reduce(Int.max) { min($0, reads[$1].extendedSpan.lowerBound) } - 2 * HaplotypeEvidence.maxIndel
            let upper = overlapping.reduce(Int.min) { max($0, reads[$1].extendedSpan.upperBound) } + 2 * HaplotypeEvidence.maxIndel
            var start = max(lower, windowStart), end = min(upper, windowStart + window.count)
            var assembled: [(sequence: [UInt8], alleles: [Allele])] = []
            if let region {
                // The assembled haplotypes cover their window; the reference is laid on either side of it.
                start = min(start, region.window.lowerBound); end = max(end, region.window.upperBound)
                let left = Array(window[(start - windowStart)..<(region.window.lowerBound - windowStart)])
                let right = Array(window[(region.window.upperBound - windowStart)..<(end - windowStart)])
                assembled = region.haplotypes.map { (left + $0.sequence + right, $0.alleles) }
            }
            guard start < end, a.position >= start, a.position + a.ref.count <= end else { continue }
            let haps = HaplotypeEvidence.Haplotypes(start: start, reference: Array(window[(start - windowStart)..<(end - windowStart)]),
                                                    alleles: [a] + others, assembled: assembled)
            guard haps.alleles.first == a else { continue }
            let fromAssembly = assembledSites.contains(a)
            var c = HaplotypeCounts()
            for i in overlapping {
                let r = reads[i]
                let read = HaplotypeEvidence.Read(r)
                let s = HaplotypeEvidence.support(read, haps)
                guard s != .neither else { continue }
                c.informative += 1
                if r.mappingQuality == 0 { c.informativeMapq0 += 1 }
                if s == .misfit { continue }
                if s == .against { c.ref += 1 } else {
                    if fromAssembly { assembledEvidence[a, default: AlleleEvidence()].add(read: r, at: a, anchor: read.leftStart) }
                    c.alt += 1
                    if r.isReverse { c.reverse += 1 } else { c.forward += 1 }
                    c.mapqSum += Float(r.mappingQuality)
                    if r.mappingQuality == 0 { c.altMapq0 += 1 }
                    if r.leadingClip >= SoftClipRescue.minClip || r.trailingClip >= SoftClipRescue.minClip { c.clipped += 1 }
                }
            }
            if c.informative > 0 { out[a] = c }
        }
        return out
    }
}

/// Reads of one indel site assigned to haplotypes (`HaplotypeEvidence`).
struct HaplotypeCounts {
    /// Reads that fit the allele's haplotypes clearly better or worse than the others, or fit none.
    var informative = 0
    var informativeMapq0 = 0
    /// Reads on the reference haplotype and on the allele's.
    var ref = 0
    var alt = 0
    /// The allele's reads by strand, their MAPQ sum, MAPQ-0 count and how many are soft-clipped.
    var forward = 0
    var reverse = 0
    var mapqSum: Float = 0
    var altMapq0 = 0
    var clipped = 0
    /// Reads that fit no candidate haplotype (`HaplotypeEvidence.Support.misfit`).
    var other: Int { informative - ref - alt }
}

/// One read at one column, as the scanner counts it: a pileup entry or a realigned observation.
protocol ColumnRead {
    var base: UInt8 { get }
    var quality: UInt8 { get }
    var isReverse: Bool { get }
    var mappingQuality: Int { get }
    var queryPosition: Int { get }
    var isDeletion: Bool { get }
    var isRefSkip: Bool { get }
    var indel: Int { get }
    var insertedBases: [UInt8] { get }
    var read: ReadSummary { get }
    /// The base comes from a soft-clipped part of the read.
    var fromClip: Bool { get }
    /// The read was placed differently by local realignment.
    var moved: Bool { get }
}

extension PileupEntry: ColumnRead {
    var fromClip: Bool { false }
    var moved: Bool { false }
}

extension RealignedObservation: ColumnRead {}

extension AlleleEvidence {
    mutating func add<E: ColumnRead>(_ e: E, endDistance: Float, ownEdits: Int) {
        if e.fromClip { rescued += 1 }
        if e.moved { realigned += 1 }
        reads.add(e.read, mappingQuality: e.mappingQuality, ownEdits: ownEdits)
        if e.isReverse { reverse += 1 } else { forward += 1 }
        qualSum += Float(e.quality)
        mapqSum += Float(e.mappingQuality)
        if e.mappingQuality == 0 { mapq0 += 1 }
        endDistanceSum += endDistance
    }
}

extension AlleleEvidence {
    /// A read that haplotype comparison counted for `allele` (an allele no pileup read carries): the base
    /// next to the event, laid on from the read's left anchor `anchor`, stands in for the pileup's anchor base.
    mutating func add(read r: AlignedRead, at allele: Allele, anchor: Int) {
        let n = r.sequence.count
        let qp = min(max(0, allele.position - anchor), n - 1)
        reads.add(r.summary, mappingQuality: r.mappingQuality, ownEdits: abs(allele.lengthChange))
        if r.isReverse { reverse += 1 } else { forward += 1 }
        qualSum += r.qualities[qp] == 0xFF ? 0 : Float(r.qualities[qp])
        mapqSum += Float(r.mappingQuality)
        if r.mappingQuality == 0 { mapq0 += 1 }
        endDistanceSum += Float(min(qp, n - 1 - qp))
    }

    mutating func merge(_ o: AlleleEvidence) {
        forward += o.forward; reverse += o.reverse; qualSum += o.qualSum; mapqSum += o.mapqSum; mapq0 += o.mapq0
        endDistanceSum += o.endDistanceSum; rescued += o.rescued; realigned += o.realigned
        reads.merge(o.reads)
    }

    /// A soft-clipped base placed on the reference; its read's clip is not counted as its own edit.
    mutating func addRescued(_ b: RescuedBase, read: ReadSummary, mappingQuality: Int, isReverse: Bool, endDistance: Float) {
        reads.add(read, mappingQuality: mappingQuality, ownEdits: 1)
        if isReverse { reverse += 1 } else { forward += 1 }
        qualSum += Float(b.quality)
        mapqSum += Float(mappingQuality)
        if mappingQuality == 0 { mapq0 += 1 }
        endDistanceSum += endDistance
        rescued += 1
    }
}

extension AlignmentRecord {
    /// Whole-read evidence, as `Pileup` computes it for pileup entries.
    var summary: ReadSummary {
        func int(_ tag: String) -> Int? { if case .integer(let v)? = aux(tag) { return Int(v) } else { return nil } }
        let cigar = self.cigar
        let clip = cigar.filter { $0.op == UInt8(ascii: "S") }.reduce(0) { $0 + $1.length }
        let indels = cigar.filter { $0.op == UInt8(ascii: "I") || $0.op == UInt8(ascii: "D") }.reduce(0) { $0 + $1.length }
        let margin: Int
        if let a = int("AS"), let x = int("XS") { margin = min(254, max(0, a - x)) } else { margin = ReadSummary.noMargin }
        let f = flags
        return ReadSummary(editDistance: int("NM") ?? indels, softClipped: clip, scoreMargin: margin,
                           discordant: f.contains(.paired) && !f.contains(.properPair), split: aux("SA") != nil)
    }
}

extension PileupEntry {
    /// The read's whole-read evidence (the scanner's pileup is built with `readSummaries: true`).
    var read: ReadSummary { readSummary! }
}
