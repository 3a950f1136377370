#include "training_controller.h"

#include "dist/collective.h"
#include "dist/local_ranks.h"
#include "train/train_options.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QThread>

#include <chrono>
#include <fstream>
#include <thread>
#include <unistd.h>

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

namespace {

// Ranks 1.. of a local data-parallel job, started from the training thread when the run begins
// and stopped (if still running) when it ends; rank 0 is the studio's own trainer.
struct LocalFollowers {
    std::string program;
    std::vector<std::string> globalArguments;
    std::vector<std::string> arguments;
    std::filesystem::path optionsFile; ///< new runs: the options the ranks read (removed afterwards)
    int processes = 2;
    std::unique_ptr<LocalRanks> ranks;

    std::shared_ptr<Collective> join()
    {
        const int port = freeLocalPort();
        ranks = std::make_unique<LocalRanks>(program, globalArguments, arguments, 1, processes, port);
        CollectiveOptions options;
        options.worldSize = processes;
        options.rank = 0;
        options.masterPort = port;
        return Collective::connect(options);
    }
    /// After rank 0's run: the others end by themselves (finished, stopped, or failing on the
    /// connection rank 0 just closed); any still running after 30 s are stopped.
    void finish()
    {
        for (int waited = 0; ranks && ranks->running() > 0 && waited < 30; ++waited)
            ranks->waitNext(std::chrono::seconds(1));
        ranks.reset();
        if (!optionsFile.empty()) {
            std::error_code ec;
            std::filesystem::remove(optionsFile, ec);
        }
    }
    ~LocalFollowers() { finish(); }
};

} // namespace

bool TrainingController::start(const TrainingJob& givenJob, QString* whyNot, int processes)
{
    TrainingJob job = givenJob;
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
    std::shared_ptr<LocalFollowers> followers;
    if (processes > 1) {
        const QString program = QDir(QCoreApplication::applicationDirPath()).filePath("tyq");
        if (!QFileInfo(program).isExecutable()) {
            if (whyNot)
                *whyNot = tr("A run on %1 processes starts the tyq command beside tyq-studio, and %2 is not there.")
                              .arg(processes)
                              .arg(program);
            return false;
        }
        followers = std::make_shared<LocalFollowers>();
        followers->program = program.toStdString();
        followers->processes = processes;
        const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        if (job.options.threads == 0 && !job.resume) // every core: share them out
            job.options.threads = std::max(1, cores / processes);
        followers->globalArguments = {"--threads", std::to_string(job.resume ? std::max(1, cores / processes)
                                                                             : job.options.threads)};
        if (job.resume) {
            followers->arguments = {"train", "--resume", job.runDir.string()};
        } else {
            followers->optionsFile = std::filesystem::temp_directory_path() /
                                     ("tyq-rank-options-" + std::to_string(::getpid()) + "-" +
                                      std::to_string(reinterpret_cast<uintptr_t>(followers.get())) + ".yaml");
            std::ofstream(followers->optionsFile) << trainOptionsToYaml(job.options);
            followers->arguments = {"train", "--options", followers->optionsFile.string(), "--data",
                                    job.sources.dataFile.string(), "--out", job.runDir.string()};
            if (!job.sources.cfgFile.empty())
                followers->arguments.insert(followers->arguments.end(), {"--cfg", job.sources.cfgFile.string()});
            if (!job.sources.quantFile.empty())
                followers->arguments.insert(followers->arguments.end(),
                                            {"--quant", job.sources.quantFile.string(), "--from",
                                             job.sources.initWeights.string()});
        }
        job.joinCollective = [followers] { return followers->join(); };
    }
    trainer_ = std::make_unique<Trainer>(job, forwarder_.get());
    runDir_ = QString::fromStdString(job.runDir.string());
    stopping_ = false;
    Trainer* trainer = trainer_.get();
    thread_ = QThread::create([trainer, followers]() mutable {
        trainer->run();
        if (followers)
            followers->finish(); // the other ranks end with rank 0 (or are stopped), before the thread does
    });
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
