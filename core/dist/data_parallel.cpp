#include "dist/data_parallel.h"

#include "common/error.h"
#include "dist/collective.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <cstring>
#include <sstream>

namespace tyq {
namespace {

template <typename T>
void put(std::string& out, T value)
{
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <typename T>
T take(const std::string& in, size_t& at)
{
    if (at + sizeof(T) > in.size())
        throw Error("sharded evaluation: a rank sent a truncated result");
    T value;
    std::memcpy(&value, in.data() + at, sizeof value);
    at += sizeof value;
    return value;
}

} // namespace

std::string digest(const std::string& text)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return fmt::format("{:016x}", h);
}

void broadcastModule(torch::nn::Module& module, Collective& collective)
{
    std::vector<at::Tensor> tensors;
    for (const at::Tensor& p : module.parameters())
        tensors.push_back(p.detach());
    for (const at::Tensor& b : module.buffers())
        tensors.push_back(b);
    at::NoGradGuard noGrad;
    // Gloo broadcasts dense, contiguous tensors: channels-last weights go through a copy.
    for (at::Tensor& t : tensors) {
        if (t.is_contiguous()) {
            std::vector<at::Tensor> one{t};
            collective.broadcast(one);
        } else {
            std::vector<at::Tensor> one{t.contiguous()};
            collective.broadcast(one);
            t.copy_(one[0]);
        }
    }
}

void broadcastStateDict(StateDict& dict, Collective& collective)
{
    // Rank 0 describes its tensors ("name dtype d0 d1 ..." per line); the others allocate them.
    std::string description;
    if (collective.rank() == 0)
        for (const auto& [name, t] : dict) {
            description += name + " " + std::to_string(static_cast<int>(t.scalar_type()));
            for (const int64_t d : t.sizes())
                description += " " + std::to_string(d);
            description += "\n";
        }
    description = collective.allgather(description)[0];
    if (collective.rank() != 0) {
        dict.clear();
        std::istringstream lines(description);
        std::string line;
        while (std::getline(lines, line)) {
            std::istringstream fields(line);
            std::string name;
            int type = 0;
            fields >> name >> type;
            std::vector<int64_t> sizes;
            for (int64_t d; fields >> d;)
                sizes.push_back(d);
            dict.emplace_back(name, at::empty(sizes, at::TensorOptions().dtype(static_cast<at::ScalarType>(type))));
        }
    }
    std::vector<at::Tensor> tensors;
    for (auto& [name, t] : dict) {
        t = t.contiguous();
        tensors.push_back(t);
    }
    collective.broadcast(tensors);
}

std::string datasetFingerprint(const LoadedDataset& split)
{
    std::string text = std::to_string(split.samples.size()) + "\n";
    for (const Sample& s : split.samples) {
        text += s.image.filename().string();
        for (const BoxLabel& l : s.labels)
            text += fmt::format(" {} {:.6f} {:.6f} {:.6f} {:.6f}", l.classId, l.cx, l.cy, l.w, l.h);
        text += "\n";
    }
    return fmt::format("{} images, digest {}", split.samples.size(), digest(text));
}

void requireSameJob(const std::vector<std::pair<std::string, std::string>>& entries, Collective& collective)
{
    std::string mine;
    for (const auto& [what, value] : entries)
        mine += what + "\t" + value + "\n";
    const std::vector<std::string> all = collective.allgather(mine);
    for (size_t r = 1; r < all.size(); ++r) {
        if (all[r] == all[0])
            continue;
        // Name the first entry that differs, with both values.
        std::istringstream a(all[0]), b(all[r]);
        std::string lineA, lineB;
        while (std::getline(a, lineA) && std::getline(b, lineB) && lineA == lineB) {
        }
        const size_t tabA = lineA.find('\t'), tabB = lineB.find('\t');
        const std::string what = lineA.substr(0, tabA);
        throw Error(fmt::format("rank {} runs a different job from rank 0: its {} is '{}', rank 0's is '{}'. Start "
                                "every rank with the same tyq version, cfg, bit-widths, dataset and options",
                                r, what, tabB == std::string::npos ? lineB : lineB.substr(tabB + 1),
                                tabA == std::string::npos ? lineA : lineA.substr(tabA + 1)));
    }
}

EvaluationResult mergeShardedEvaluation(std::vector<ImageEvaluation> mine, int numClasses, float iouThreshold,
                                        Collective& collective)
{
    std::string packed;
    put<int64_t>(packed, static_cast<int64_t>(mine.size()));
    for (const ImageEvaluation& e : mine) {
        put<int32_t>(packed, e.sampleIndex);
        put<int32_t>(packed, static_cast<int32_t>(e.detections.size()));
        put<int32_t>(packed, static_cast<int32_t>(e.truths.size()));
        for (const Detection& d : e.detections) {
            for (const float v : {d.x1, d.y1, d.x2, d.y2, d.objectness, d.classScore})
                put<float>(packed, v);
            put<int32_t>(packed, d.classId);
        }
        for (const GroundTruth& t : e.truths) {
            put<int32_t>(packed, t.classId);
            for (const float v : {t.x1, t.y1, t.x2, t.y2})
                put<float>(packed, v);
        }
    }
    const std::vector<std::string> all = collective.allgather(packed);
    std::vector<ImageEvaluation> images;
    if (collective.rank() != 0) {
        images = std::move(mine);
    } else {
        for (const std::string& shard : all) {
            size_t at = 0;
            const int64_t count = take<int64_t>(shard, at);
            for (int64_t i = 0; i < count; ++i) {
                ImageEvaluation e;
                e.sampleIndex = take<int32_t>(shard, at);
                e.detections.resize(static_cast<size_t>(take<int32_t>(shard, at)));
                e.truths.resize(static_cast<size_t>(take<int32_t>(shard, at)));
                for (Detection& d : e.detections) {
                    for (float* v : {&d.x1, &d.y1, &d.x2, &d.y2, &d.objectness, &d.classScore})
                        *v = take<float>(shard, at);
                    d.classId = take<int32_t>(shard, at);
                }
                for (GroundTruth& t : e.truths) {
                    t.classId = take<int32_t>(shard, at);
                    for (float* v : {&t.x1, &t.y1, &t.x2, &t.y2})
                        *v = take<float>(shard, at);
                }
                images.push_back(std::move(e));
            }
        }
    }
    std::stable_sort(images.begin(), images.end(),
                     [](const ImageEvaluation& a, const ImageEvaluation& b) { return a.sampleIndex < b.sampleIndex; });
    DetectionEvaluator evaluator(numClasses, iouThreshold);
    for (const ImageEvaluation& e : images)
        evaluator.addImage(e.detections, e.truths);
    return evaluator.result();
}

} // namespace tyq
