// One model of the Detections panel (slot A or B): loaded in a background job, then run on one
// image at a time, the latest image asked for first. Each image's decoded rows are cached, so
// changing the conf/NMS thresholds re-runs only NMS, at once, on the GUI thread.
#pragma once

// Engine (LibTorch) headers come before any Qt header: Qt's `slots` macro breaks LibTorch's.
#include "common/error.h"
#include "infer/detector.h"
#include "model/model_loader.h"

#include <QObject>
#include <QString>
#include <QThreadPool>

#include <deque>
#include <map>
#include <memory>
#include <mutex>

namespace tyq::ui {

template <typename T>
class BackgroundJob;

/// A loaded model with its detectors; the mutex serializes their forwards (browsing and "Evaluate all").
struct SlotModel {
    LoadedModel loaded;
    std::unique_ptr<Detector> detector;        ///< the float network (fake-quantized when LSQ)
    std::unique_ptr<Detector> integerDetector; ///< a quantized model's integer form; null: none
    /// The integer form's kernels ("oneDNN int8 (AVX-512 with VNNI): 13 of 13 convs"), or why the
    /// model has none (full precision, or what exportIntegerModel refused).
    QString integerForm;
    std::mutex mutex;
    int numClasses = 0;
    int inputWidth = 0;
    int inputHeight = 0;
    QString description; ///< "best.ckpt (tyq checkpoint, LSQ 3-bit weights / 3-bit activations, 512x288)"

    /// The integer form when asked for and there is one, else the float network.
    Detector& detectorFor(bool integer) { return integer && integerDetector ? *integerDetector : *detector; }
};

/// One image through a model: its decoded rows and the original size.
struct DecodedImage {
    QString path;
    at::Tensor decoded; ///< [rows, 5+C], network-input pixels
    int width = 0;      ///< original image size
    int height = 0;
    double milliseconds = 0;
    bool integer = false; ///< computed by the integer engine (else the float network)
};

class ModelSlot : public QObject {
    Q_OBJECT
public:
    explicit ModelSlot(QObject* parent = nullptr);
    ~ModelSlot() override; ///< cancels and waits for its jobs

    /// Loads a model in the background, dropping its cache; `loaded` follows. If the load fails,
    /// the model loaded before comes back.
    void load(const QString& weights, const QString& quantYaml);
    bool isLoading() const { return loading_; }
    /// The loaded model, or null (none yet, loading, or the load failed).
    std::shared_ptr<SlotModel> model() const { return model_; }
    QString weights() const { return weights_; }
    QString quantYaml() const { return quantYaml_; }

    /// An image's cached rows, or null.
    const DecodedImage* cached(const QString& path) const;
    /// Runs the model on `path` unless its rows are cached; a newer request replaces an older
    /// one still waiting. `decoded` or `failed` follows.
    void request(const QString& path);
    /// An image is being run (until `decoded` or `failed`).
    bool isRunning() const;

    /// Whether a quantized model runs its integer form (when it has one) rather than the
    /// fake-quantized float network. Changing it drops the cached rows and the image in progress.
    void setIntegerEngine(bool on);
    bool integerEngineAsked() const { return integerAsked_; }
    /// The images run through the integer engine now: asked for, and the model has one.
    bool usesIntegerEngine() const;

Q_SIGNALS:
    /// The load finished: the model's description, or the failure for a person to read.
    void loaded(bool ok, const QString& message, tyq::ErrorKind kind);
    void decoded(const QString& path);
    void failed(const QString& path, const QString& error);

private:
    /// Keeps the rows, evicting the oldest beyond the limit but never the latest requested image.
    void cache(DecodedImage rows);

    std::shared_ptr<SlotModel> model_;
    struct Kept {
        std::shared_ptr<SlotModel> model;
        QString weights, quantYaml;
    } kept_; ///< during a load: the model before it
    bool loading_ = false;
    QString weights_, quantYaml_;
    bool integerAsked_ = true;
    QString requested_; ///< the latest image asked for
    QString running_;   ///< the image the inference job runs on; empty when idle
    std::map<QString, DecodedImage> cache_;
    std::deque<QString> cacheOrder_;
    QThreadPool pool_; ///< one thread: loading and inference, in order
    std::unique_ptr<BackgroundJob<std::shared_ptr<SlotModel>>> loadJob_;
    std::unique_ptr<BackgroundJob<DecodedImage>> inferJob_;
};

} // namespace tyq::ui
