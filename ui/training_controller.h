// Runs a Trainer on a worker thread owned by this object and re-emits its observer calls as
// Qt signals (queued to the GUI thread). One run at a time; the destructor stops and joins.
#pragma once

#include "core_types.h"
#include "train/trainer.h"

#include <QObject>
#include <QString>

#include <memory>

class QThread;

namespace tyq::ui {

class TrainingController : public QObject {
    Q_OBJECT
public:
    explicit TrainingController(QObject* parent = nullptr);
    ~TrainingController() override;

    /// Starts the job on the worker thread. Returns false with a reason if a run is going.
    /// With `processes` > 1 it is a data-parallel job on this machine: rank 0 trains here and
    /// reports the job's progress, ranks 1.. run as `tyq` processes beside tyq-studio (the
    /// cores shared out as threads when the options say "every core").
    bool start(const TrainingJob& job, QString* whyNot = nullptr, int processes = 1);
    /// Asks the run to stop after its current batch (it saves a resumable checkpoint).
    void stop();
    bool isRunning() const;
    bool isStopping() const;
    /// The folder of the current (or last) run.
    QString runDir() const { return runDir_; }
    /// Waits for the worker to end, processing no events (shutdown and tests only).
    bool waitForFinished(int msecs);

Q_SIGNALS:
    void runStarted(const tyq::RunStart& start);
    void batchDone(const tyq::BatchReport& report);
    void evaluationProgress(qint64 done, qint64 total);
    void evaluationDone(const tyq::EvalReport& report);
    void checkpointWritten(const QString& path, const QString& kind);
    void logMessage(tyq::LogLevel level, const QString& message);
    void runFinished(const tyq::RunSummary& summary);
    void runFailed(const tyq::RunSummary& summary);
    /// Emitted on the GUI thread when a run starts and after its thread has ended.
    void runningChanged(bool running);

private:
    class Forwarder;
    std::unique_ptr<Forwarder> forwarder_;
    std::unique_ptr<Trainer> trainer_;
    QThread* thread_ = nullptr;
    QString runDir_;
    bool stopping_ = false;
};

} // namespace tyq::ui
