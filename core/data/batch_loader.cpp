#include "data/batch_loader.h"

#include "common/error.h"
#include "data/image_io.h"

#include <ATen/ATen.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace tyq {
namespace {

// SplitMix64: a tiny, well-mixed generator; per-sample streams derive from (seed, epoch, index)
// so any batch can be rebuilt on its own.
struct SplitMix {
    uint64_t state;
    explicit SplitMix(uint64_t seed) : state(seed) {}
    uint64_t next()
    {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
    int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
};

uint64_t streamSeed(uint64_t seed, int64_t epoch, int64_t index, uint64_t salt)
{
    SplitMix mix(seed ^ (static_cast<uint64_t>(epoch) * 0x632BE59BD9B4E019ull) ^
                 (static_cast<uint64_t>(index) * 0x85157AF5ull) ^ salt);
    return mix.next();
}

void colorJitter(cv::Mat& rgb, SplitMix& rng)
{
    cv::Mat hsv;
    cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);
    const double sat = 0.7 + 0.6 * rng.uniform();
    const double val = 0.7 + 0.6 * rng.uniform();
    const int hue = static_cast<int>(rng.below(11)) - 5; // OpenCV hue is 0..179
    for (int y = 0; y < hsv.rows; ++y) {
        uint8_t* p = hsv.ptr<uint8_t>(y);
        for (int x = 0; x < hsv.cols; ++x, p += 3) {
            p[0] = static_cast<uint8_t>((p[0] + hue + 180) % 180);
            p[1] = cv::saturate_cast<uint8_t>(p[1] * sat);
            p[2] = cv::saturate_cast<uint8_t>(p[2] * val);
        }
    }
    cv::cvtColor(hsv, rgb, cv::COLOR_HSV2RGB);
}

} // namespace

std::vector<int> epochOrder(size_t count, uint64_t seed, int64_t epoch, bool shuffle)
{
    std::vector<int> order(count);
    for (size_t i = 0; i < count; ++i)
        order[i] = static_cast<int>(i);
    if (shuffle) {
        SplitMix rng(streamSeed(seed, epoch, -1, 0x5EED));
        for (size_t i = count; i > 1; --i)
            std::swap(order[i - 1], order[static_cast<size_t>(rng.below(static_cast<int64_t>(i)))]);
    }
    return order;
}

BatchLoader::BatchLoader(std::vector<Sample> samples, BatchLoaderOptions options)
    : samples_(std::move(samples)), options_(options)
{
    if (options_.batchSize < 1)
        throw Error("batch size must be at least 1");
    options_.threads = std::max(1, options_.threads);
    options_.prefetch = std::max(1, options_.prefetch);
    for (int i = 0; i < options_.threads; ++i)
        workers_.emplace_back([this] { workerLoop(); });
}

BatchLoader::~BatchLoader()
{
    stopWorkers();
}

void BatchLoader::stopWorkers()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : workers_)
        if (t.joinable())
            t.join();
}

int64_t BatchLoader::batchesPerEpoch() const
{
    const int64_t global = static_cast<int64_t>(options_.batchSize) * options_.shards;
    const int64_t count = static_cast<int64_t>(samples_.size());
    const int64_t full = count / global;
    return count % global >= options_.shards ? full + 1 : full;
}

int64_t BatchLoader::globalBatchSize(int64_t batchIndex) const
{
    const int64_t global = static_cast<int64_t>(options_.batchSize) * options_.shards;
    return std::min<int64_t>(global, static_cast<int64_t>(samples_.size()) - batchIndex * global);
}

void BatchLoader::startEpoch(int64_t epoch, int64_t firstBatch)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        epoch_ = epoch;
        ++generation_;
        nextToBuild_ = std::min(firstBatch, batchesPerEpoch());
        nextToHand_ = nextToBuild_;
        ready_.clear();
        failure_ = nullptr;
    }
    changed_.notify_all();
}

std::optional<Batch> BatchLoader::next()
{
    std::unique_lock<std::mutex> lock(mutex_);
    if (epoch_ < 0)
        throw Error("BatchLoader::next before startEpoch");
    changed_.wait(lock, [&] { return failure_ || nextToHand_ >= batchesPerEpoch() || ready_.count(nextToHand_); });
    if (failure_)
        std::rethrow_exception(failure_);
    if (nextToHand_ >= batchesPerEpoch())
        return std::nullopt;
    Batch batch = std::move(ready_.at(nextToHand_));
    ready_.erase(nextToHand_);
    ++nextToHand_;
    lock.unlock();
    changed_.notify_all();
    return batch;
}

void BatchLoader::workerLoop()
{
    while (true) {
        int64_t epoch, index, generation;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait(lock, [&] {
                return stopping_ ||
                       (epoch_ >= 0 && nextToBuild_ < batchesPerEpoch() && nextToBuild_ < nextToHand_ + options_.prefetch);
            });
            if (stopping_)
                return;
            epoch = epoch_;
            index = nextToBuild_++;
            generation = generation_;
        }
        try {
            Batch batch = buildBatch(epoch, index);
            std::lock_guard<std::mutex> lock(mutex_);
            if (generation == generation_)
                ready_.emplace(index, std::move(batch));
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (generation == generation_)
                failure_ = std::current_exception();
        }
        changed_.notify_all();
    }
}

Batch BatchLoader::buildBatch(int64_t epoch, int64_t batchIndex) const
{
    const std::vector<int> order = epochOrder(samples_.size(), options_.seed, epoch, options_.shuffle);
    const int64_t globalBegin = batchIndex * options_.batchSize * options_.shards;
    const int64_t globalSize = globalBatchSize(batchIndex);
    const int64_t begin = globalBegin + options_.shard * globalSize / options_.shards;
    const int64_t end = globalBegin + (options_.shard + 1) * globalSize / options_.shards;

    int width = options_.width, height = options_.height;
    if (options_.multiScale) {
        SplitMix rng(streamSeed(options_.seed, epoch, batchIndex, 0x5CA1E));
        const int step = static_cast<int>(rng.below(7)) - 3;
        width = std::max(64, width + 32 * step);
        height = std::max(64, height + 32 * step);
    }

    Batch batch;
    batch.index = batchIndex;
    std::vector<cv::Mat> images;
    std::vector<float> targets;
    for (int64_t k = begin; k < end; ++k) {
        const int sampleIndex = order[static_cast<size_t>(k)];
        const Sample& sample = samples_[static_cast<size_t>(sampleIndex)];
        cv::Mat rgb;
        try {
            rgb = resizeNearestPil(loadImageRgb(sample.image), width, height);
        } catch (const Error& e) {
            batch.problems.push_back(e.what());
            continue;
        }
        SplitMix rng(streamSeed(options_.seed, epoch, sampleIndex, 0xA06));
        const bool flip = options_.flip && rng.uniform() < 0.5;
        if (flip)
            cv::flip(rgb, rgb, 1);
        if (options_.colorJitter)
            colorJitter(rgb, rng);
        const float imageIndex = static_cast<float>(images.size());
        for (const BoxLabel& label : sample.labels) {
            targets.insert(targets.end(), {imageIndex, static_cast<float>(label.classId), flip ? 1.0f - label.cx : label.cx,
                                           label.cy, label.w, label.h});
        }
        images.push_back(rgb);
        batch.sampleIndices.push_back(sampleIndex);
    }

    const int64_t n = static_cast<int64_t>(images.size());
    batch.images = at::empty({n, 3, height, width}, at::TensorOptions().dtype(at::kFloat));
    float* dst = batch.images.data_ptr<float>();
    const int64_t plane = static_cast<int64_t>(height) * width;
    for (int64_t i = 0; i < n; ++i) {
        const cv::Mat& img = images[static_cast<size_t>(i)];
        float* r = dst + i * 3 * plane;
        float* g = r + plane;
        float* b = g + plane;
        for (int y = 0; y < height; ++y) {
            const uint8_t* p = img.ptr<uint8_t>(y);
            const int64_t row = static_cast<int64_t>(y) * width;
            for (int x = 0; x < width; ++x) {
                r[row + x] = p[3 * x];
                g[row + x] = p[3 * x + 1];
                b[row + x] = p[3 * x + 2];
            }
        }
    }
    const int64_t count = static_cast<int64_t>(targets.size() / 6);
    batch.targets = at::empty({count, 6}, at::TensorOptions().dtype(at::kFloat));
    if (count > 0)
        std::copy(targets.begin(), targets.end(), batch.targets.data_ptr<float>());
    return batch;
}

} // namespace tyq
