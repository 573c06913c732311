/*===- aot_driver.c - Call an hqdm function from a shared library ---------===*
 *
 * This file loads a shared library built by hqdm-lower-to-cpu with
 * emit-c-interface, calls _mlir_ciface_rotate_quantize on a fixed input and
 * checks every level against a reference computed here.
 *
 *===----------------------------------------------------------------------===*/

#include <dlfcn.h>
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { ROWS = 6, COLS = 8 };

/* A rank-2 memref descriptor, as MLIR's C interface lays it out. */
typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} Memref2D;

typedef void (*EntryFn)(Memref2D *result, Memref2D *input);

/* Sylvester: H_raw[i][j] = (-1)^popcount(i & j). */
static int hadamardSign(int i, int j) {
  return __builtin_popcount((unsigned)(i & j)) % 2 ? -1 : 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s LIBRARY.so\n", argv[0]);
    return 2;
  }
  void *library = dlopen(argv[1], RTLD_NOW);
  if (!library) {
    fprintf(stderr, "error: %s\n", dlerror());
    return 1;
  }
  EntryFn entry = (EntryFn)dlsym(library, "_mlir_ciface_rotate_quantize");
  if (!entry) {
    fprintf(stderr, "error: %s\n", dlerror());
    return 1;
  }

  /* Inputs chosen so that some rotated values land on exact ties (k + 0.5)
   * times the scale, and some beyond the 8-bit range. */
  float input[ROWS][COLS];
  for (int r = 0; r < ROWS; ++r)
    for (int c = 0; c < COLS; ++c)
      input[r][c] = (float)((r * 7 + c * 3) % 11 - 5) * (r == 5 ? 9.0f : 0.35f);
  Memref2D in = {input, input, 0, {ROWS, COLS}, {COLS, 1}};
  Memref2D out = {0};
  entry(&out, &in);

  const float scale = 0.25f;
  const double invSqrt8 = 1.0 / sqrt(8.0);
  fesetround(FE_TONEAREST);
  int matches = 0;
  const int8_t *levels = (const int8_t *)out.aligned + out.offset;
  for (int r = 0; r < ROWS; ++r) {
    for (int c = 0; c < COLS; ++c) {
      double rotated = 0.0;
      for (int i = 0; i < COLS; ++i)
        rotated += input[r][i] * hadamardSign(i, c);
      float y = (float)(rotated * invSqrt8);
      double level = nearbyint((double)(y / scale)); /* half to even */
      level = level < -127 ? -127 : level > 127 ? 127 : level;
      int8_t got = levels[r * out.strides[0] + c * out.strides[1]];
      if (got == (int8_t)level)
        ++matches;
      else
        printf("mismatch at [%d, %d]: got %d, expected %d\n", r, c, got,
               (int)level);
    }
  }
  printf("rotate_quantize: %d of %d levels match\n", matches, ROWS * COLS);
  printf("rotate_quantize: %.2f scale, levels in [-127, 127]\n", scale);
  free(out.allocated);
  dlclose(library);
  return matches == ROWS * COLS ? 0 : 1;
}
