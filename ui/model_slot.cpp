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
    if (!model->loaded.network->quantized()) {
        model->integerForm = QObject::tr("full precision: no integer form");
    } else {
        try {
            auto engine = std::make_shared<const IntegerEngine>(exportIntegerModel(*model->loaded.network));
            model->integerForm = QString::fromStdString(engine->kernelDescription());
            model->integerDetector = std::make_unique<Detector>(model->loaded.network, std::move(engine));
        } catch (const Error& e) {
            model->integerForm = QObject::tr("no integer form: %1").arg(QString::fromUtf8(e.what()));
        }
    }
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

DecodedImage runSlotModel(SlotModel& model, const QString& path, bool integer)
{
    QElapsedTimer timer;
    timer.start();
    DetectionOptions options;
    options.keepDecoded = true;
    options.confThreshold = 2.0f; // no boxes here: NMS runs on the GUI thread over the cached rows
    std::lock_guard<std::mutex> lock(model.mutex);
    Detector& detector = model.detectorFor(integer);
    ImageDetections result = detector.run(toPath(path), options);
    return {path, result.decoded.contiguous(), result.width, result.height,
            static_cast<double>(timer.nsecsElapsed()) / 1e6, detector.integerEngine() != nullptr};
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

bool ModelSlot::usesIntegerEngine() const
{
    return integerAsked_ && model_ && model_->integerDetector;
}

void ModelSlot::setIntegerEngine(bool on)
{
    if (on == integerAsked_)
        return;
    const bool changes = model_ && model_->integerDetector; // else both settings run the float network
    integerAsked_ = on;
    if (!changes)
        return;
    // The rows of the other engine must not show under this one: drop them and the image in
    // progress (its result is discarded); the caller asks for the current image again.
    inferJob_->drop();
    running_.clear();
    cache_.clear();
    cacheOrder_.clear();
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
        [model = model_, path, integer = integerAsked_](QPromise<DecodedImage>& promise) {
            configureComputeThreads(0);
            promise.addResult(runSlotModel(*model, path, integer));
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
