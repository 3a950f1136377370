// AVX-512 build of the LSQ quantizer loops (compiled with -mavx512f -mavx2 -mfma).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized" // GCC 12, inside its own intrinsics
#define TYQ_KERNEL_AVX512 1
#include "kernels/lsq_kernel_impl.h"
