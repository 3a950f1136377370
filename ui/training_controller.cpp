#include "training_controller.h"

#include <QThread>

#include <chrono>

namespace tyq::ui {

// The observer the Trainer calls on its thread; each call becomes a signal of the controller.
class TrainingController::Forwarder : public TrainingObserver {
public:
    explicit Forwarder(TrainingController* owner) : owner_(owner) {}

    void runStarted(const RunStart& s) override { Q_EMIT owner_->runStarted(s); }
    void batchDone(const BatchReport& r) override { Q_EMIT owner_->batchDone(r); }
    void evaluationProgress(int64_t done, int64_t total) override
    {
        // Progress of a fast evaluation arrives thousands of times a second: 10 per second is plenty.
        const auto now = std::chrono::steady_clock::now();
        if (done < total && now - lastProgress_ < std::chrono::milliseconds(100))
            return;
        lastProgress_ = now;
        Q_EMIT owner_->evaluationProgress(done, total);
    }
    void evaluationDone(const EvalReport& r) override { Q_EMIT owner_->evaluationDone(r); }
    void checkpointWritten(const std::filesystem::path& path, const std::string& kind) override
    {
        Q_EMIT owner_->checkpointWritten(QString::fromStdString(path.string()), QString::fromStdString(kind));
    }
    void log(LogLevel level, const std::string& message) override
    {
        Q_EMIT owner_->logMessage(level, QString::fromStdString(message));
    }
    void runFinished(const RunSummary& s) override { Q_EMIT owner_->runFinished(s); }
    void runFailed(const RunSummary& s) override { Q_EMIT owner_->runFailed(s); }

private:
    TrainingController* owner_;
    std::chrono::steady_clock::time_point lastProgress_;
};

TrainingController::TrainingController(QObject* parent) : QObject(parent), forwarder_(std::make_unique<Forwarder>(this))
{
    registerCoreTypes();
}

TrainingController::~TrainingController()
{
    if (thread_) {
        stop();
        thread_->wait();
    }
}

bool TrainingController::start(const TrainingJob& job, QString* whyNot)
{
    if (isRunning()) {
        if (whyNot)
            *whyNot = tr("A training run is already in progress (%1). Stop it first.").arg(runDir_);
        return false;
    }
    if (thread_) {
        thread_->wait();
        delete thread_;
        thread_ = nullptr;
    }
    trainer_ = std::make_unique<Trainer>(job, forwarder_.get());
    runDir_ = QString::fromStdString(job.runDir.string());
    stopping_ = false;
    Trainer* trainer = trainer_.get();
    thread_ = QThread::create([trainer] { trainer->run(); });
    thread_->setObjectName("tyq-training");
    connect(thread_, &QThread::finished, this, [this] {
        stopping_ = false;
        Q_EMIT runningChanged(false);
    });
    thread_->start();
    Q_EMIT runningChanged(true);
    return true;
}

void TrainingController::stop()
{
    if (trainer_ && isRunning()) {
        stopping_ = true;
        trainer_->requestStop();
    }
}

bool TrainingController::isRunning() const
{
    return thread_ && thread_->isRunning();
}

bool TrainingController::isStopping() const
{
    return stopping_ && isRunning();
}

bool TrainingController::waitForFinished(int msecs)
{
    return !thread_ || thread_->wait(QDeadlineTimer(msecs));
}

} // namespace tyq::ui
