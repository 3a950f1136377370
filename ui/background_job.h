// The studio's one way to run work off the GUI thread. QtConcurrent::run hands the work a
// QPromise (progress, cancellation, results, an exception); a QFutureWatcher owned by the job
// delivers them on the GUI thread. Starting a job replaces the one before: it is cancelled and
// nothing it reports arrives any more, so callers need no generation counters, QPointer guards
// or invokeMethod hops, and the work never touches a widget.
#pragma once

#include "common/error.h"

#include <QFutureWatcher>
#include <QObject>
#include <QPromise>
#include <QString>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace tyq::ui {

/// Why a job's work threw: the message for people, the kind for the UI's reaction.
struct JobFailure {
    QString message;
    ErrorKind kind = ErrorKind::generic;
};

/// A thrown exception as a JobFailure: tyq::Error keeps its kind; QtConcurrent's wrapper is opened.
JobFailure failureOf(std::exception_ptr error);

/// What a job tells the GUI thread; each handler is optional.
template <typename T>
struct JobHandlers {
    std::function<void(int done, int total)> progress; ///< throttled by Qt to about 25 a second
    std::function<void(const T& result)> result;       ///< each result the work adds, in order
    std::function<void()> finished;                    ///< the work returned without being cancelled
    std::function<void()> cancelled;                   ///< cancel() stopped it (not a replacing start())
    std::function<void(const JobFailure& failure)> failed;
};

/// One background job slot of a GUI object. `Work` is `void(QPromise<T>&)`: it adds results
/// with `addResult`, reports `setProgressRange`/`setProgressValue`, and returns early when
/// `isCanceled()`. It must capture values or shared state only, never the owner.
template <typename T>
class BackgroundJob {
    static_assert(!std::is_void_v<T>, "a job reports at least one value; use a struct or bool");

public:
    /// `pool`: where the work runs (a one-thread pool keeps a slot's jobs in order); null: Qt's global pool.
    explicit BackgroundJob(QObject* owner, QThreadPool* pool = nullptr) : owner_(owner), pool_(pool) {}
    BackgroundJob(const BackgroundJob&) = delete;
    BackgroundJob& operator=(const BackgroundJob&) = delete;
    /// Cancels the work and waits for it, so nothing outlives the owner.
    ~BackgroundJob() { stopAndWait(); }

    template <typename Work>
    void start(Work work, JobHandlers<T> handlers)
    {
        drop();
        auto* watcher = new QFutureWatcher<T>(owner_);
        watcher_ = watcher;
        auto shared = std::make_shared<JobHandlers<T>>(std::move(handlers));
        QObject::connect(watcher, &QFutureWatcherBase::progressValueChanged, watcher, [watcher, shared](int value) {
            if (shared->progress)
                shared->progress(value, watcher->progressMaximum());
        });
        QObject::connect(watcher, &QFutureWatcherBase::resultsReadyAt, watcher, [watcher, shared](int begin, int end) {
            if (shared->result)
                for (int i = begin; i < end; ++i)
                    shared->result(watcher->future().resultAt(i));
        });
        QObject::connect(watcher, &QFutureWatcherBase::finished, watcher, [this, watcher, shared] {
            if (watcher_ == watcher)
                watcher_ = nullptr;
            watcher->deleteLater();
            QFuture<T> future = watcher->future();
            try {
                future.waitForFinished(); // rethrows what the work threw
            } catch (...) {
                if (shared->failed)
                    shared->failed(failureOf(std::current_exception()));
                return;
            }
            if (future.isCanceled()) {
                if (shared->cancelled)
                    shared->cancelled();
            } else if (shared->finished) {
                shared->finished();
            }
        });
        QThreadPool* pool = pool_ ? pool_ : QThreadPool::globalInstance();
        future_ = QtConcurrent::run(pool, std::move(work));
        watcher->setFuture(future_);
    }

    /// Asks the work to stop; `cancelled` follows once it has returned.
    void cancel() { future_.cancel(); }
    /// True from start() until the finished/cancelled/failed handler has run.
    bool isRunning() const { return watcher_ != nullptr; }
    /// Blocks until the work has returned (tests, destructors); its handlers still arrive later.
    void waitForFinished()
    {
        try {
            future_.waitForFinished();
        } catch (...) {
        }
    }
    /// Cancels and forgets the current job: none of its handlers run.
    void drop()
    {
        future_.cancel();
        if (watcher_) {
            watcher_->disconnect();
            watcher_->deleteLater();
            watcher_ = nullptr;
        }
    }

private:
    void stopAndWait()
    {
        drop();
        waitForFinished();
    }

    QObject* owner_;
    QThreadPool* pool_;
    QFuture<T> future_;
    QFutureWatcher<T>* watcher_ = nullptr;
};

} // namespace tyq::ui
