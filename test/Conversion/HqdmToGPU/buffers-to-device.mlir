// RUN: hqdm-opt %s --hqdm-buffers-to-device --split-input-file --verify-diagnostics | FileCheck %s

// Buffers become device buffers, a contiguous copy a device copy, and a
// global the device copy the runtime keeps: hqdmDeviceConstant(host address,
// 4 * 3 * 5 = 60 bytes) in a descriptor of the global's type, used by the
// kernel instead of the host global.
memref.global "private" constant @weights : memref<3x5xf32> = dense<1.0>
// CHECK: llvm.func @hqdmDeviceConstant(!llvm.ptr, i64) -> !llvm.ptr
// CHECK-LABEL: func.func @resident
// CHECK: %[[HOST:.*]] = memref.get_global @weights : memref<3x5xf32>
// CHECK: %[[ADDRESS:.*]] = memref.extract_aligned_pointer_as_index %[[HOST]]
// CHECK: %[[I64:.*]] = arith.index_cast %[[ADDRESS]] : index to i64
// CHECK: %[[PTR:.*]] = llvm.inttoptr %[[I64]] : i64 to !llvm.ptr
// CHECK: %[[BYTES:.*]] = llvm.mlir.constant(60 : i64) : i64
// CHECK: %[[DEVICE:.*]] = llvm.call @hqdmDeviceConstant(%[[PTR]], %[[BYTES]])
// CHECK: %[[DESC:.*]] = llvm.insertvalue %[[DEVICE]], %{{.*}}[0]
// CHECK: llvm.insertvalue %[[DEVICE]], %[[DESC]][1]
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<{{.*}}> to memref<3x5xf32>
// CHECK: %[[BUF:.*]] = gpu.alloc () : memref<3x5xf32>
// CHECK: gpu.memcpy %[[BUF]], %arg0 : memref<3x5xf32>, memref<3x5xf32>
// CHECK: gpu.launch
// CHECK:   memref.load %[[W]]
// CHECK:   memref.store %{{.*}}, %[[BUF]]
// CHECK: gpu.dealloc %[[BUF]] : memref<3x5xf32>
// CHECK-NOT: memref.alloc
func.func @resident(%a: memref<3x5xf32>) {
  %w = memref.get_global @weights : memref<3x5xf32>
  %b = memref.alloc() : memref<3x5xf32>
  memref.copy %a, %b : memref<3x5xf32> to memref<3x5xf32>
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  gpu.launch blocks(%x, %y, %z) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%bx = %c1, %by = %c1, %bz = %c1) {
    %v = memref.load %w[%c0, %c0] : memref<3x5xf32>
    memref.store %v, %b[%c0, %c0] : memref<3x5xf32>
    gpu.terminator
  }
  memref.dealloc %b : memref<3x5xf32>
  return
}

// -----

func.func @host_load(%a: memref<3xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @below {{'memref.load' op stays on the host but would access a device buffer}}
  %v = memref.load %a[%c0] : memref<3xf32>
  return %v : f32
}

// -----

func.func private @printMemrefF32(memref<*xf32>)
func.func @host_print(%a: memref<3xf32>) {
  %u = memref.cast %a : memref<3xf32> to memref<*xf32>
  // expected-error @below {{'func.call' op passes device buffers to @printMemrefF32, which runs on the host}}
  func.call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

// -----

func.func @strided(%a: memref<3x5xf32, strided<[10, 2]>>, %b: memref<3x5xf32>) {
  // expected-error @below {{'memref.copy' op copies a strided buffer}}
  memref.copy %a, %b : memref<3x5xf32, strided<[10, 2]>> to memref<3x5xf32>
  return
}

// -----

func.func @stack() {
  // expected-error @below {{'memref.alloca' op is a stack buffer of the host}}
  %a = memref.alloca() : memref<4xf32>
  return
}
