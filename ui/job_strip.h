// The strip under every workspace that shows the running training job: its phase, where it
// is (epoch, batch, or the evaluation), a progress bar, the ETA and Stop. It hides when idle.
#pragma once

#include "core_types.h"

#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;

namespace tyq::ui {

class TrainingController;

class JobStrip : public QWidget {
    Q_OBJECT
public:
    explicit JobStrip(TrainingController* controller, QWidget* parent = nullptr);

    QString text() const;
    QPushButton* stopButton() const { return stop_; }

private:
    void onBatch(const tyq::BatchReport& report);

    TrainingController* controller_;
    QString phase_;
    QLabel* label_;
    QProgressBar* progress_;
    QPushButton* stop_;
};

} // namespace tyq::ui
