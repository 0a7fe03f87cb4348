// The kernels that the layers above the model (training in MambaTrain, the tasks in DNATasks) may use, and
// nothing else of MambaKernels: those layers import MambaModel only, and everything they take from the kernel
// layer is listed here, so the model layer decides what it exposes (`scripts/module-graph` checks that no file
// above it imports MambaKernels).

/// How many threads a computation runs on: passed from the commands to models and kernels.
@_exported import struct MambaKernels.Compute
/// The one fan-out helper (`Parallel.run`, `Parallel.rowSlices`).
@_exported import enum MambaKernels.Parallel
/// fp32 matrix products (`Gemm.linear`): the small heads (variant genotyper, motif and classifier heads).
@_exported import enum MambaKernels.Gemm

// The backward kernels that training differentiates the model's layers with (each beside its forward kernel and
// checked against finite differences in MambaKernelsTests / MambaTrainTests).
@_exported import enum MambaKernels.CrossEntropy
@_exported import enum MambaKernels.LinearBackward
@_exported import enum MambaKernels.ActivationBackward
@_exported import enum MambaKernels.CausalConv1dBackward
@_exported import enum MambaKernels.SelectiveScanBackward
@_exported import enum MambaKernels.NormBackward
@_exported import enum MambaKernels.MeanPool
@_exported import enum MambaKernels.Embedding
@_exported import enum MambaKernels.CausalConv1d
@_exported import enum MambaKernels.Activation
@_exported import enum MambaKernels.Norm

/// OpenBLAS's kernel choice at start-up (the command line calls it before any product), and which build of the
/// SIMD kernels runs (`info` and `bench` print it).
@_exported import enum MambaKernels.BLASRuntime
@_exported import enum MambaKernels.KernelISA
