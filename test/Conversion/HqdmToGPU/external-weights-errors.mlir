// RUN: rm -rf %t && mkdir -p %t
// RUN: hqdm-opt %s --split-input-file --verify-diagnostics \
// RUN:   --hqdm-buffers-to-device="external-weights=%t/w.safetensors"
// RUN: not hqdm-opt %s --split-input-file \
// RUN:   --hqdm-buffers-to-device="external-weights=%t/no/such/dir/w.safetensors" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=UNWRITABLE
// RUN: not hqdm-opt %s --split-input-file \
// RUN:   --hqdm-lower-to-cuda="external-weights=%t/w.safetensors" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NOT-WHOLE
// UNWRITABLE: error: cannot write the external weights file '{{.*}}/no/such/dir/w.safetensors'
// NOT-WHOLE: error: hqdm-lower-to-cuda: external-weights needs whole-model=true

// expected-error @below {{'memref.global' op has no dense initial value for external-weights to store}}
memref.global "private" @state : memref<4xf32> = uninitialized
func.func @uninitialized() {
  %s = memref.get_global @state : memref<4xf32>
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  gpu.launch blocks(%x, %y, %z) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%bx = %c1, %by = %c1, %bz = %c1) {
    %v = memref.load %s[%c0] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// expected-error @below {{'memref.global' op has element type 'i12', which external-weights cannot store}}
memref.global "private" constant @odd : memref<4xi12> = dense<1>
func.func @odd_width() {
  %s = memref.get_global @odd : memref<4xi12>
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  gpu.launch blocks(%x, %y, %z) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%bx = %c1, %by = %c1, %bz = %c1) {
    %v = memref.load %s[%c0] : memref<4xi12>
    gpu.terminator
  }
  return
}

// -----

func.func @fine(%a: memref<4xf32>) {
  return
}
