// The studio's own preferences in QSettings, as typed settings with the default beside the key
// (Tiled's SessionOption). Writes are cached by QSettings and flushed on a short debounce.
#pragma once

#include <QSettings>
#include <QString>
#include <QStringList>
#include <QVariant>

namespace tyq::ui {

/// The QSettings the studio uses (organization "tyq", application "tyq-studio"). Tests point it
/// to a temporary folder with QSettings::setPath or QStandardPaths::setTestModeEnabled.
QSettings& studioSettings();

/// Schedules a flush of the settings to disk (coalesces bursts of changes).
void scheduleSettingsSync();

template <typename T>
class Setting {
public:
    Setting(const char* key, T defaultValue) : key_(key), default_(std::move(defaultValue)) {}

    T get() const
    {
        const QVariant v = studioSettings().value(key_);
        return v.isValid() && v.canConvert<T>() ? v.value<T>() : default_;
    }
    void set(const T& value) const
    {
        studioSettings().setValue(key_, QVariant::fromValue(value));
        scheduleSettingsSync();
    }
    const char* key() const { return key_; }

private:
    const char* key_;
    T default_;
};

namespace settings {
inline const Setting<QByteArray> windowGeometry{"window/geometry", {}};
inline const Setting<int> workspace{"window/workspace", 1}; ///< 0 Quantize, 1 Train, 2 Inspect
inline const Setting<QStringList> recentExperiments{"experiment/recent", {}};
inline const Setting<QString> lastExperiment{"experiment/last", {}};
inline const Setting<QString> lastDirectory{"files/lastDirectory", {}};
inline const Setting<double> plotSmoothing{"plots/smoothing", 0.0};
inline const Setting<bool> stepSizeLogScale{"plots/stepSizeLogScale", false};
inline const Setting<double> detectConf{"detections/conf", 0.5};
inline const Setting<double> detectNms{"detections/nms", 0.1};
/// Per model slot (A, B): a quantized model runs its integer form, not the fake-quant float net.
inline const Setting<bool> detectIntegerEngine[2] = {{"detections/integerEngineA", true},
                                                     {"detections/integerEngineB", true}};
inline const Setting<int> previewCalibImages{"preview/calibrationImages", 32};
inline const Setting<int> previewValImages{"preview/validationImages", 64};
inline const Setting<QString> previewCalibrator{"preview/calibrator", "mse"};
inline const Setting<bool> previewOnEdit{"preview/onEveryEdit", true};
inline const Setting<double> searchBudgetKb{"search/budgetKb", 400.0};
inline const Setting<QString> onnxExportFormat{"onnxExport/format", "onnx"};    ///< onnx or qonnx
inline const Setting<QString> onnxExportOutputs{"onnxExport/outputs", "decoded"}; ///< decoded, raw or both
} // namespace settings

/// Adds a file to the front of the recent-experiments list (at most 10).
void rememberRecentExperiment(const QString& path);

} // namespace tyq::ui
