// Engine (LibTorch) headers come before any Qt header: Qt's `slots` macro breaks LibTorch's.
#include "common/compute_threads.h"
#include "data/batch_loader.h"
#include "infer/dataset_evaluation.h"
#include "model_slot.h"

#include "background_job.h"
#include "detection_comparison.h"
#include "detection_evaluation.h"

#include <QProgressBar>
#include <QPushButton>

namespace tyq::ui {

namespace {

/// Runs on the job's thread: one evaluateDataset per model, its images' IoUs as results.
void evaluate(const EvaluationRequest& request, QPromise<EvaluationUpdate>& promise)
{
    configureComputeThreads(0);
    int models = 0;
    for (const auto& m : request.models)
        models += m ? 1 : 0;
    const int perModel = static_cast<int>(request.samples.size());
    promise.setProgressRange(0, models * perModel);
    int before = 0; // images done by the models evaluated already
    for (int slot = 0; slot < 2 && !promise.isCanceled(); ++slot) {
        const std::shared_ptr<SlotModel> model = request.models[slot];
        if (!model)
            continue;
        BatchLoaderOptions loading;
        loading.batchSize = 4;
        loading.width = model->inputWidth;
        loading.height = model->inputHeight;
        loading.shuffle = false;
        loading.threads = 1;
        BatchLoader loader(request.samples, loading);
        EvalOptions options;
        options.confThreshold = request.confThreshold;
        options.nmsThreshold = request.nmsThreshold;
        EvaluationUpdate totals;
        totals.slot = slot;
        totals.totals = true;
        totals.result = evaluateDataset(
            [&](const at::Tensor& images) {
                std::lock_guard<std::mutex> lock(model->mutex); // browsing shares the model
                return model->detectorFor(request.integer[slot]).detectBatch(images);
            },
            model->numClasses, loader, options,
            [&](int64_t done, int64_t) {
                promise.setProgressValue(before + static_cast<int>(done));
                return !promise.isCanceled();
            },
            [&](ImageEvaluation&& image) {
                EvaluationUpdate update;
                update.slot = slot;
                update.entry = request.entries[static_cast<size_t>(image.sampleIndex)];
                update.topIoU = image.topIoU;
                promise.addResult(std::move(update));
            },
            &totals.problems);
        before += perModel;
        promise.addResult(std::move(totals));
    }
}

} // namespace

DetectionEvaluation::DetectionEvaluation(QObject* parent)
    : QObject(parent), evaluateButton_(new QPushButton(tr("Evaluate all"))), cancelButton_(new QPushButton(tr("Cancel"))),
      progress_(new QProgressBar), job_(std::make_unique<BackgroundJob<EvaluationUpdate>>(this))
{
    evaluateButton_->setToolTip(tr("Run both models over the listed images: top-box IoU per image, mean IoU and mAP"));
    cancelButton_->setEnabled(false);
    progress_->setMaximumWidth(220);
    progress_->setFormat("%v / %m");
    progress_->setVisible(false);
    connect(evaluateButton_, &QPushButton::clicked, this, &DetectionEvaluation::evaluateAsked);
    connect(cancelButton_, &QPushButton::clicked, this, &DetectionEvaluation::cancel);
}

DetectionEvaluation::~DetectionEvaluation() = default;

bool DetectionEvaluation::isRunning() const
{
    return job_->isRunning();
}

bool DetectionEvaluation::measures(int slot, const SlotModel* model) const
{
    return isRunning() && model && models_[slot].get() == model;
}

void DetectionEvaluation::cancel()
{
    job_->cancel();
    cancelButton_->setEnabled(false);
}

QString DetectionEvaluation::summary(double confThreshold, double nmsThreshold) const
{
    if (summary_.isEmpty() || isRunning() ||
        (conf_ == static_cast<float>(confThreshold) && nms_ == static_cast<float>(nmsThreshold)))
        return summary_;
    return summary_ + tr(" <i>(thresholds changed since: evaluate again)</i>");
}

void DetectionEvaluation::start(EvaluationRequest request)
{
    int models = 0;
    for (int slot = 0; slot < 2; ++slot) {
        models_[slot] = request.models[slot];
        models += models_[slot] ? 1 : 0;
    }
    images_ = static_cast<int>(request.samples.size());
    conf_ = request.confThreshold;
    nms_ = request.nmsThreshold;
    summary_.clear();
    evaluateButton_->setEnabled(false);
    cancelButton_->setEnabled(true);
    progress_->setRange(0, images_ * models);
    progress_->setValue(0);
    progress_->setVisible(true);

    // The summary names the engine of a quantized model: its numbers are that engine's.
    QString engines[2];
    for (int slot = 0; slot < 2; ++slot)
        if (models_[slot] && models_[slot]->loaded.network->quantized())
            engines[slot] = request.integer[slot] && models_[slot]->integerDetector ? tr(" (integer engine)")
                                                                                    : tr(" (fake-quant float)");
    auto totals = std::make_shared<QStringList>();
    auto problems = std::make_shared<QStringList>();
    JobHandlers<EvaluationUpdate> handlers;
    handlers.progress = [this](int done, int total) {
        progress_->setRange(0, total);
        progress_->setValue(done);
        Q_EMIT progress(done, total);
    };
    handlers.result = [this, totals, problems, engines](const EvaluationUpdate& update) {
        if (!update.totals) {
            Q_EMIT imageScored(update.slot, update.entry, update.topIoU);
            return;
        }
        const EvaluationResult& r = update.result;
        *totals << tr("<b>%1</b>%2: mean top-box IoU %3, mAP@0.5 %4 (%5 boxes)")
                       .arg(slotName(update.slot), engines[update.slot])
                       .arg(r.contestIoU, 0, 'f', 3)
                       .arg(r.mAP, 0, 'f', 3)
                       .arg(r.predictions);
        for (const std::string& p : update.problems)
            if (!problems->contains(QString::fromStdString(p)))
                *problems << QString::fromStdString(p);
    };
    handlers.finished = [this, totals, problems] { onFinished(false, *totals, *problems); };
    handlers.cancelled = [this, totals, problems] { onFinished(true, *totals, *problems); };
    handlers.failed = [this, totals, problems](const JobFailure& failure) {
        onFinished(false, *totals, *problems << failure.message);
    };
    job_->start([request = std::move(request)](QPromise<EvaluationUpdate>& promise) { evaluate(request, promise); },
                std::move(handlers));
}

void DetectionEvaluation::onFinished(bool cancelled, const QStringList& totals, const QStringList& problems)
{
    for (auto& model : models_)
        model.reset();
    evaluateButton_->setEnabled(true);
    cancelButton_->setEnabled(false);
    progress_->setVisible(false);
    const QString head = cancelled ? tr("Cancelled after %1 of %2 image runs").arg(progress_->value()).arg(progress_->maximum())
                                   : tr("%1 images").arg(images_);
    summary_ = tr("%1 at conf %2, NMS %3").arg(head).arg(conf_, 0, 'f', 2).arg(nms_, 0, 'f', 2);
    if (!totals.isEmpty())
        summary_ += ": " + totals.join(" — ");
    Q_EMIT finished(cancelled, problems);
}

} // namespace tyq::ui
