// RUN: rm -rf %t && mkdir -p %t
// RUN: hqdm-opt %s --split-input-file --verify-diagnostics \
// RUN:   --hqdm-buffers-to-device="external-weights=%t/w.safetensors" | FileCheck %s
// RUN: %python %S/Inputs/dump_safetensors.py %t/w.safetensors | FileCheck %s --check-prefix=FILE

// With external-weights, every global a host function reads becomes
// hqdmDeviceWeight(@hqdm_model_weights, offset, bytes) and leaves the module;
// its bytes go to the file, laid out as the LLVM lowering lays out globals:
// a splat expanded, i1 as a byte each, a resource's blob as it is. A global
// no host code reads stays.
memref.global "private" constant @splat : memref<3x5xf32> = dense<1.0>
memref.global "private" constant @bytes : memref<3xi8> = dense<[1, -2, 3]>
memref.global "private" constant @flags : memref<2xi1> = dense<[true, false]>
memref.global "private" constant @unread : memref<2xf32> = dense<2.0>
memref.global "private" constant @blob : memref<2xi32> = dense_resource<blob1>
// CHECK: llvm.func @hqdmDeviceWeight(!llvm.ptr, i64, i64) -> !llvm.ptr
// CHECK-NOT: @splat
// CHECK: memref.global "private" constant @unread
// CHECK-NOT: memref.global
// CHECK-LABEL: func.func @resident
// CHECK: %[[TABLE:.*]] = llvm.mlir.addressof @hqdm_model_weights : !llvm.ptr
// CHECK: %[[OFFSET:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK: %[[BYTES:.*]] = llvm.mlir.constant(60 : i64) : i64
// CHECK: %[[DEVICE:.*]] = llvm.call @hqdmDeviceWeight(%[[TABLE]], %[[OFFSET]], %[[BYTES]])
// CHECK: %[[DESC:.*]] = llvm.insertvalue %[[DEVICE]], %{{.*}}[0]
// CHECK: llvm.insertvalue %[[DEVICE]], %[[DESC]][1]
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<{{.*}}> to memref<3x5xf32>
// CHECK: llvm.call @hqdmDeviceWeight(%{{.*}}, %{{.*}}, %{{.*}})
// CHECK: llvm.call @hqdmDeviceWeight(%{{.*}}, %{{.*}}, %{{.*}})
// CHECK: llvm.call @hqdmDeviceWeight(%{{.*}}, %{{.*}}, %{{.*}})
// CHECK-NOT: llvm.call
// CHECK-NOT: memref.get_global
// CHECK: gpu.launch
// CHECK:   memref.load %[[W]]
// CHECK: llvm.mlir.global external constant @hqdm_model_weights("hqdm-model-weights v1\0Afile w.safetensors\0Atensors 4\0Abytes 73\0Afingerprint [[FINGERPRINT:[0-9a-f]+]]\0A\00"){{.*}}dso_local
//
// FILE: header {{[0-9]+}} bytes, 0 past a multiple of 8
// FILE: metadata fingerprint [[FINGERPRINT:[0-9a-f]+]]
// FILE: metadata format hqdm-model-weights v1
// FILE-NEXT: splat F32 [3,5] 0 60 {{[0-9a-f]+}}
// FILE-NEXT: bytes I8 [3] 60 63 01fe03
// FILE-NEXT: flags BOOL [2] 63 65 0100
// FILE-NEXT: blob I32 [2] 65 73 0700000008000000
// FILE-NEXT: data 73 bytes
// FILE-NEXT: fingerprint [[FINGERPRINT]]
func.func @resident(%a: memref<3x5xf32>) {
  %w = memref.get_global @splat : memref<3x5xf32>
  %b = memref.get_global @bytes : memref<3xi8>
  %f = memref.get_global @flags : memref<2xi1>
  %r = memref.get_global @blob : memref<2xi32>
  %u = memref.get_global @unread : memref<2xf32>
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  gpu.launch blocks(%x, %y, %z) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%bx = %c1, %by = %c1, %bz = %c1) {
    %v = memref.load %w[%c0, %c0] : memref<3x5xf32>
    memref.store %v, %a[%c0, %c0] : memref<3x5xf32>
    %v8 = memref.load %b[%c0] : memref<3xi8>
    %vf = memref.load %f[%c0] : memref<2xi1>
    %vr = memref.load %r[%c0] : memref<2xi32>
    gpu.terminator
  }
  return
}

{-#
  dialect_resources: {
    builtin: {
      blob1: "0x040000000700000008000000"
    }
  }
#-}
