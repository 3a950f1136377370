// Launching and watching training: the experiment's phase, data and options in a form,
// Start / Stop / Resume, a progress bar with epoch, batch, speed and ETA. The run itself goes
// through TrainingController on its worker thread.
#pragma once

#include "core_types.h"
#include "quant/quant_config.h"
#include "train/experiment.h"

#include <QWidget>

#include <functional>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace tyq::ui {

class OptionsForm;

class TrainingController;

class TrainingPanel : public QWidget {
    Q_OBJECT
public:
    TrainingPanel(TrainingController* controller, QWidget* parent = nullptr);

    /// Fills the form from an experiment.
    void setExperiment(const Experiment& experiment);
    /// The experiment as the form shows it.
    Experiment experiment() const;
    /// Where the bit-widths for LSQ come from (the quantization editor's document).
    void setQuantProvider(std::function<QuantConfig()> provider) { quantProvider_ = std::move(provider); }
    /// The run selected in the runs browser (Resume continues it); empty when none.
    void setSelectedRunProvider(std::function<QString()> provider) { selectedRun_ = std::move(provider); }
    /// Fills "From fp checkpoint" (a finished fp run's, or a chosen run's best checkpoint).
    void setFpCheckpoint(const QString& checkpoint);
    /// What Resume continues without asking: the selected run, else the run just stopped; empty: it asks.
    QString resumeTarget() const;

    /// Starts a run with the form's settings; false (after showing why) if it cannot start.
    bool startTraining();
    /// Resumes the run in `runDir` (its recorded settings; the form's epochs if larger).
    bool resumeTraining(const QString& runDir);

    QPushButton* startButton() const { return start_; }
    QPushButton* stopButton() const { return stop_; }
    QPushButton* resumeButton() const { return resume_; }
    QProgressBar* progressBar() const { return progress_; }
    QLabel* statusLabel() const { return status_; }
    /// The form's editor of an option (by YAML key, e.g. "epochs"), for tests and the main window.
    QWidget* optionField(const QString& yamlKey) const;
    QSpinBox* epochsBox() const;
    QSpinBox* processesBox() const { return processes_; }

Q_SIGNALS:
    /// The user changed a setting of the experiment.
    void experimentEdited();
    /// A run started in this folder.
    void runStartedIn(const QString& runDir, bool resumed);

private:
    void updateEnabled();
    void onBatch(const tyq::BatchReport& r);
    QString newRunDir(const Experiment& e) const;

    TrainingController* controller_;
    std::function<QuantConfig()> quantProvider_;
    std::function<QString()> selectedRun_;
    QString stoppedRun_; ///< the run stopped last (Resume's default)
    std::string runPhase_; ///< "fp" or "lsq": the run in progress
    QLineEdit* data_;
    QComboBox* phase_;
    QLineEdit* fpCheckpoint_;
    QLineEdit* runName_;
    QLineEdit* runsRoot_;
    QSpinBox* processes_;
    OptionsForm* options_;
    QPushButton* start_;
    QPushButton* stop_;
    QPushButton* resume_;
    QProgressBar* progress_;
    QLabel* status_;
    Experiment base_; // fields the form does not show (cfg, quant path, other options)
};

} // namespace tyq::ui
