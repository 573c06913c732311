// RUN: hqdm-opt %s --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_90 O=3},gpu.module(convert-gpu-to-nvvm),gpu-to-llvm,reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s

// hqdm-opt registers the GPU-to-LLVM-IR translations that gpu-module-to-binary
// needs: a trivial kernel becomes PTX for sm_90 in-process.

// CHECK: gpu.binary @kernels
// CHECK-SAME: .target sm_90
// CHECK-SAME: .visible .entry scale
gpu.module @kernels {
  gpu.func @scale(%data: memref<64xf32>) kernel {
    %i = gpu.thread_id x
    %v = memref.load %data[%i] : memref<64xf32>
    %two = arith.constant 2.0 : f32
    %w = arith.mulf %v, %two : f32
    memref.store %w, %data[%i] : memref<64xf32>
    gpu.return
  }
}
