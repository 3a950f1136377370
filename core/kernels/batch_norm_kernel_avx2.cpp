// AVX2 build of the batch-norm loops (compiled with -mavx2 -mfma), for CPUs without AVX-512.
#define TYQ_KERNEL_AVX2 1
#include "kernels/batch_norm_kernel_impl.h"
