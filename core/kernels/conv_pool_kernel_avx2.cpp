// AVX2 build of the fused stage kernel (this file is compiled with -mavx2 -mfma).
#define TYQ_KERNEL_AVX2 1
#include "kernels/conv_pool_kernel_impl.h"
