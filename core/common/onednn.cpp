#include "common/onednn.h"

namespace tyq {

dnnl::engine& oneDnnCpuEngine()
{
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

} // namespace tyq
