// AVX-512 build of the batch-norm loops (compiled with -mavx512f).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized" // GCC 12, inside its own intrinsics
#define TYQ_KERNEL_AVX512 1
#include "kernels/batch_norm_kernel_impl.h"
