// The synthetic DAC-like dataset: each image is a textured background (terrain, water, road,
// sand, beach, pavement) with a few distractors and exactly one procedurally drawn object whose
// label box is measured from the drawn alpha mask, so it is tight by construction.
#include "data/synthetic_dataset.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/dataset.h"
#include "data/synthetic/backgrounds.h"
#include "data/synthetic/random.h"
#include "data/synthetic/sprites.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace tyq {
namespace fs = std::filesystem;

namespace {

using namespace synthetic;

constexpr int kWorkerThreads = 2;
// Objects are drawn at twice their final size and shrunk, which anti-aliases thin parts.
constexpr double kSupersample = 2.0;

// ---------------------------------------------------------------------------------------------
// One image.

struct Rendered {
    cv::Mat image;
    BoxLabel box;
};

// Box size in pixels: the sampled area shaped by the drawn aspect ratio, kept inside the image
// and, after rounding, inside the area bounds.
cv::Size boxSize(double aspect, double area, double minArea, double maxArea, cv::Size image)
{
    int w = std::clamp(static_cast<int>(std::lround(std::sqrt(area * aspect))), 2, image.width);
    int h = std::clamp(static_cast<int>(std::lround(area / w)), 2, image.height);
    w = std::clamp(static_cast<int>(std::lround(area / h)), 2, image.width);
    while (double(w) * h > maxArea && h > 2)
        --h;
    while (double(w) * h < minArea && h < image.height)
        ++h;
    while (double(w) * h < minArea && w < image.width)
        ++w;
    return {w, h};
}

Rendered renderSample(const SyntheticDatasetOptions& options, int classId, uint64_t seed)
{
    Rng rng(seed);
    cv::RNG cvRng(rng.bits());
    const cv::Size size(options.width, options.height);
    const double imageArea = double(size.width) * size.height;
    const double minArea = options.minAreaFraction * imageArea, maxArea = options.maxAreaFraction * imageArea;

    cv::Mat image = makeBackground(pickScene(classId, rng), size, rng, cvRng);

    // sqrt(area) uniform: small and large objects equally common on a linear size scale.
    const double side = rng.uniform(std::sqrt(minArea), std::sqrt(maxArea));
    const double area = side * side;
    const AspectRange aspectRangeOfClass = aspectRange(classId);
    const double aspect = rng.uniform(aspectRangeOfClass.lo, aspectRangeOfClass.hi);
    const Sprite drawn = drawObject(classId, std::sqrt(area * aspect) * kSupersample,
                                    std::sqrt(area / aspect) * kSupersample, rng);
    Sprite sprite = orientSprite(drawn, classId, rng);

    const cv::Size box = boxSize(double(sprite.color.cols) / sprite.color.rows, area, minArea, maxArea, size);
    cv::Mat color, alpha;
    cv::resize(sprite.color, color, box, 0, 0, cv::INTER_AREA);
    cv::resize(sprite.alpha, alpha, box, 0, 0, cv::INTER_AREA);

    // Composite (colour is premultiplied) with a light gradient and grain on the object.
    const int x0 = rng.integer(0, size.width - box.width), y0 = rng.integer(0, size.height - box.height);
    const double gx = rng.uniform(-0.25, 0.25) / box.width, gy = rng.uniform(-0.25, 0.25) / box.height;
    const double grain = rng.uniform(3, 8);
    for (int y = 0; y < box.height; ++y) {
        auto* out = image.ptr<cv::Vec3b>(y0 + y) + x0;
        const auto* c = color.ptr<cv::Vec3b>(y);
        const uint8_t* a = alpha.ptr<uint8_t>(y);
        for (int x = 0; x < box.width; ++x) {
            if (a[x] == 0)
                continue;
            const double cover = a[x] / 255.0;
            const double light = 1 + gx * (x - box.width / 2.0) + gy * (y - box.height / 2.0);
            const double g = cvRng.gaussian(grain) * cover;
            for (int k = 0; k < 3; ++k) {
                const double object = std::clamp(c[x][k] * light + g, 0.0, 255.0 * cover);
                out[x][k] = cv::saturate_cast<uint8_t>(out[x][k] * (1 - cover) + object);
            }
        }
    }

    // Camera: a little blur, exposure, sensor noise. The noise is made a row at a time: a
    // whole-image noise buffer costs more in fresh memory pages than in arithmetic.
    if (rng.chance(0.3))
        cv::GaussianBlur(image, image, cv::Size(0, 0), rng.uniform(0.5, 1.1));
    const float gain = static_cast<float>(rng.uniform(0.8, 1.2)), offset = static_cast<float>(rng.uniform(-20, 20));
    const float sigma = static_cast<float>(rng.uniform(1.5, 5));
    cv::Mat noise(1, size.width * 3, CV_32F);
    for (int y = 0; y < size.height; ++y) {
        cvRng.fill(noise, cv::RNG::NORMAL, 0.f, sigma);
        uint8_t* row = image.ptr<uint8_t>(y);
        const float* n = noise.ptr<float>();
        for (int i = 0; i < size.width * 3; ++i)
            row[i] = cv::saturate_cast<uint8_t>(row[i] * gain + offset + n[i]);
    }

    Rendered out;
    out.image = image;
    out.box.classId = classId;
    out.box.cx = static_cast<float>((x0 + box.width / 2.0) / size.width);
    out.box.cy = static_cast<float>((y0 + box.height / 2.0) / size.height);
    out.box.w = static_cast<float>(double(box.width) / size.width);
    out.box.h = static_cast<float>(double(box.height) / size.height);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Files and threads.

void writeFile(const fs::path& path, const void* data, size_t size)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out)
        fail(path, "cannot write the file");
}

std::string sampleName(int index)
{
    char name[32];
    std::snprintf(name, sizeof name, "%06d", index);
    return name;
}

const char* const kSplitNames[2] = {"train", "val"};

struct Job {
    int split = 0;
    int index = 0;
    int classId = 0;
};

void writeSample(const SyntheticDatasetOptions& options, const Job& job)
{
    const Rendered r = renderSample(options, job.classId, streamSeed(options.seed, job.split, job.index));
    const std::string name = sampleName(job.index), split = kSplitNames[job.split];
    std::vector<uint8_t> jpeg;
    if (!cv::imencode(".jpg", r.image, jpeg, {cv::IMWRITE_JPEG_QUALITY, options.jpegQuality}))
        fail(options.outDir / "images" / split / (name + ".jpg"), "JPEG encoding failed");
    writeFile(options.outDir / "images" / split / (name + ".jpg"), jpeg.data(), jpeg.size());

    char line[128];
    const int n = std::snprintf(line, sizeof line, "%d %.6f %.6f %.6f %.6f\n", r.box.classId, r.box.cx, r.box.cy,
                                r.box.w, r.box.h);
    writeFile(options.outDir / "labels" / split / (name + ".txt"), line, static_cast<size_t>(n));
    const std::string xml = vocAnnotationXml(name + ".jpg", options.width, options.height, {r.box}, dacClassNames());
    writeFile(options.outDir / "annotations" / split / (name + ".xml"), xml.data(), xml.size());
}

// Balanced classes: i % 12, shuffled per split (Fisher-Yates with our own Rng).
std::vector<int> classOrder(uint64_t seed, int split, int count)
{
    std::vector<int> order(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i)
        order[i] = i % kNumClasses;
    Rng rng(streamSeed(seed, split, ~0ull));
    for (int i = count - 1; i > 0; --i)
        std::swap(order[i], order[rng.integer(0, i)]);
    return order;
}

void validate(const SyntheticDatasetOptions& o)
{
    auto bad = [&](const std::string& problem) { throw Error("synthetic dataset: " + problem); };
    if (o.outDir.empty())
        bad("no output folder given");
    if (o.trainCount < 0 || o.valCount < 0 || o.trainCount > 1'000'000 || o.valCount > 1'000'000)
        bad("image counts must be 0..1000000");
    if (o.width < 64 || o.height < 64 || o.width > 8192 || o.height > 8192)
        bad("image size must be 64..8192 pixels per side");
    if (!(o.minAreaFraction > 0) || !(o.maxAreaFraction <= 0.5) || o.minAreaFraction > o.maxAreaFraction)
        bad("object area fractions must satisfy 0 < min <= max <= 0.5");
    if (o.minAreaFraction * o.width * o.height < 64)
        bad("the smallest object would be under 64 pixels; raise minAreaFraction");
    if (o.jpegQuality < 1 || o.jpegQuality > 100)
        bad("JPEG quality must be 1..100");
}

// Joins its threads on every way out, after asking them to stop.
class Workers {
public:
    explicit Workers(std::atomic<bool>& stop) : stop_(stop) {}
    ~Workers() { join(); }
    template <class F> void start(int n, F f)
    {
        for (int i = 0; i < n; ++i)
            threads_.emplace_back(f);
    }
    void join()
    {
        stop_ = true;
        for (auto& t : threads_)
            if (t.joinable())
                t.join();
    }

private:
    std::atomic<bool>& stop_;
    std::vector<std::thread> threads_;
};

} // namespace

SyntheticDatasetResult generateSyntheticDataset(const SyntheticDatasetOptions& options,
                                                const std::function<bool(int, int)>& progress)
{
    validate(options);
    for (const char* kind : {"images", "labels", "annotations"})
        for (const char* split : kSplitNames) {
            const fs::path dir = options.outDir / kind / split;
            std::error_code ec;
            fs::create_directories(dir, ec);
            if (ec)
                fail(dir, "cannot create the folder: " + ec.message());
        }

    std::vector<Job> jobs;
    const int counts[2] = {options.trainCount, options.valCount};
    for (int split = 0; split < 2; ++split) {
        const std::vector<int> classes = classOrder(options.seed, split, counts[split]);
        for (int i = 0; i < counts[split]; ++i)
            jobs.push_back({split, i, classes[i]});
    }
    const int total = static_cast<int>(jobs.size());

    // Workers draw and write images; this thread only reports progress, so the callback
    // always runs on the caller's thread.
    std::atomic<bool> stop{false};
    std::atomic<int> next{0};
    std::mutex mutex;
    std::condition_variable changed;
    int done = 0, running = 0;
    std::vector<char> finished(jobs.size(), 0);
    std::exception_ptr error;
    bool cancelled = false;
    {
        Workers workers(stop);
        const int threads = std::min(kWorkerThreads, total);
        running = threads;
        workers.start(threads, [&] {
            while (!stop) {
                const int j = next++;
                if (j >= total)
                    break;
                try {
                    writeSample(options, jobs[j]);
                } catch (...) {
                    std::lock_guard<std::mutex> lock(mutex);
                    if (!error)
                        error = std::current_exception();
                    stop = true;
                    break;
                }
                std::lock_guard<std::mutex> lock(mutex);
                finished[j] = 1;
                ++done;
                changed.notify_one();
            }
            std::lock_guard<std::mutex> lock(mutex);
            --running;
            changed.notify_one();
        });

        int reported = 0;
        std::unique_lock<std::mutex> lock(mutex);
        while (true) {
            changed.wait(lock, [&] { return done > reported || running == 0; });
            const int nowDone = done;
            const bool allStopped = running == 0;
            lock.unlock();
            while (reported < nowDone && !cancelled) {
                ++reported;
                if (progress && !progress(reported, total)) {
                    cancelled = true;
                    stop = true;
                }
            }
            lock.lock();
            if (cancelled || (allStopped && reported == done))
                break;
        }
        lock.unlock();
        workers.join();
    }
    if (error)
        std::rethrow_exception(error);

    SyntheticDatasetResult result;
    for (size_t j = 0; j < jobs.size(); ++j)
        if (finished[j])
            ++(jobs[j].split == 0 ? result.trainCount : result.valCount);
    if (cancelled)
        return result;

    std::string names;
    for (const auto& name : dacClassNames())
        names += name + "\n";
    writeFileAtomically(options.outDir / "dac.names", names);
    for (int split = 0; split < 2; ++split) {
        std::string list;
        for (int i = 0; i < counts[split]; ++i)
            list += std::string("images/") + kSplitNames[split] + "/" + sampleName(i) + ".jpg\n";
        writeFileAtomically(options.outDir / (std::string(kSplitNames[split]) + ".txt"), list);
    }
    result.dataFile = options.outDir / "dac.data";
    writeFileAtomically(result.dataFile, "# Synthetic DAC-like dataset written by tyq gen-data (seed " +
                                             std::to_string(options.seed) +
                                             "). Paths are relative to this file's folder.\n"
                                             "classes=12\ntrain=train.txt\nvalid=val.txt\nnames=dac.names\n");
    return result;
}

} // namespace tyq
