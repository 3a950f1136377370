// AVX-512 build of the fused stage kernel (this file is compiled with -mavx512f -mfma).
// GCC 12 warns about its own intrinsics (_mm512_max_ps passes _mm512_undefined_ps()).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define TYQ_KERNEL_AVX512 1
#include "kernels/conv_pool_kernel_impl.h"
