// AVX2 build of the LSQ quantizer loops (compiled with -mavx2 -mfma).
#define TYQ_KERNEL_AVX2 1
#include "kernels/lsq_kernel_impl.h"
