// Batch reports of an imaginary long LSQ run, for feeding PlotsPanel in tests and benchmarks:
// a loss that falls with noise on top, its components as fixed shares, 19 step sizes drifting.
#pragma once

#include "train/training_observer.h"

#include <cmath>
#include <string>
#include <vector>

namespace tyq::test {

/// The run's start: 1000 batches per epoch and the 19 activation quantizers of the reference net.
inline RunStart syntheticLsqRunStart()
{
    RunStart start;
    start.phase = "lsq";
    start.batchesPerEpoch = 1000;
    for (int i = 0; i < 19; ++i)
        start.quantizers.push_back("module_list." + std::to_string(i) + ".conv.quan_a_fn");
    return start;
}

/// The report of batch `globalBatch` of that run.
inline BatchReport syntheticBatchReport(int64_t globalBatch, const RunStart& start)
{
    BatchReport r;
    r.globalBatch = globalBatch;
    r.batchesPerEpoch = start.batchesPerEpoch;
    r.epoch = globalBatch / start.batchesPerEpoch;
    r.batchInEpoch = globalBatch % start.batchesPerEpoch;
    r.loss = 10.0 / (1.0 + 0.001 * globalBatch) + 0.1 * std::sin(globalBatch * 0.37);
    r.x = r.y = r.w = r.h = 0.1 * r.loss;
    r.confObj = r.cls = 0.2 * r.loss;
    r.confNoobj = 0.001 * r.loss;
    r.learningRate = 1e-3;
    for (const std::string& name : start.quantizers)
        r.stepSizes.push_back({name, 0.1 + 1e-7 * globalBatch});
    return r;
}

} // namespace tyq::test
