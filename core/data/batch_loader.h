// The training input pipeline: decodes, resizes and augments images on worker threads ahead of
// the trainer, in batches whose content depends only on (seed, epoch, batch index), so a run
// resumed mid-epoch sees exactly the batches it would have seen.
#pragma once

#include "data/dataset.h"

#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tyq {

struct Batch {
    at::Tensor images;  ///< [N, 3, H, W] float, 0..255
    at::Tensor targets; ///< [T, 6]: image index in the batch, class, cx, cy, w, h (normalized)
    std::vector<int> sampleIndices; ///< into the loader's sample list
    int64_t index = 0;              ///< batch index within the epoch
    std::vector<std::string> problems; ///< images that could not be read (skipped)
};

struct BatchLoaderOptions {
    int batchSize = 8;
    int width = 512;
    int height = 288;
    bool shuffle = true;
    bool flip = false;        ///< horizontal flip with p = 0.5
    bool colorJitter = false; ///< brightness / saturation / hue jitter
    bool multiScale = false;  ///< each batch at a random size: width and height +-0..3 x 32
    uint64_t seed = 1;
    int threads = 2;
    int prefetch = 3;
    /// Data parallelism: batch k of the epoch is then the global batch of batchSize x shards
    /// images k*batchSize*shards... of the epoch's one order, and this loader hands out the
    /// shard-th of `shards` even slices of it (the last global batch too: every slice gets
    /// floor or ceil of its size over shards). A last global batch with fewer images than
    /// shards is dropped.
    int shards = 1;
    int shard = 0;
};

class BatchLoader {
public:
    BatchLoader(std::vector<Sample> samples, BatchLoaderOptions options);
    ~BatchLoader(); ///< stops and joins the workers
    BatchLoader(const BatchLoader&) = delete;
    BatchLoader& operator=(const BatchLoader&) = delete;

    /// Starts producing the batches of `epoch` from batch `firstBatch` on.
    void startEpoch(int64_t epoch, int64_t firstBatch = 0);
    /// The next batch of the current epoch in order, or nullopt when the epoch is done.
    std::optional<Batch> next();

    int64_t batchesPerEpoch() const;
    /// Images of batch `batchIndex` over all shards (batchSize x shards but for the last).
    int64_t globalBatchSize(int64_t batchIndex) const;
    const std::vector<Sample>& samples() const { return samples_; }
    const BatchLoaderOptions& options() const { return options_; }

    /// Builds one batch synchronously (what the workers run).
    Batch buildBatch(int64_t epoch, int64_t batchIndex) const;

private:
    void workerLoop();
    void stopWorkers();

    std::vector<Sample> samples_;
    BatchLoaderOptions options_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::thread> workers_;
    bool stopping_ = false;
    int64_t epoch_ = -1;
    int64_t generation_ = 0; ///< bumps at every startEpoch, so stale work is dropped
    int64_t nextToBuild_ = 0;
    int64_t nextToHand_ = 0;
    std::map<int64_t, Batch> ready_;
    std::exception_ptr failure_;
};

/// The order of sample indices in an epoch (a seeded shuffle, or identity).
std::vector<int> epochOrder(size_t count, uint64_t seed, int64_t epoch, bool shuffle);

} // namespace tyq
