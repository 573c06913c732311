// A host module that uses every GPU host operation the hqdm runtime backs:
// a kernel launch (with dynamic shared memory), gpu.alloc (device and
// host_shared), gpu.host_register/unregister, gpu.dealloc, gpu.memcpy, gpu.memset (32- and 16-bit) and
// gpu.wait async (with several dependencies, which needs events). Lowered with --gpu-to-llvm, it declares the mgpu* entry
// points that MLIR 22 calls.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%arg0: memref<16xf32>) kernel {
      gpu.return
    }
  }
  func.func @host(%h: memref<16xf32>, %v: f32, %v16: f16, %hi16: memref<16xf16>) {
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %smem = arith.constant 65536 : i32
    %hu = memref.cast %h : memref<16xf32> to memref<*xf32>
    gpu.host_register %hu : memref<*xf32>
    %t0 = gpu.wait async
    %d, %t1 = gpu.alloc async [%t0] () : memref<16xf32>
    %t2 = gpu.memcpy async [%t1] %d, %h : memref<16xf32>, memref<16xf32>
    %t3 = gpu.memset async [%t2] %d, %v : memref<16xf32>, f32
    %d16, %t4 = gpu.alloc async [%t3] () : memref<16xf16>
    %t5 = gpu.memset async [%t4] %d16, %v16 : memref<16xf16>, f16
    %t6 = gpu.launch_func async [%t5] @kernels::@k
        blocks in (%c1, %c1, %c1) threads in (%c16, %c1, %c1)
        dynamic_shared_memory_size %smem
        args(%d : memref<16xf32>)
    %t7 = gpu.dealloc async [%t6] %d : memref<16xf32>
    %t8 = gpu.dealloc async [%t7] %d16 : memref<16xf16>
    // A second stream joined to the first: the event entry points.
    %u0 = gpu.wait async
    %s = gpu.alloc host_shared () : memref<16xf32>
    %u1 = gpu.dealloc async [%u0] %s : memref<16xf32>
    %j = gpu.wait async [%t8, %u1]
    gpu.wait [%j]
    gpu.host_unregister %hu : memref<*xf32>
    return
  }
}
