#include "training_panel.h"

#include "common/error.h"
#include "options_form.h"
#include "training_controller.h"
#include "train/run_folder.h"
#include "ui_utils.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QVBoxLayout>


namespace tyq::ui {
TrainingPanel::TrainingPanel(TrainingController* controller, QWidget* parent) : QWidget(parent), controller_(controller)
{
    data_ = new QLineEdit;
    data_->setToolTip(tr("The dataset's .data file (classes, train and valid lists, names)"));
    phase_ = new QComboBox;
    phase_->addItem(tr("Full precision"), "fp");
    phase_->addItem(tr("LSQ (quantized, bit-widths from the editor)"), "lsq");
    fpCheckpoint_ = new QLineEdit;
    fpCheckpoint_->setPlaceholderText(tr("fp checkpoint LSQ starts from (e.g. exps/<run>/checkpoints/best.ckpt)"));
    runName_ = new QLineEdit;
    runName_->setPlaceholderText(tr("automatic (<phase>-<date>-<time>)"));
    runsRoot_ = new QLineEdit;
    processes_ = new QSpinBox;
    processes_->setRange(1, 64);
    processes_->setToolTip(tr("Data-parallel processes on this machine, as one run (the batch size is per "
                              "process; rank 0 trains here, the others run the tyq command and log to "
                              "train.rank<R>.log)"));
    options_ = new OptionsForm;

    auto* sources = new QGroupBox(tr("What to train"));
    auto* sourceForm = new QFormLayout(sources);
    sourceForm->addRow(tr("Dataset"), pathField(data_, tr("Dataset (*.data)")));
    sourceForm->addRow(tr("Phase"), phase_);
    sourceForm->addRow(tr("From fp checkpoint"), pathField(fpCheckpoint_, tr("Checkpoints (*.ckpt *.pth)")));
    sourceForm->addRow(tr("Runs folder"), pathField(runsRoot_, {}, true));
    sourceForm->addRow(tr("Run name"), runName_);
    sourceForm->addRow(tr("Processes"), processes_);

    auto* optionsBox = new QGroupBox(tr("Options"));
    (new QVBoxLayout(optionsBox))->addWidget(options_);

    start_ = new QPushButton(tr("&Start"));
    start_->setToolTip(tr("Start a new run with these settings (Ctrl+R)"));
    start_->setShortcut(QKeySequence("Ctrl+R"));
    stop_ = new QPushButton(tr("S&top"));
    stop_->setToolTip(tr("Stop after the current batch; a resumable checkpoint is saved"));
    resume_ = new QPushButton(tr("Res&ume…"));
    resume_->setToolTip(tr("Continue a stopped run from its last checkpoint"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(start_);
    buttons->addWidget(stop_);
    buttons->addWidget(resume_);

    progress_ = new QProgressBar;
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    progress_->setFormat("%p%");
    status_ = new QLabel(tr("Idle"));
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    // The forms scroll; Start/Stop, the progress bar and the status stay in view below them.
    auto* forms = new QWidget;
    auto* formsLayout = new QVBoxLayout(forms);
    formsLayout->setContentsMargins(0, 0, 0, 0);
    formsLayout->addWidget(sources);
    formsLayout->addWidget(optionsBox);
    formsLayout->addStretch();
    auto* scroll = new QScrollArea;
    scroll->setWidget(forms);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    // Never narrower than the forms: the dock scrolls down, it does not clip the fields.
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(forms->minimumSizeHint().width() + scroll->verticalScrollBar()->sizeHint().width() + 4);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(scroll, 1);
    layout->addLayout(buttons);
    layout->addWidget(progress_);
    layout->addWidget(status_);

    for (QLineEdit* edit : {data_, fpCheckpoint_, runName_, runsRoot_})
        connect(edit, &QLineEdit::textEdited, this, &TrainingPanel::experimentEdited);
    for (QLineEdit* edit : {data_, fpCheckpoint_, runsRoot_})
        connect(edit, &QLineEdit::editingFinished, this, &TrainingPanel::experimentEdited);
    connect(options_, &OptionsForm::edited, this, &TrainingPanel::experimentEdited);
    connect(processes_, &QSpinBox::valueChanged, this, &TrainingPanel::experimentEdited);
    connect(phase_, &QComboBox::currentIndexChanged, this, [this] {
        updateEnabled();
        Q_EMIT experimentEdited();
    });

    connect(start_, &QPushButton::clicked, this, [this] { startTraining(); });
    connect(stop_, &QPushButton::clicked, this, [this] {
        controller_->stop();
        status_->setText(tr("Stopping after the current batch…"));
        updateEnabled();
    });
    connect(resume_, &QPushButton::clicked, this, [this] {
        // The run selected in Runs, else the run just stopped; a folder chooser only without either.
        QString dir = resumeTarget();
        if (dir.isEmpty())
            dir = QFileDialog::getExistingDirectory(this, tr("Resume which run?"), runsRoot_->text());
        if (!dir.isEmpty())
            resumeTraining(dir);
    });

    connect(controller_, &TrainingController::runningChanged, this, [this](bool) { updateEnabled(); });
    connect(controller_, &TrainingController::batchDone, this, &TrainingPanel::onBatch);
    connect(controller_, &TrainingController::evaluationProgress, this, [this](qint64 done, qint64 total) {
        status_->setText(tr("Evaluating: %1 / %2 images").arg(done).arg(total));
    });
    connect(controller_, &TrainingController::runStarted, this, [this](const RunStart& start) { runPhase_ = start.phase; });
    connect(controller_, &TrainingController::runFinished, this, [this](const RunSummary& s) {
        const QString runDir = fromPath(s.runDir);
        if (s.outcome == RunOutcome::stopped) {
            stoppedRun_ = runDir;
            status_->setText(tr("Stopped; its checkpoint is saved. <b>Resume</b> continues %1 exactly.")
                                 .arg(QFileInfo(runDir).fileName().toHtmlEscaped()));
            updateEnabled();
            return;
        }
        stoppedRun_.clear();
        progress_->setValue(progress_->maximum());
        status_->setText(QString::fromStdString(s.message).toHtmlEscaped());
        // A finished fp run is what LSQ starts from next.
        const QString best = QDir(runDir).filePath("checkpoints/best.ckpt");
        if (runPhase_ == "fp" && QFileInfo::exists(best)) {
            setFpCheckpoint(best);
            status_->setText(status_->text() + tr("<br>LSQ can start from it: its best checkpoint is under "
                                                  "'From fp checkpoint'."));
        }
        updateEnabled();
    });
    connect(controller_, &TrainingController::runFailed, this, [this](const RunSummary& s) {
        status_->setText(tr("<b>Failed:</b> %1").arg(QString::fromStdString(s.message).toHtmlEscaped()));
        showError(this, tr("Training failed"), QString::fromStdString(s.message));
    });

    setExperiment(defaultExperiment());
    updateEnabled();
}

void TrainingPanel::setFpCheckpoint(const QString& checkpoint)
{
    if (fpCheckpoint_->text() == checkpoint)
        return;
    fpCheckpoint_->setText(checkpoint);
    Q_EMIT experimentEdited();
}

QString TrainingPanel::resumeTarget() const
{
    const QString selected = selectedRun_ ? selectedRun_() : QString();
    if (!selected.isEmpty() && QFileInfo::exists(QDir(selected).filePath("checkpoints/last.ckpt")))
        return selected;
    return stoppedRun_;
}

QWidget* TrainingPanel::optionField(const QString& yamlKey) const
{
    return options_->field(yamlKey);
}

QSpinBox* TrainingPanel::epochsBox() const
{
    return qobject_cast<QSpinBox*>(options_->field("epochs"));
}

void TrainingPanel::setExperiment(const Experiment& e)
{
    const QSignalBlocker blockers[] = {QSignalBlocker(data_), QSignalBlocker(phase_), QSignalBlocker(fpCheckpoint_),
                                       QSignalBlocker(runsRoot_), QSignalBlocker(processes_)};
    base_ = e;
    data_->setText(fromPath(e.dataFile));
    phase_->setCurrentIndex(e.phase == "lsq" ? 1 : 0);
    fpCheckpoint_->setText(fromPath(e.fpCheckpoint));
    runsRoot_->setText(fromPath(e.runsRoot));
    processes_->setValue(e.processes);
    options_->setOptions(e.options);
    updateEnabled();
}

Experiment TrainingPanel::experiment() const
{
    Experiment e = base_;
    e.dataFile = toPath(data_->text());
    e.phase = phase_->currentData().toString().toStdString();
    e.fpCheckpoint = toPath(fpCheckpoint_->text());
    e.runsRoot = runsRoot_->text().trimmed().isEmpty() ? std::filesystem::path("exps") : toPath(runsRoot_->text());
    e.processes = processes_->value();
    e.options = options_->options(base_.options);
    return e;
}

QString TrainingPanel::newRunDir(const Experiment& e) const
{
    const QDir root(fromPath(e.runsRoot));
    const QString name = runName_->text().trimmed();
    if (!name.isEmpty())
        return root.filePath(name); // the user's choice: an existing run there is refused
    // A generated name never collides: two starts within one second (a failed run, then the
    // next) get -2, -3, ...
    const QString stem = QString::fromStdString(e.phase) + "-" + QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss");
    QString candidate = stem;
    for (int n = 2; QFileInfo::exists(root.filePath(candidate)); ++n)
        candidate = stem + "-" + QString::number(n);
    return root.filePath(candidate);
}

bool TrainingPanel::startTraining()
{
    const Experiment e = experiment();
    TrainingJob job;
    job.options = e.options;
    job.sources.dataFile = e.dataFile;
    job.sources.cfgFile = e.cfgFile;
    try {
        validateTrainOptions(job.options);
        if (e.dataFile.empty() || !std::filesystem::exists(e.dataFile))
            throw Error(tr("The dataset %1 does not exist. Generate the sample dataset (File menu) or choose a .data file.")
                            .arg(fromPath(e.dataFile))
                            .toStdString());
        job.runDir = toPath(newRunDir(e));
        if (std::filesystem::exists(job.runDir / "run.json"))
            throw Error(tr("%1 already holds a run: choose another run name, or resume it.")
                            .arg(fromPath(job.runDir))
                            .toStdString());
        if (e.phase == "lsq") {
            if (e.fpCheckpoint.empty() || !std::filesystem::exists(e.fpCheckpoint))
                throw Error(tr("LSQ training starts from a full-precision checkpoint: choose one under "
                               "'From fp checkpoint' (a finished fp run's checkpoints/best.ckpt).")
                                .toStdString());
            job.sources.initWeights = e.fpCheckpoint;
            // The bit-widths are the editor's current document, saved beside the run.
            const QuantConfig quant = quantProvider_ ? quantProvider_() : defaultQuantConfig();
            std::filesystem::create_directories(job.runDir);
            job.sources.quantFile = job.runDir / "quant-input.yaml";
            saveQuantConfig(quant, job.sources.quantFile);
        }
    } catch (const std::exception& ex) {
        status_->setText(tr("Cannot start: %1").arg(QString::fromUtf8(ex.what()).toHtmlEscaped()));
        showError(this, tr("Cannot start training"), QString::fromUtf8(ex.what()));
        return false;
    }
    QString whyNot;
    if (!controller_->start(job, &whyNot, e.processes)) {
        showError(this, tr("Cannot start training"), whyNot);
        return false;
    }
    progress_->setValue(0);
    status_->setText(tr("Starting %1…").arg(fromPath(job.runDir)));
    stoppedRun_.clear();
    Q_EMIT runStartedIn(fromPath(job.runDir), false);
    updateEnabled();
    return true;
}

bool TrainingPanel::resumeTraining(const QString& runDir)
{
    TrainingJob job;
    job.resume = true;
    job.runDir = toPath(runDir);
    try {
        const RunStatus status = readRunStatus(job.runDir);
        const int epochs = options_->options(base_.options).epochs;
        if (epochs > status.epochs)
            job.resumeEpochs = epochs;
    } catch (const std::exception& ex) {
        showError(this, tr("Cannot resume"), QString::fromUtf8(ex.what()));
        return false;
    }
    QString whyNot;
    if (!controller_->start(job, &whyNot, processes_->value())) {
        showError(this, tr("Cannot resume"), whyNot);
        return false;
    }
    status_->setText(tr("Resuming %1…").arg(runDir));
    stoppedRun_.clear();
    Q_EMIT runStartedIn(runDir, true);
    updateEnabled();
    return true;
}

void TrainingPanel::onBatch(const BatchReport& r)
{
    const double total = static_cast<double>(r.epochs * r.batchesPerEpoch);
    const double done = static_cast<double>(r.epoch * r.batchesPerEpoch + r.batchInEpoch + 1);
    progress_->setValue(total > 0 ? static_cast<int>(1000.0 * done / total) : 0);
    progress_->setFormat(tr("epoch %1/%2 · batch %3/%4 · %p%")
                             .arg(r.epoch + 1)
                             .arg(r.epochs)
                             .arg(r.batchInEpoch + 1)
                             .arg(r.batchesPerEpoch));
    if (!controller_->isStopping())
        status_->setText(tr("loss %1 · %2 img/s · ETA %3")
                             .arg(r.loss, 0, 'f', 4)
                             .arg(r.imagesPerSecond, 0, 'f', 1)
                             .arg(durationText(r.etaSeconds)));
}

void TrainingPanel::updateEnabled()
{
    const bool running = controller_->isRunning();
    start_->setEnabled(!running);
    resume_->setEnabled(!running);
    const QString target = running ? QString() : resumeTarget();
    resume_->setText(target.isEmpty() ? tr("Res&ume…") : tr("Res&ume"));
    resume_->setToolTip(target.isEmpty() ? tr("Continue a stopped run from its last checkpoint (choose its folder)")
                                         : tr("Continue %1 from its last checkpoint").arg(target));
    stop_->setEnabled(running && !controller_->isStopping());
    processes_->setEnabled(!running);
    fpCheckpoint_->parentWidget()->setEnabled(phase_->currentData().toString() == "lsq");
    options_->setLsqPhase(phase_->currentData().toString() == "lsq");
}

} // namespace tyq::ui
