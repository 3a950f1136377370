#include "job_strip.h"

#include "training_controller.h"
#include "ui_utils.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>

namespace tyq::ui {

JobStrip::JobStrip(TrainingController* controller, QWidget* parent)
    : QWidget(parent), controller_(controller), label_(new QLabel), progress_(new QProgressBar),
      stop_(new QPushButton(tr("Stop")))
{
    setObjectName("jobStrip");
    label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    progress_->setRange(0, 1000);
    progress_->setMaximumWidth(260);
    progress_->setTextVisible(true);
    stop_->setToolTip(tr("Stop after the current batch; a resumable checkpoint is saved (Ctrl+.)"));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 2, 6, 2);
    layout->addWidget(label_, 1);
    layout->addWidget(progress_);
    layout->addWidget(stop_);
    setVisible(false);

    connect(stop_, &QPushButton::clicked, this, [this] {
        controller_->stop();
        stop_->setEnabled(false);
        label_->setText(tr("%1: stopping after the current batch…").arg(phase_));
    });
    connect(controller_, &TrainingController::runningChanged, this, [this](bool running) {
        setVisible(running);
        stop_->setEnabled(running);
        if (running) {
            progress_->setValue(0);
            label_->setText(tr("Training: starting…"));
        }
    });
    connect(controller_, &TrainingController::runStarted, this, [this](const RunStart& start) {
        phase_ = start.phase == "lsq" ? tr("LSQ training") : tr("Full-precision training");
        label_->setText(tr("%1 in %2").arg(phase_, fromPath(start.runDir)));
    });
    connect(controller_, &TrainingController::batchDone, this, &JobStrip::onBatch);
    connect(controller_, &TrainingController::evaluationProgress, this, [this](qint64 done, qint64 total) {
        label_->setText(tr("%1: evaluating %2 / %3 images").arg(phase_).arg(done).arg(total));
    });
}

QString JobStrip::text() const
{
    return label_->text();
}

void JobStrip::onBatch(const BatchReport& r)
{
    const double total = static_cast<double>(r.epochs * r.batchesPerEpoch);
    const double done = static_cast<double>(r.epoch * r.batchesPerEpoch + r.batchInEpoch + 1);
    progress_->setValue(total > 0 ? static_cast<int>(1000.0 * done / total) : 0);
    progress_->setFormat(QString("%p%"));
    if (!controller_->isStopping())
        label_->setText(tr("%1: epoch %2/%3 · batch %4/%5 · loss %6 · ETA %7")
                            .arg(phase_)
                            .arg(r.epoch + 1)
                            .arg(r.epochs)
                            .arg(r.batchInEpoch + 1)
                            .arg(r.batchesPerEpoch)
                            .arg(r.loss, 0, 'f', 4)
                            .arg(durationText(r.etaSeconds)));
}

} // namespace tyq::ui
