// aot.test lowers this without the deallocation pipeline, so that its results
// really are the argument buffer and a global: Library.call must not free them.
memref.global "private" constant @table : memref<2xf32> = dense<[5.0, 6.0]>

func.func @aliases(%x: memref<3xf32>) -> (memref<3xf32>, memref<2xf32>, memref<3xf32>)
    attributes {llvm.emit_c_interface} {
  %g = memref.get_global @table : memref<2xf32>
  return %x, %g, %x : memref<3xf32>, memref<2xf32>, memref<3xf32>
}
