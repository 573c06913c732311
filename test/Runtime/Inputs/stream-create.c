/* Calls the first runtime entry point a lowered program calls. */
#include "hqdm/Runtime/CudaRuntime.h"

#include <stdio.h>

int main(void) {
  void *stream = mgpuStreamCreate();
  printf("unreachable: stream %p\n", stream);
  mgpuStreamDestroy(stream);
  return 0;
}
