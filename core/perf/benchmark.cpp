#include "perf/benchmark.h"

#include "common/compute_threads.h"
#include "common/cpu_allocator.h"
#include "common/elapsed.h"
#include "common/error.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "data/synthetic_dataset.h"
#include "hw/integer_engine.h"
#include "hw/integer_model.h"
#include "hw/onednn_integer_conv.h"
#include "infer/dataset_evaluation.h"
#include "infer/inference_engine.h"
#include "kernels/cpu_isa.h"
#include "model/code_convolution.h"
#include "model/model_loader.h"
#include "model/yolo_head.h"
#include "model/yolo_network.h"
#include "perf/training_step.h"
#include "quant/quant_config.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace tyq {
namespace {

double statusFieldMb(const char* field)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string key = std::string(field) + ":";
    while (std::getline(in, line))
        if (line.compare(0, key.size(), key) == 0)
            return std::stod(line.substr(key.size())) / 1024.0; // kB
    return 0;
}

std::string cpuModel()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, 10, "model name") == 0) {
            const size_t colon = line.find(':');
            if (colon != std::string::npos)
                return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    }
    return "unknown CPU";
}

// The baseline's conditions for as long as it lives: one thread, the plain allocator.
class BaselineScope {
public:
    BaselineScope() : threads_(at::get_num_threads()), caching_(cpuAllocatorCaching())
    {
        at::set_num_threads(1);
        setCpuAllocatorCaching(false);
    }
    ~BaselineScope()
    {
        setCpuAllocatorCaching(caching_);
        at::set_num_threads(threads_);
    }
    BaselineScope(const BaselineScope&) = delete;
    BaselineScope& operator=(const BaselineScope&) = delete;

private:
    int threads_;
    bool caching_;
};

// Runs `step` once untimed (oneDNN primitives, allocator cache), then for `seconds` or exactly
// `iterations` times; returns units per second.
double measure(const std::function<void()>& step, double unitsPerStep, const BenchmarkOptions& o)
{
    step();
    int count = 0;
    const auto start = Clock::now();
    do {
        step();
        ++count;
    } while (o.iterations > 0 ? count < o.iterations : secondsSince(start) < o.seconds);
    return unitsPerStep * count / secondsSince(start);
}

// A measurement taken in the same rounds as a row's fast path, right after it (the bf16 step
// beside the fp32 one): the machine's load then weighs on both alike, so their ratio holds on a
// shared machine, where one burst could otherwise fall on one of them only.
struct Companion {
    BenchmarkRow* row;
    std::function<void()> step;
};

// Fast (then each companion) and baseline alternate `rounds` times; each keeps its best rate.
void compare(BenchmarkRow& row, const std::function<void()>& fast, const std::function<void()>& baseline,
             double unitsPerStep, const BenchmarkOptions& o, const std::function<void(const std::string&)>& log,
             const std::vector<Companion>& companions = {})
{
    auto measureInto = [&](BenchmarkRow& into, const std::function<void()>& step) {
        resetPeakRss();
        into.imagesPerSecond = std::max(into.imagesPerSecond, measure(step, unitsPerStep, o));
        into.peakRssMb = std::max(into.peakRssMb, peakRssMb());
    };
    for (int round = 0; round < std::max(1, o.rounds); ++round) {
        measureInto(row, fast);
        for (const Companion& c : companions)
            measureInto(*c.row, c.step);
        if (o.baseline && baseline) {
            BaselineScope scope;
            row.baselineImagesPerSecond = std::max(row.baselineImagesPerSecond, measure(baseline, unitsPerStep, o));
        }
    }
    if (!log)
        return;
    log(fmt::format("{}: {:.2f} images/s{}", row.key, row.imagesPerSecond,
                    row.baselineImagesPerSecond > 0
                        ? fmt::format(" (baseline {:.2f}, x{:.1f})", row.baselineImagesPerSecond,
                                      row.imagesPerSecond / row.baselineImagesPerSecond)
                        : std::string()));
    for (const Companion& c : companions)
        log(fmt::format("{}: {:.2f} images/s (in the same rounds as {})", c.row->key, c.row->imagesPerSecond, row.key));
}

// A network to time: the given weights, or seeded random ones like the reference's training
// init. Random nets get a low objectness bias, so that as with trained weights few rows pass
// the confidence threshold (NMS over hundreds of random boxes per image is not what evaluation
// costs).
YoloNetwork benchmarkNetwork(const BenchmarkOptions& o, bool lsq)
{
    YoloNetwork network{nullptr};
    if (!o.fpWeights.empty()) {
        network = loadModel({"", "", o.fpWeights}).network;
        if (network->quantized())
            throw Error(o.fpWeights.string() + ": the benchmark needs full-precision weights (it quantizes them)");
    } else {
        at::manual_seed(1);
        network = YoloNetwork(defaultNetworkSpec());
        network->initializeLikeReference();
        at::NoGradGuard noGrad;
        for (auto& c : network->convLayers()) {
            if (!c.conv->bias.defined())
                continue;
            const int64_t attrs = 5 + network->spec().numClasses();
            for (int64_t k = 4; k < c.conv->bias.size(0); k += attrs)
                c.conv->bias[k].fill_(-6.0);
        }
    }
    if (lsq)
        network->quantize(defaultQuantConfig());
    return network;
}

// One box per image, anywhere: [N, 6] (image, class, cx, cy, w, h).
at::Tensor randomTargets(int64_t images, int classes)
{
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.2f, 0.8f), size(0.05f, 0.3f);
    std::vector<float> values;
    for (int64_t i = 0; i < images; ++i)
        values.insert(values.end(), {static_cast<float>(i), static_cast<float>(i % classes), u(rng), u(rng), size(rng),
                                     size(rng)});
    return at::tensor(values).view({images, 6});
}

struct ScratchFolder {
    std::filesystem::path path;
    bool owned = false;
    ~ScratchFolder()
    {
        std::error_code ignored;
        if (owned)
            std::filesystem::remove_all(path, ignored);
    }
};

} // namespace

BenchmarkOptions BenchmarkOptions::quick()
{
    BenchmarkOptions o;
    o.width = 160;
    o.height = 96;
    o.seconds = 0.05;
    o.rounds = 1;
    o.memoryBatches = 12;
    o.datasetImages = 16;
    return o;
}

double currentRssMb()
{
    return statusFieldMb("VmRSS");
}

double peakRssMb()
{
    return statusFieldMb("VmHWM");
}

void resetPeakRss()
{
    std::ofstream out("/proc/self/clear_refs");
    out << "5"; // resets VmHWM (Linux 4.0+); silently ignored elsewhere
}

BenchmarkReport runBenchmarks(const BenchmarkOptions& o, const std::function<void(const std::string&)>& log)
{
    const int multiple = defaultNetworkSpec().requiredInputMultiple();
    if (o.width < multiple || o.height < multiple || o.width % multiple || o.height % multiple)
        throw Error(fmt::format("benchmark input {}x{} must be positive multiples of {}", o.width, o.height, multiple));
    if (o.datasetImages < 1)
        throw Error("the benchmark needs at least one synthetic image");

    BenchmarkReport report;
    report.threads = configureComputeThreads(o.threads);
    report.ownKernelThreads = ownKernelThreads();
    report.machine = fmt::format("{}, {} hardware threads", cpuModel(), std::thread::hardware_concurrency());
    report.libtorch = TORCH_VERSION;
    report.kernelIsa = std::string(kernels::isaName(kernels::cpuIsa())) + "; int8 convolutions: " + oneDnnIsaName() +
                       "; bf16: " +
                       (!precisionSupported(Precision::bf16) ? "unsupported here"
                        : nativeBf16()                       ? "native (AVX512_BF16)"
                                                             : "emulated (no AVX512_BF16)") +
                       "; LSQ training sums codes in " +
                       codeSumsName(codeSumsFor(at::MemoryFormat::ChannelsLast, CodeBounds{7, true}));
    report.width = o.width;
    report.height = o.height;
    const bool referenceSize = o.width == 512 && o.height == 288;
    auto say = [&](const std::string& line) {
        if (log)
            log(line);
    };

    // --- Inference ----------------------------------------------------------------------------
    at::manual_seed(2);
    const at::Tensor batch8 = at::rand({8, 3, o.height, o.width}) * 255;
    const at::Tensor batch1 = batch8.narrow(0, 0, 1).clone();
    for (const bool lsq : {false, true}) {
        YoloNetwork network = benchmarkNetwork(o, lsq);
        network->eval();
        const InferenceEngine engine(*network);
        // bf16 inference of the full-precision network (against int8 below), beside fp32's batch 8.
        const bool bf16 = !lsq && precisionSupported(Precision::bf16);
        std::optional<InferenceEngine> bf16Engine;
        BenchmarkRow bf16Row;
        if (bf16) {
            bf16Engine.emplace(*network, InferenceOptions().setPrecision(Precision::bf16));
            bf16Row.key = "fp_infer_b8_bf16";
            bf16Row.what = "fp inference, batch 8, bf16 convolutions";
        }
        for (const at::Tensor& images : {batch1, batch8}) {
            BenchmarkRow row;
            const int64_t n = images.size(0);
            row.key = fmt::format("{}_infer_b{}", lsq ? "lsq" : "fp", n);
            row.what = fmt::format("{} inference, batch {}", lsq ? "LSQ 3-bit" : "fp", n);
            if (referenceSize && n == 8)
                row.target = lsq ? 30 : 60;
            std::vector<Companion> companions;
            if (bf16 && n == 8)
                companions.push_back({&bf16Row, [&] { bf16Engine->detect(batch8); }});
            compare(
                row, [&] { engine.detect(images); },
                [&] {
                    at::NoGradGuard noGrad;
                    network->detect(images);
                },
                static_cast<double>(n), o, log, companions);
            report.rows.push_back(row);
        }
        if (bf16)
            report.rows.push_back(bf16Row);
    }

    // --- The integer engine: oneDNN int8 against its reference int32 loops ---------------------
    // The same 3-bit network as lsq_infer (fake-quantized there), exported to integers; pixels
    // are whole numbers, as the engine requires. The loops take seconds per image, so only batch
    // 1 gets that baseline; the targets compare with fp inference of the same run.
    {
        YoloNetwork network = benchmarkNetwork(o, true);
        network->eval();
        const IntegerModel model = exportIntegerModel(*network, "benchmark");
        const IntegerEngine fast(model, IntegerConvKernel::onednn);
        const IntegerEngine loops(model, IntegerConvKernel::reference);
        say("integer engine: " + fast.kernelDescription());
        for (const at::Tensor& images : {batch1, batch8}) {
            const at::Tensor pixels = images.round();
            BenchmarkRow row;
            const int64_t n = images.size(0);
            row.key = fmt::format("int_infer_b{}", n);
            row.what = fmt::format("integer engine (oneDNN int8), batch {}; baseline: its int32 loops", n);
            if (n == 8)
                row.what = "integer engine (oneDNN int8), batch 8";
            std::function<void()> baseline;
            if (n == 1)
                baseline = [&] { loops.detect(pixels); };
            compare(row, [&] { fast.detect(pixels); }, baseline, static_cast<double>(n), o, log);
            report.rows.push_back(row);
        }
        report.integerKernels = fast.kernelDescription();
        say("integer engine ran: " + report.integerKernels);
    }

    // --- Training steps -----------------------------------------------------------------------
    const at::Tensor targets = randomTargets(8, defaultNetworkSpec().numClasses());
    for (const bool lsq : {false, true}) {
        TrainingStep step(benchmarkNetwork(o, lsq), batch8, targets);
        BenchmarkRow row;
        row.key = lsq ? "lsq_train_b8" : "fp_train_b8";
        row.what = fmt::format("{} training step, batch 8 (forward, loss, backward, Adam)", lsq ? "LSQ 3-bit" : "fp");
        if (referenceSize)
            row.target = lsq ? 12 : 20;
        // The same step in bf16 mixed precision, in the same rounds (its ratio to the row above).
        BenchmarkRow bf16;
        bf16.key = row.key + "_bf16";
        bf16.what = fmt::format("{} training step, batch 8, bf16 mixed precision", lsq ? "LSQ 3-bit" : "fp");
        std::vector<Companion> companions;
        if (precisionSupported(Precision::bf16))
            companions.push_back({&bf16, [&] {
                                      step.network().setExecution(NetworkExecution::forTraining(Precision::bf16));
                                      step.run();
                                  }});
        compare(
            row,
            [&] {
                step.network().setExecution(NetworkExecution::forTraining()); // what the trainer runs
                step.run();
            },
            [&] {
                step.network().setExecution(NetworkExecution::reference());
                step.run();
            },
            8.0, o, log, companions);
        report.rows.push_back(row);
        if (!companions.empty())
            report.rows.push_back(bf16);
    }
    if (std::string why; !precisionSupported(Precision::bf16, &why))
        say("bf16 rows skipped: " + why);
    else if (!nativeBf16())
        say("bf16: this CPU has no AVX512_BF16, so oneDNN emulates bf16 with f32 instructions");

    // --- Data pipeline and evaluation on a synthetic dataset ------------------------------------
    ScratchFolder scratch;
    scratch.path = o.scratchDir;
    if (scratch.path.empty()) {
        scratch.path = std::filesystem::temp_directory_path() / fmt::format("tyq-bench-{}", ::getpid());
        scratch.owned = true;
    }
    say("writing a synthetic dataset to " + scratch.path.string());
    SyntheticDatasetOptions dataOptions;
    dataOptions.outDir = scratch.path;
    dataOptions.trainCount = o.datasetImages;
    dataOptions.valCount = o.datasetImages;
    const SyntheticDatasetResult generated = generateSyntheticDataset(dataOptions);
    const DataConfig data = loadDataConfig(generated.dataFile);
    DatasetLoadOptions loadOptions;
    loadOptions.numClasses = data.classes;
    loadOptions.classNames = data.classNames;
    const std::vector<Sample> trainSamples = loadDatasetList(data.trainList, loadOptions).samples;
    const std::vector<Sample> valSamples = loadDatasetList(data.validList, loadOptions).samples;

    BatchLoaderOptions trainLoading;
    trainLoading.batchSize = 8;
    trainLoading.width = o.width;
    trainLoading.height = o.height;
    trainLoading.shuffle = true;
    trainLoading.flip = true;
    trainLoading.threads = o.loaderThreads;
    {
        BenchmarkRow row;
        row.key = "data_pipeline";
        row.what = fmt::format("data pipeline: decode, resize, flip, batch 8 ({} loader threads; baseline 1)",
                               o.loaderThreads);
        auto epochOf = [&](BatchLoader& loader) {
            return [&loader, epoch = int64_t(0)]() mutable {
                loader.startEpoch(epoch++);
                while (loader.next()) {
                }
            };
        };
        BatchLoader fastLoader(trainSamples, trainLoading);
        BatchLoaderOptions single = trainLoading;
        single.threads = 1;
        BatchLoader baselineLoader(trainSamples, single);
        compare(row, epochOf(fastLoader), epochOf(baselineLoader), static_cast<double>(trainSamples.size()), o, log);
        report.rows.push_back(row);
    }
    // Both evaluations read the validation split in order, unaugmented.
    BatchLoaderOptions valLoading = trainLoading;
    valLoading.shuffle = false;
    valLoading.flip = false;
    {
        YoloNetwork network = benchmarkNetwork(o, false);
        BatchLoader loader(valSamples, valLoading);
        BenchmarkRow row;
        row.key = "eval_dataset";
        row.what = "evaluation of a dataset: pipeline, fp net, NMS, metrics, batch 8";
        auto evaluation = [&](bool fast) {
            return [&, fast] {
                EvalOptions eval;
                eval.fastPath = fast;
                evaluateDataset(*network, loader, eval);
            };
        };
        compare(row, evaluation(true), evaluation(false), static_cast<double>(valSamples.size()), o, log);
        report.rows.push_back(row);
    }
    {
        // The same evaluation through the integer engine (the 3-bit network of int_infer), against
        // the engine's own int32 loops: the metrics are identical, only the time differs.
        YoloNetwork network = benchmarkNetwork(o, true);
        network->eval();
        const IntegerModel model = exportIntegerModel(*network, "benchmark");
        const IntegerEngine fast(model, IntegerConvKernel::onednn);
        const IntegerEngine loops(model, IntegerConvKernel::reference);
        BatchLoader loader(valSamples, valLoading);
        BenchmarkRow row;
        row.key = "int_eval_dataset";
        row.what = "evaluation of a dataset through the integer engine (oneDNN int8); baseline: its int32 loops";
        const int classes = defaultNetworkSpec().numClasses();
        auto evaluation = [&loader, classes](const IntegerEngine* engine) {
            return [engine, &loader, classes] {
                evaluateDataset([engine](const at::Tensor& images) { return engine->detect(images); }, classes, loader, {});
            };
        };
        compare(row, evaluation(&fast), evaluation(&loops), static_cast<double>(valSamples.size()), o, log);
        report.rows.push_back(row);
    }
    auto rowOf = [&report](const std::string& key) -> BenchmarkRow* {
        for (BenchmarkRow& r : report.rows)
            if (r.key == key)
                return &r;
        return nullptr;
    };
    // Ratios of one run: the machine's load and speed cancel out of them.
    auto addRatio = [&](const std::string& key, const std::string& what, double numerator, double denominator,
                        double target) {
        if (numerator > 0 && denominator > 0)
            report.ratios.push_back({key, what, numerator / denominator, target});
    };
    const double fpTrain = rowOf("fp_train_b8")->imagesPerSecond;
    const double pipeline = rowOf("data_pipeline")->imagesPerSecond;
    report.dataToTrainRatio = fpTrain > 0 ? pipeline / fpTrain : 0;
    rowOf("data_pipeline")->target = 3 * fpTrain;
    addRatio("data_to_train_ratio", "data pipeline / fp training", pipeline, fpTrain, 3);
    for (const int n : {1, 8})
        addRatio(fmt::format("int_over_fp_infer_b{}", n), fmt::format("integer engine / fp inference, batch {}", n),
                 rowOf(fmt::format("int_infer_b{}", n))->imagesPerSecond,
                 rowOf(fmt::format("fp_infer_b{}", n))->imagesPerSecond, n == 1 ? 2.0 : 2.5);
    for (const char* key : {"fp_train_b8", "lsq_train_b8", "fp_infer_b8"})
        if (const BenchmarkRow* bf16 = rowOf(std::string(key) + "_bf16"))
            addRatio(std::string("bf16_over_fp32_") + key, fmt::format("bf16 / fp32, {}", key), bf16->imagesPerSecond,
                     rowOf(key)->imagesPerSecond, std::string(key) == "fp_infer_b8" ? 0 : 1.6);
    const BenchmarkRow* intEval = rowOf("int_eval_dataset");
    addRatio("int_eval_over_loops", "integer-engine evaluation / its int32 loops", intEval->imagesPerSecond,
             intEval->baselineImagesPerSecond, 20);

    // --- Memory: RSS over many training batches from the pipeline -------------------------------
    if (o.memoryBatches > 0) {
        say(fmt::format("memory check: {} fp training batches", o.memoryBatches));
        TrainingStep step(benchmarkNetwork(o, false), batch8, targets);
        step.network().setExecution(NetworkExecution::fast());
        BatchLoader loader(trainSamples, trainLoading);
        resetPeakRss();
        std::vector<double> rss;
        int64_t epoch = 0;
        loader.startEpoch(epoch);
        // Two warm-up batches first: the allocator cache fills during the first steps.
        const int warmUp = 2;
        for (int b = 0; b < o.memoryBatches + warmUp; ++b) {
            std::optional<Batch> batch = loader.next();
            if (!batch) {
                loader.startEpoch(++epoch);
                batch = loader.next();
            }
            step.run(batch->images, batch->targets);
            if (b >= warmUp)
                rss.push_back(currentRssMb());
        }
        const size_t quarter = std::max<size_t>(1, rss.size() / 4);
        auto mean = [](auto first, auto last) {
            double sum = 0;
            for (auto it = first; it != last; ++it)
                sum += *it;
            return sum / static_cast<double>(std::distance(first, last));
        };
        report.memory.batches = o.memoryBatches;
        report.memory.firstQuarterMb = mean(rss.begin(), rss.begin() + static_cast<std::ptrdiff_t>(quarter));
        report.memory.lastQuarterMb = mean(rss.end() - static_cast<std::ptrdiff_t>(quarter), rss.end());
        report.memory.peakMb = peakRssMb();
        report.memory.bounded = report.memory.lastQuarterMb <=
                                report.memory.firstQuarterMb + std::max(32.0, 0.05 * report.memory.firstQuarterMb);
        say(fmt::format("memory: {:.0f} MB -> {:.0f} MB (first -> last quarter), peak {:.0f} MB",
                        report.memory.firstQuarterMb, report.memory.lastQuarterMb, report.memory.peakMb));
    }
    return report;
}

std::string formatBenchmarkTable(const BenchmarkReport& r)
{
    std::ostringstream out;
    out << fmt::format("tyq bench at {}x{}: {}; {} compute threads; LibTorch {}; kernels {}\n", r.width, r.height,
                       r.machine, r.threads, r.libtorch, r.kernelIsa);
    if (r.ownKernelThreads < r.threads)
        out << fmt::format("tyq's own kernels run on {} thread(s): this build has no OpenMP\n", r.ownKernelThreads);
    if (!r.integerKernels.empty())
        out << "integer engine: " << r.integerKernels << "\n";
    out << "baseline: the straightforward path in the same process (1 thread, NCHW, op by op, reference "
           "quantizer, plain allocator)\n\n";
    out << fmt::format("{:<16} {:>11} {:>11} {:>8} {:>8} {:>9}  {}\n", "key", "images/s", "baseline", "speedup",
                       "target", "peak RSS", "what");
    for (const BenchmarkRow& row : r.rows) {
        const std::string baseline = row.baselineImagesPerSecond > 0 ? fmt::format("{:.2f}", row.baselineImagesPerSecond) : "-";
        const std::string speedup =
            row.baselineImagesPerSecond > 0 ? fmt::format("x{:.1f}", row.imagesPerSecond / row.baselineImagesPerSecond) : "-";
        const std::string target = row.target > 0 ? fmt::format("{:.0f} {}", row.target,
                                                                row.imagesPerSecond >= row.target ? "ok" : "NO")
                                                  : "-";
        out << fmt::format("{:<16} {:>11.2f} {:>11} {:>8} {:>8} {:>6.0f} MB  {}\n", row.key, row.imagesPerSecond,
                           baseline, speedup, target, row.peakRssMb, row.what);
    }
    out << "\n";
    for (const BenchmarkRatio& ratio : r.ratios)
        out << fmt::format("{:<46} x{:.2f}{}\n", ratio.what + ":", ratio.value,
                           ratio.target > 0 ? fmt::format("  (target x{:g}: {})", ratio.target,
                                                          ratio.value >= ratio.target ? "ok" : "NO")
                                            : "");
    if (r.memory.batches > 0)
        out << fmt::format("memory over {} training batches: {:.0f} MB first quarter, {:.0f} MB last quarter, peak "
                           "{:.0f} MB: {}\n",
                           r.memory.batches, r.memory.firstQuarterMb, r.memory.lastQuarterMb, r.memory.peakMb,
                           r.memory.bounded ? "no growth" : "GROWS");
    return out.str();
}

std::string benchmarkJson(const BenchmarkReport& r)
{
    nlohmann::json j;
    j["machine"] = r.machine;
    j["libtorch"] = r.libtorch;
    j["kernel_isa"] = r.kernelIsa;
    j["integer_kernels"] = r.integerKernels;
    j["threads"] = r.threads;
    j["own_kernel_threads"] = r.ownKernelThreads;
    j["width"] = r.width;
    j["height"] = r.height;
    for (const BenchmarkRow& row : r.rows) {
        j[row.key] = row.imagesPerSecond;
        j[row.key + "_what"] = row.what;
        j[row.key + "_peak_rss_mb"] = row.peakRssMb;
        if (row.baselineImagesPerSecond > 0) {
            j[row.key + "_baseline"] = row.baselineImagesPerSecond;
            j[row.key + "_speedup"] = row.imagesPerSecond / row.baselineImagesPerSecond;
        }
        if (row.target > 0) {
            j[row.key + "_target"] = row.target;
            j[row.key + "_target_met"] = row.imagesPerSecond >= row.target;
        }
    }
    j["data_to_train_ratio"] = r.dataToTrainRatio;
    for (const BenchmarkRatio& ratio : r.ratios) {
        j[ratio.key] = ratio.value;
        if (ratio.target > 0) {
            j[ratio.key + "_target"] = ratio.target;
            j[ratio.key + "_target_met"] = ratio.value >= ratio.target;
        }
    }
    if (r.memory.batches > 0) {
        j["memory_batches"] = r.memory.batches;
        j["memory_first_quarter_mb"] = r.memory.firstQuarterMb;
        j["memory_last_quarter_mb"] = r.memory.lastQuarterMb;
        j["memory_growth_mb"] = r.memory.lastQuarterMb - r.memory.firstQuarterMb;
        j["memory_peak_mb"] = r.memory.peakMb;
        j["memory_bounded"] = r.memory.bounded;
    }
    return j.dump(2);
}

} // namespace tyq
