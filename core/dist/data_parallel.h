// What a data-parallel training job exchanges besides gradients: the leader's (rank 0's) state
// made everyone's, the check that every rank runs the same job, and sharded evaluation merged
// into the metrics of the whole validation set.
#pragma once

#include "data/dataset.h"
#include "eval/detection_metrics.h"
#include "infer/dataset_evaluation.h"
#include "io/state_dict.h"

#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace tyq {

class Collective;

/// Every parameter and buffer of `module` becomes rank 0's (same architecture on every rank).
void broadcastModule(torch::nn::Module& module, Collective& collective);

/// `dict` becomes rank 0's: its names, shapes, types and values (the others' may be empty).
void broadcastStateDict(StateDict& dict, Collective& collective);

/// A digest of a split: its size, and each sample's image file name and labels, in order (the
/// folders may differ between hosts; the content must not).
std::string datasetFingerprint(const LoadedDataset& split);

/// What must agree between ranks, one "what: value" entry each (tyq version, cfg, bit-widths,
/// dataset, options). Throws tyq::Error on every rank, naming the first rank and entry that
/// differ from rank 0's.
void requireSameJob(const std::vector<std::pair<std::string, std::string>>& entries, Collective& collective);

/// Rank 0 gets the metrics of every rank's images together, exactly as one process would
/// compute them over the whole split (images in sample order); the others get their own shard's.
EvaluationResult mergeShardedEvaluation(std::vector<ImageEvaluation> mine, int numClasses, float iouThreshold,
                                        Collective& collective);

/// FNV-1a, 64 bits, as hex: a short stable digest for the checks above.
std::string digest(const std::string& text);

} // namespace tyq
