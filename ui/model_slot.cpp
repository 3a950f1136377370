// Engine (LibTorch) headers come before any Qt header: Qt's `slots` macro breaks LibTorch's.
#include "common/compute_threads.h"
#include "model_slot.h"

#include "background_job.h"
#include "ui_utils.h"

#include <QElapsedTimer>
#include <QFileInfo>

namespace tyq::ui {

namespace {

constexpr size_t kCacheLimit = 256; // decoded rows kept per model (~120 KB each at 512x288)

std::shared_ptr<SlotModel> loadSlotModel(const QString& weights, const QString& quantYaml)
{
    auto model = std::make_shared<SlotModel>();
    ModelSource source;
    source.weights = toPath(weights);
    source.quant = toPath(quantYaml);
    model->loaded = loadModel(source);
    model->detector = std::make_unique<Detector>(model->loaded.network);
    model->numClasses = model->loaded.network->spec().numClasses();
    model->inputWidth = model->detector->inputWidth();
    model->inputHeight = model->detector->inputHeight();
    QString bits = QObject::tr("full precision");
    if (model->loaded.network->quantized()) {
        const QuantConfig& q = *model->loaded.network->quantConfig();
        bits = QObject::tr("LSQ %1-bit weights / %2-bit activations").arg(q.defaults.weight.bit).arg(q.defaults.act.bit);
    }
    model->description = QString("%1 (%2, %3, %4x%5)")
                             .arg(QFileInfo(weights).fileName(), QString::fromStdString(model->loaded.weightsDescription),
                                  bits)
                             .arg(model->inputWidth)
                             .arg(model->inputHeight);
    return model;
}

DecodedImage runSlotModel(SlotModel& model, const QString& path)
{
    QElapsedTimer timer;
    timer.start();
    DetectionOptions options;
    options.keepDecoded = true;
    options.confThreshold = 2.0f; // no boxes here: NMS runs on the GUI thread over the cached rows
    std::lock_guard<std::mutex> lock(model.mutex);
    ImageDetections result = model.detector->run(toPath(path), options);
    return {path, result.decoded.contiguous(), result.width, result.height,
            static_cast<double>(timer.nsecsElapsed()) / 1e6};
}

} // namespace

ModelSlot::ModelSlot(QObject* parent)
    : QObject(parent), loadJob_(std::make_unique<BackgroundJob<std::shared_ptr<SlotModel>>>(this, &pool_)),
      inferJob_(std::make_unique<BackgroundJob<DecodedImage>>(this, &pool_))
{
    pool_.setMaxThreadCount(1);
    pool_.setExpiryTimeout(-1);
}

ModelSlot::~ModelSlot() = default;

void ModelSlot::load(const QString& weights, const QString& quantYaml)
{
    inferJob_->drop();
    running_.clear();
    if (!loading_)
        kept_ = {model_, weights_, quantYaml_}; // what a failed load falls back to
    model_.reset();
    cache_.clear();
    cacheOrder_.clear();
    loading_ = true;
    weights_ = weights;
    quantYaml_ = quantYaml;

    JobHandlers<std::shared_ptr<SlotModel>> handlers;
    handlers.result = [this](const std::shared_ptr<SlotModel>& model) {
        loading_ = false;
        kept_ = {};
        model_ = model;
        Q_EMIT loaded(true, model->description, ErrorKind::generic);
    };
    handlers.failed = [this, weights](const JobFailure& failure) {
        loading_ = false;
        model_ = kept_.model; // the model loaded before stays (null if there was none)
        weights_ = kept_.model ? kept_.weights : QString();
        quantYaml_ = kept_.model ? kept_.quantYaml : QString();
        kept_ = {};
        Q_EMIT loaded(false, modelLoadFailureText(failure, weights), failure.kind);
    };
    loadJob_->start(
        [weights, quantYaml](QPromise<std::shared_ptr<SlotModel>>& promise) {
            configureComputeThreads(0);
            promise.addResult(loadSlotModel(weights, quantYaml));
        },
        std::move(handlers));
}

const DecodedImage* ModelSlot::cached(const QString& path) const
{
    const auto found = cache_.find(path);
    return found == cache_.end() ? nullptr : &found->second;
}

bool ModelSlot::isRunning() const
{
    return !running_.isEmpty();
}

void ModelSlot::request(const QString& path)
{
    requested_ = path;
    if (!model_ || cached(path) || (isRunning() && running_ == path))
        return;
    // Starting replaces the request before: if it has not begun it never runs, so browsing
    // quickly costs at most the one forward in progress.
    JobHandlers<DecodedImage> handlers;
    handlers.result = [this](const DecodedImage& rows) {
        running_.clear();
        cache(rows);
        Q_EMIT decoded(rows.path);
    };
    handlers.failed = [this, path](const JobFailure& failure) {
        running_.clear();
        Q_EMIT failed(path, failure.message);
    };
    running_ = path;
    inferJob_->start(
        [model = model_, path](QPromise<DecodedImage>& promise) {
            configureComputeThreads(0);
            promise.addResult(runSlotModel(*model, path));
        },
        std::move(handlers));
}

void ModelSlot::cache(DecodedImage rows)
{
    const QString path = rows.path;
    if (cache_.count(path) == 0)
        cacheOrder_.push_back(path);
    cache_[path] = std::move(rows);
    while (cacheOrder_.size() > kCacheLimit) {
        if (cacheOrder_.front() != requested_)
            cache_.erase(cacheOrder_.front());
        else
            cacheOrder_.push_back(cacheOrder_.front());
        cacheOrder_.pop_front();
    }
}

} // namespace tyq::ui

// This header's moc goes here, after the engine headers, not into the target's shared moc unit.
#include "moc_model_slot.cpp"
