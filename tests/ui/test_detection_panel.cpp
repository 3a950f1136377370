// The detection panel and the layer quantization view driven for real on the offscreen
// platform: boxes equal to the engine's own detections for a known model and image, sliders
// that re-run only NMS, keyboard navigation, "Evaluate all" in the background (the numbers of
// core's evaluateDataset, cancellable, the GUI keeps running), a quantized model on its integer
// engine with a persisted switch back to fake-quant float, and the per-layer LSQ statistics of
// the reference checkpoint.
// Engine (LibTorch) headers first: Qt's `slots` macro breaks LibTorch's.
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "data/synthetic_dataset.h"
#include "infer/dataset_evaluation.h"
#include "hw/integer_engine.h"
#include "hw/integer_model.h"
#include "infer/detector.h"
#include "io/checkpoint.h"
#include "io/state_dict.h"
#include "quant/quant_config.h"
#include "model/darknet_cfg.h"
#include "model/model_loader.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include "detection_panel.h"
#include "detection_view.h"
#include "layer_quant_view.h"
#include "main_window.h"
#include "studio_settings.h"
#include "workspace.h"
#include "runs_browser.h"
#include "ui_test_support.h"

#include <qcustomplot.h>

#include <QDockWidget>
#include <QElapsedTimer>
#include <QApplication>
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLineEdit>
#include <QMessageBox>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <cmath>
#include <filesystem>

using namespace tyq;
using namespace tyq::ui;
using namespace tyq::test;

namespace {

bool loadInto(DetectionPanel& panel, int slot, const QString& weights, const QString& yaml = {})
{
    QSignalSpy loaded(&panel, &DetectionPanel::modelLoaded);
    panel.setModel(slot, weights, yaml);
    if (!waitFor(loaded))
        return false;
    return loaded.last().at(0).toInt() == slot && loaded.last().at(1).toBool();
}

/// Lists a dataset split or a folder and waits for the listing (read in the background).
bool listInto(DetectionPanel& panel, const QString& source, bool folder = false)
{
    QSignalSpy listed(&panel, &DetectionPanel::imagesListed);
    if (folder)
        panel.setImageFolder(source);
    else
        panel.setDataset(source, "val");
    return waitFor(listed) && listed.last().at(0).toBool();
}

void compareDetections(const std::vector<Detection>& got, const std::vector<Detection>& expected)
{
    QCOMPARE(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
        QCOMPARE(got[i].classId, expected[i].classId);
        QVERIFY2(std::abs(got[i].x1 - expected[i].x1) < 1e-3 && std::abs(got[i].y1 - expected[i].y1) < 1e-3 &&
                     std::abs(got[i].x2 - expected[i].x2) < 1e-3 && std::abs(got[i].y2 - expected[i].y2) < 1e-3,
                 qPrintable(QString("box %1: (%2 %3 %4 %5) vs (%6 %7 %8 %9)")
                                .arg(i)
                                .arg(got[i].x1)
                                .arg(got[i].y1)
                                .arg(got[i].x2)
                                .arg(got[i].y2)
                                .arg(expected[i].x1)
                                .arg(expected[i].y1)
                                .arg(expected[i].x2)
                                .arg(expected[i].y2)));
        QVERIFY(std::abs(got[i].objectness - expected[i].objectness) < 1e-6);
    }
}

int predictionBoxes(const DetectionView* view)
{
    int n = 0;
    for (const OverlayBox& b : view->boxes())
        n += b.truth ? 0 : 1;
    return n;
}

} // namespace

class DetectionPanelTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    QString dataFile_;
    QString randomModel_;
    QString lsqModel_; ///< a tyq LSQ 3-bit checkpoint of a random network, steps calibrated

    /// The synthetic dataset's validation split, as the panel lists it.
    std::vector<Sample> validationSamples() const
    {
        const DataConfig data = loadDataConfig(dataFile_.toStdString());
        DatasetLoadOptions listing;
        listing.numClasses = data.classes;
        return loadDatasetList(data.validList, listing).samples;
    }

private Q_SLOTS:
    void initTestCase()
    {
        useTestSettings();
        QVERIFY(dir_.isValid());
        SyntheticDatasetOptions o;
        o.outDir = (dir_.path() + "/data").toStdString();
        o.trainCount = 2;
        o.valCount = 6;
        dataFile_ = QString::fromStdString(generateSyntheticDataset(o).dataFile.string());
        QVERIFY(QFile::exists(dataFile_));

        // A random-init full-precision network, saved as a plain state dict.
        torch::manual_seed(3);
        YoloNetwork net(defaultNetworkSpec());
        net->initializeLikeReference();
        randomModel_ = dir_.path() + "/random.pth";
        writeStateDictPth(collectStateDict(*net), randomModel_.toStdString());

        const QuantConfig bits = defaultQuantConfig();
        net->quantize(bits);
        net->eval();
        {
            torch::NoGradGuard noGrad;
            for (auto& c : net->convLayers())
                c.conv->calibrateActivationStep = true;
            net->forward((torch::rand({1, 3, 288, 512}) * 255).round());
        }
        TrainingCheckpoint lsq;
        lsq.model = collectStateDict(*net);
        lsq.phase = "lsq";
        lsq.cfgText = defaultNetworkSpec().text;
        lsq.quantYaml = quantConfigToYaml(bits);
        lsq.rngState = at::detail::getDefaultCPUGenerator().get_state();
        lsqModel_ = dir_.path() + "/lsq.ckpt";
        saveCheckpoint(lsq, lsqModel_.toStdString());
    }

    void theDetectionViewShowsTheExpectedBoxesForAKnownModelAndImage()
    {
        const QString weights = referenceFile("seed/fp_ckpt_94.pth");
        const QString image = referenceFile("golden/seed_outputs/fruits.jpg");
        if (!QFile::exists(weights) || !QFile::exists(image))
            QSKIP(qPrintable("reference files not found under " + referenceDir() +
                             " (set TYQ_REFERENCE_DIR to the folder holding seed/ and golden/)"));
        QTemporaryDir folder;
        QVERIFY(QFile::copy(image, folder.filePath("fruits.jpg")));

        DetectionPanel panel;
        panel.resize(1200, 800);
        panel.show();
        QVERIFY(loadInto(panel, 0, weights));
        QVERIFY(panel.isModelLoaded(0));
        QSignalSpy shown(&panel, &DetectionPanel::imageShown);
        panel.setThresholds(0.5, 0.1);
        QVERIFY(listInto(panel, folder.path(), true));
        QCOMPARE(panel.imageCount(), 1);
        QVERIFY(waitFor(shown));
        QCOMPARE(shown.last().at(0).toInt(), 0);

        // The engine's own answer, computed here.
        Detector detector(loadModel({"", "", weights.toStdString()}).network);
        struct Position {
            double conf, nms;
            size_t expectedCount;
        };
        // fp_ckpt_94 on fruits.jpg (a photo, not a drone image): nothing at 0.5, one person at
        // 0.05, nine boxes at a tiny threshold with NMS 0.5.
        for (const Position p : {Position{0.5, 0.1, 0}, Position{0.05, 0.1, 1}, Position{1e-7, 0.5, 9}}) {
            panel.setThresholds(p.conf, p.nms);
            DetectionOptions options;
            options.confThreshold = static_cast<float>(p.conf);
            options.nmsThreshold = static_cast<float>(p.nms);
            const ImageDetections expected = detector.run(folder.filePath("fruits.jpg").toStdString(), options);
            const std::vector<Detection> got = panel.detections(0);
            QCOMPARE(got.size(), p.expectedCount);
            compareDetections(got, expected.detections);
            // The view draws one box per detection (plus no ground truth in a folder).
            QCOMPARE(predictionBoxes(panel.view(0)), static_cast<int>(p.expectedCount));
            if (!got.empty())
                QVERIFY(panel.view(0)->boxes().front().label.startsWith("person "));
        }
        QCOMPARE(shown.count(), 1); // no new inference for the threshold changes
    }

    void aQuantizedReferenceModelAsksForItsBitWidths()
    {
        const QString weights = referenceFile("seed/lsq_ckpt_92.pth");
        if (!QFile::exists(weights))
            QSKIP(qPrintable("reference files not found under " + referenceDir()));
        DetectionPanel panel;
        QSignalSpy loaded(&panel, &DetectionPanel::modelLoaded);
        QSignalSpy messages(&panel, &DetectionPanel::message);
        panel.setModel(1, weights);
        QVERIFY(waitFor(loaded));
        QCOMPARE(loaded.last().at(1).toBool(), false);
        QVERIFY(loaded.last().at(2).toString().contains("bit-width YAML"));
        QVERIFY(!panel.isModelLoaded(1));
        QVERIFY(messages.count() >= 1);

        QVERIFY(loadInto(panel, 1, weights, sourceFile("config/lsq-3bit.yaml")));
        QVERIFY(panel.isModelLoaded(1));
    }

    void weightsWithANanAreRefusedNamingTheTensorAndTheLoadedModelStays()
    {
        DetectionPanel panel;
        QVERIFY(loadInto(panel, 0, randomModel_));
        StateDict state = readStateDict(randomModel_.toStdString());
        for (auto& [name, tensor] : state)
            if (name == "module_list.4.conv_4.weight")
                tensor.view({-1})[3].fill_(std::nanf(""));
        const QString nan = dir_.path() + "/nan.pth";
        writeStateDictPth(state, nan.toStdString());

        QSignalSpy loaded(&panel, &DetectionPanel::modelLoaded);
        panel.setModel(1, nan);
        QVERIFY(waitFor(loaded));
        QCOMPARE(loaded.last().at(1).toBool(), false);
        const QString error = loaded.last().at(2).toString();
        QVERIFY2(error.contains("module_list.4.conv_4.weight: 1 non-finite value"), qPrintable(error));
        QVERIFY(!panel.isModelLoaded(1));
        QVERIFY(panel.isModelLoaded(0)); // the other slot's model is untouched

        // Issue 12: a failed load into a slot that holds a model kept nothing. The model stays.
        loaded.clear();
        panel.setModel(0, nan);
        QVERIFY(waitFor(loaded));
        QCOMPARE(loaded.last().at(1).toBool(), false);
        QVERIFY(panel.isModelLoaded(0));
        QCOMPARE(panel.modelWeights(0), randomModel_);
    }

    // Issue 12: Enter in a model-path field ran the load twice and stacked two error dialogs.
    void enterInAModelFieldLoadsOnce()
    {
        StateDict state = readStateDict(randomModel_.toStdString());
        state.front().second.view({-1})[0].fill_(std::nanf(""));
        const QString nan = dir_.path() + "/nan-enter.pth";
        writeStateDictPth(state, nan.toStdString());
        DetectionPanel panel;
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        QLineEdit* field = nullptr;
        for (QLineEdit* edit : panel.findChildren<QLineEdit*>())
            if (edit->placeholderText().contains("fp run"))
                field = edit;
        QVERIFY(field);
        QSignalSpy loaded(&panel, &DetectionPanel::modelLoaded);
        field->setFocus();
        field->setText(nan);
        QTest::keyClick(field, Qt::Key_Return);
        QVERIFY(waitFor(loaded));
        QTest::qWait(300); // a second load would have begun by now
        QTRY_VERIFY(!panel.findChildren<QMessageBox*>("tyqErrorBox").isEmpty());
        QApplication::processEvents();
        field->clearFocus(); // leaving the field does not load it again either
        QTest::qWait(300);
        QCOMPARE(loaded.count(), 1);
        QCOMPARE(panel.findChildren<QMessageBox*>("tyqErrorBox").size(), 1);
    }

    // Issue 12: typing "0.1" into the Conf box gave 0.000 (the box reformatted while typed in).
    void typingAThresholdKeepsWhatWasTyped()
    {
        DetectionPanel panel;
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        panel.setThresholds(0.5, 0.5);
        const QList<QDoubleSpinBox*> boxes = panel.findChildren<QDoubleSpinBox*>();
        QCOMPARE(boxes.size(), 2); // conf, then NMS
        for (int i = 0; i < 2; ++i) {
            QDoubleSpinBox* box = boxes[i];
            box->setFocus();
            box->selectAll();
            QTest::keyClicks(box, "0.1");
            QTest::keyClick(box, Qt::Key_Return);
            QCOMPARE(i == 0 ? panel.confThreshold() : panel.nmsThreshold(), 0.1);
            QCOMPARE(box->value(), 0.1);
        }
    }

    // Issue 12: folder mode found no ground truth; it looks where the dataset rules do.
    void aFolderOfADatasetShowsItsGroundTruth()
    {
        DetectionPanel panel;
        panel.show();
        QSignalSpy shown(&panel, &DetectionPanel::imageShown);
        QVERIFY(listInto(panel, QFileInfo(dataFile_).absolutePath() + "/images/val", true));
        QCOMPARE(panel.imageCount(), 6);
        QVERIFY(!panel.imageList()->isColumnHidden(1)); // the Truth column
        QVERIFY(waitFor(shown));
        QTRY_VERIFY(!panel.view(0)->boxes().isEmpty());
        QVERIFY(panel.view(0)->boxes().front().truth);
    }

    void keyboardNavigationMovesThroughTheList()
    {
        DetectionPanel panel;
        panel.show();
        QSignalSpy shown(&panel, &DetectionPanel::imageShown);
        QVERIFY(listInto(panel, dataFile_));
        QCOMPARE(panel.imageCount(), 6);
        QCOMPARE(panel.currentRow(), 0);
        QVERIFY(waitFor(shown)); // the first image is read in the background
        QWidget* view = panel.view(0);
        QTest::keyClick(view, Qt::Key_Right);
        QCOMPARE(panel.currentRow(), 1);
        QCOMPARE(panel.imageList()->currentIndex().row(), 1); // the list follows
        QTest::keyClick(view, Qt::Key_PageDown);
        QCOMPARE(panel.currentRow(), 2);
        QTest::keyClick(view, Qt::Key_Left);
        QCOMPARE(panel.currentRow(), 1);
        QTest::keyClick(view, Qt::Key_End);
        QCOMPARE(panel.currentRow(), 5);
        QTest::keyClick(view, Qt::Key_Right); // stays on the last
        QCOMPARE(panel.currentRow(), 5);
        QTest::keyClick(view, Qt::Key_Home);
        QCOMPARE(panel.currentRow(), 0);
        QTest::keyClick(panel.imageList(), Qt::Key_Right); // from the list too
        QCOMPARE(panel.currentRow(), 1);
        QTest::keyClick(panel.imageList(), Qt::Key_Down); // the list's own keys move the image
        QCOMPARE(panel.currentRow(), 2);
        QCOMPARE(panel.imagePath(2), panel.imagePath(panel.currentRow()));
        auto* dv = panel.view(0);
        // Ground truth is drawn dashed for a dataset split, once the image is read.
        QTRY_VERIFY(!dv->boxes().isEmpty());
        QVERIFY(dv->boxes().front().truth);

        // Zoom keys and fit.
        const double fitted = dv->zoom();
        QTest::keyClick(dv, Qt::Key_Plus);
        QVERIFY(dv->zoom() > fitted);
        QCOMPARE(panel.view(1)->zoom(), dv->zoom()); // B follows A
        QTest::keyClick(dv, Qt::Key_F);
        QCOMPARE(dv->zoom(), fitted);

        // The class filter keeps the images whose truth has the class.
        panel.setClassFilter(-1);
        QCOMPARE(panel.imageCount(), 6);
    }

    void slidersUpdateTheBoxesWithoutRunningTheModelAgain()
    {
        DetectionPanel panel;
        panel.show();
        QVERIFY(loadInto(panel, 0, randomModel_));
        QSignalSpy shown(&panel, &DetectionPanel::imageShown);
        panel.setThresholds(0.5, 0.5);
        QVERIFY(listInto(panel, dataFile_));
        QVERIFY(waitFor(shown));
        const int shownBefore = shown.count();

        auto* conf = panel.findChild<QSlider*>("confSlider");
        QVERIFY(conf);
        conf->setValue(400);
        QCOMPARE(panel.confThreshold(), 0.4);
        const size_t low = panel.detections(0).size();
        QVERIFY(low > 0);
        QCOMPARE(predictionBoxes(panel.view(0)), static_cast<int>(low));
        conf->setValue(999);
        const size_t high = panel.detections(0).size();
        QVERIFY2(high < low, qPrintable(QString("%1 boxes at conf 0.4, %2 at 0.999").arg(low).arg(high)));
        qInfo("random model: %zu boxes at conf 0.4, %zu at 0.999", low, high);
        QCOMPARE(shown.count(), shownBefore); // synchronous, no inference

        // The same numbers as the engine for this image.
        Detector detector(loadModel({"", "", randomModel_.toStdString()}).network);
        DetectionOptions options;
        options.confThreshold = 0.4f;
        options.nmsThreshold = 0.5f;
        conf->setValue(400);
        compareDetections(panel.detections(0), detector.run(panel.imagePath(0).toStdString(), options).detections);

        // The values persist.
        DetectionPanel other;
        QCOMPARE(other.confThreshold(), 0.4);
        QCOMPARE(other.nmsThreshold(), 0.5);
    }

    void evaluateAllFillsTheIouColumnsWhileTheGuiRuns()
    {
        DetectionPanel panel;
        panel.show();
        panel.setThresholds(0.5, 0.5);
        QVERIFY(loadInto(panel, 0, randomModel_));
        QVERIFY(loadInto(panel, 1, randomModel_));
        QVERIFY(listInto(panel, dataFile_));

        int ticks = 0;
        QTimer timer;
        timer.setInterval(5);
        connect(&timer, &QTimer::timeout, [&ticks] { ++ticks; });
        timer.start();
        QSignalSpy finished(&panel, &DetectionPanel::evaluationFinished);
        QSignalSpy progress(&panel, &DetectionPanel::evaluationProgress);
        QSignalSpy messages(&panel, &DetectionPanel::message);
        panel.evaluateAll();
        QVERIFY(panel.isEvaluating());
        QVERIFY(waitFor(finished));
        QVERIFY(!panel.isEvaluating());
        QVERIFY2(ticks >= 3, qPrintable(QString("only %1 timer ticks during the evaluation").arg(ticks)));
        qInfo("evaluation of 6 images x 2 models: %d timer ticks (5 ms timer) on the GUI thread meanwhile", ticks);
        // Progress counts image runs over both models (Qt throttles the signals; the last always comes).
        QVERIFY(progress.count() >= 1);
        QCOMPARE(progress.last().at(0).toInt(), 12);
        QCOMPARE(progress.last().at(1).toInt(), 12);
        for (int row = 0; row < panel.imageCount(); ++row)
            for (int slot = 0; slot < 2; ++slot) {
                const double iou = panel.topIoU(row, slot);
                QVERIFY2(!std::isnan(iou) && iou >= 0 && iou <= 1, qPrintable(QString("row %1 slot %2").arg(row).arg(slot)));
            }
        // Both slots hold the same model: the same IoU.
        QCOMPARE(panel.topIoU(3, 0), panel.topIoU(3, 1));

        // The numbers are core's evaluateDataset's (what `tyq eval` prints) for these images and thresholds.
        const std::vector<Sample> samples = validationSamples();
        BatchLoaderOptions loading;
        loading.shuffle = false;
        BatchLoader loader(samples, loading);
        EvalOptions thresholds;
        thresholds.confThreshold = 0.5f;
        thresholds.nmsThreshold = 0.5f;
        std::map<std::string, float> expectedIoU;
        LoadedModel direct = loadModel({"", "", randomModel_.toStdString()});
        const EvaluationResult expected = evaluateDataset(*direct.network, loader, thresholds, {}, [&](ImageEvaluation&& e) {
            expectedIoU[samples[size_t(e.sampleIndex)].image.string()] = e.topIoU;
        });
        for (int row = 0; row < panel.imageCount(); ++row)
            QVERIFY(std::abs(panel.topIoU(row, 0) - expectedIoU.at(panel.imagePath(row).toStdString())) < 1e-6);
        QString summary;
        for (const QList<QVariant>& m : messages)
            if (m.at(1).toString().startsWith("Detections evaluated"))
                summary = m.at(1).toString();
        QVERIFY2(summary.contains(QString("A: mean top-box IoU %1, mAP@0.5 %2")
                                      .arg(expected.contestIoU, 0, 'f', 3)
                                      .arg(expected.mAP, 0, 'f', 3)),
                 qPrintable(summary));

        // Worst first.
        panel.sortWorstFirst();
        for (int row = 1; row < panel.imageCount(); ++row)
            QVERIFY(panel.topIoU(row - 1, 0) <= panel.topIoU(row, 0));
        QCOMPARE(panel.currentRow(), 0);

        // Cancel: stops within an image, leaving the rest unevaluated.
        finished.clear();
        progress.clear();
        panel.evaluateAll();
        QVERIFY(waitFor(progress));
        panel.cancelEvaluation();
        QVERIFY(waitFor(finished));
        int filled = 0;
        for (int row = 0; row < panel.imageCount(); ++row)
            filled += std::isnan(panel.topIoU(row, 1)) ? 0 : 1;
        QVERIFY2(filled < panel.imageCount(), qPrintable(QString("%1 rows evaluated after cancelling").arg(filled)));
    }

    void aQuantizedModelRunsItsIntegerFormWithAPersistedSwitchBackToFakeQuant()
    {
        // Slot A switched to fake-quant float, slot B on the integer engine (the default): the
        // same checkpoint in both, so the panel compares the two forms side by side.
        settings::detectIntegerEngine[0].set(false);
        settings::detectIntegerEngine[1].set(true);
        DetectionPanel panel;
        panel.resize(1280, 800);
        panel.show();
        auto* switchA = panel.findChild<QCheckBox*>("integerEngineA");
        auto* switchB = panel.findChild<QCheckBox*>("integerEngineB");
        QVERIFY(switchA && switchB);
        QVERIFY(!switchA->isChecked());
        QVERIFY(switchB->isChecked());
        panel.setThresholds(1e-7, 0.5); // many boxes: every score is compared
        QVERIFY(loadInto(panel, 0, lsqModel_));
        QVERIFY(loadInto(panel, 1, lsqModel_));
        QVERIFY(switchA->isEnabled() && switchB->isEnabled());
        QVERIFY2(switchB->toolTip().contains("oneDNN int8"), qPrintable(switchB->toolTip()));
        QSignalSpy shown(&panel, &DetectionPanel::imageShown);
        QVERIFY(listInto(panel, dataFile_));
        QVERIFY(waitFor(shown));
        QTRY_VERIFY_WITH_TIMEOUT(!panel.detections(0).empty() && !panel.detections(1).empty(), 60000);

        // Each slot shows exactly what its engine computes, and says which engine that is.
        LoadedModel direct = loadModel({"", "", lsqModel_.toStdString()});
        Detector fakeQuant(direct.network);
        Detector integer(direct.network, std::make_shared<const IntegerEngine>(exportIntegerModel(*direct.network)));
        DetectionOptions options;
        options.confThreshold = 1e-7f;
        options.nmsThreshold = 0.5f;
        const std::string image = panel.imagePath(panel.currentRow()).toStdString();
        const std::vector<Detection> expectedFloat = fakeQuant.run(image, options).detections;
        const std::vector<Detection> expectedInteger = integer.run(image, options).detections;
        auto same = [](const std::vector<Detection>& a, const std::vector<Detection>& b) {
            if (a.size() != b.size())
                return false;
            for (size_t i = 0; i < a.size(); ++i)
                if (a[i].classId != b[i].classId || a[i].objectness != b[i].objectness ||
                    a[i].classScore != b[i].classScore || a[i].x1 != b[i].x1 || a[i].y2 != b[i].y2)
                    return false;
            return true;
        };
        QVERIFY(same(panel.detections(0), expectedFloat));
        QVERIFY(same(panel.detections(1), expectedInteger));
        // Both forms sum the same codes exactly, so where their codes agree (as on this image) they
        // give the same bits: the notes say which engine ran.
        QVERIFY2(panel.view(0)->note().contains("fake-quant float"), qPrintable(panel.view(0)->note()));
        QVERIFY2(panel.view(1)->note().contains("integer engine"), qPrintable(panel.view(1)->note()));

        // "Evaluate all" measures each slot on its own engine: B's numbers are the integer engine's.
        QSignalSpy finished(&panel, &DetectionPanel::evaluationFinished);
        QSignalSpy messages(&panel, &DetectionPanel::message);
        panel.evaluateAll();
        QVERIFY(waitFor(finished));
        const std::vector<Sample> samples = validationSamples();
        BatchLoaderOptions loading;
        loading.shuffle = false;
        BatchLoader loader(samples, loading);
        EvalOptions thresholds;
        thresholds.confThreshold = 1e-7f;
        thresholds.nmsThreshold = 0.5f;
        const EvaluationResult expected =
            evaluateDataset([&](const at::Tensor& images) { return integer.detectBatch(images); },
                            direct.network->spec().numClasses(), loader, thresholds);
        QString summary;
        for (const QList<QVariant>& m : messages)
            if (m.at(1).toString().startsWith("Detections evaluated"))
                summary = m.at(1).toString();
        QVERIFY2(summary.contains("A (fake-quant float): mean top-box IoU"), qPrintable(summary));
        QVERIFY2(summary.contains(QString("B (integer engine): mean top-box IoU %1, mAP@0.5 %2")
                                      .arg(expected.contestIoU, 0, 'f', 3)
                                      .arg(expected.mAP, 0, 'f', 3)),
                 qPrintable(summary));

        // Switching A to the integer engine re-runs the image there, clears A's IoU column and
        // persists; a new panel starts with both switches as left.
        QVERIFY(!std::isnan(panel.topIoU(0, 0)));
        switchA->click();
        QVERIFY(std::isnan(panel.topIoU(0, 0)));
        QTRY_VERIFY_WITH_TIMEOUT(panel.view(0)->note().contains("integer engine"), 60000);
        QVERIFY(same(panel.detections(0), expectedInteger));
        QCOMPARE(settings::detectIntegerEngine[0].get(), true);
        switchB->click();
        QCOMPARE(settings::detectIntegerEngine[1].get(), false);
        DetectionPanel again;
        QVERIFY(again.findChild<QCheckBox*>("integerEngineA")->isChecked());
        QVERIFY(!again.findChild<QCheckBox*>("integerEngineB")->isChecked());

        // A full-precision model has no integer form: the switch is off-limits and says why.
        QVERIFY(loadInto(panel, 0, randomModel_));
        QVERIFY(!switchA->isEnabled());
        QVERIFY2(switchA->toolTip().contains("full precision"), qPrintable(switchA->toolTip()));
        QTRY_VERIFY_WITH_TIMEOUT(!panel.view(0)->note().contains("running"), 60000);
        QVERIFY(!panel.view(0)->note().contains("integer engine"));
        settings::detectIntegerEngine[0].set(true);
        settings::detectIntegerEngine[1].set(true);
    }

    void theLayerViewShowsTheLsqStatisticsOfAConv()
    {
        const QString weights = referenceFile("seed/lsq_ckpt_92.pth");
        if (!QFile::exists(weights))
            QSKIP(qPrintable("reference files not found under " + referenceDir() +
                             " (set TYQ_REFERENCE_DIR to the folder holding seed/)"));
        const QString yaml = sourceFile("config/lsq-3bit.yaml");
        LayerQuantView view;
        view.show();
        QSignalSpy loaded(&view, &LayerQuantView::modelLoaded);
        view.setModel(weights, yaml);
        QVERIFY(waitFor(loaded));
        QVERIFY2(loaded.last().at(0).toBool(), qPrintable(loaded.last().at(1).toString()));
        QVERIFY(view.layerNames().contains("module_list.8.conv_8"));
        QVERIFY(view.setLayer("module_list.8.conv_8"));
        QCOMPARE(view.currentLayer(), QString("module_list.8.conv_8"));
        QVERIFY(view.isQuantized());
        QCOMPARE(view.levelCount(), 7);
        QVERIFY(view.levelsUsed() >= 1 && view.levelsUsed() <= 7);
        QVERIFY(view.clippedShare() >= 0 && view.clippedShare() <= 1);

        // The same share computed directly from the checkpoint.
        const LoadedModel model = loadModel({"", yaml.toStdString(), weights.toStdString()});
        for (const auto& layer : model.network->convLayers())
            if (layer.moduleName == "module_list.8.conv_8") {
                torch::NoGradGuard noGrad;
                const at::Tensor ratio = layer.conv->weight / layer.conv->quanW->s;
                const double share = ((ratio < -3) | (ratio > 3)).to(at::kDouble).mean().item<double>();
                QVERIFY2(std::abs(view.clippedShare() - share) < 1e-12,
                         qPrintable(QString("%1 vs %2").arg(view.clippedShare()).arg(share)));
                const at::Tensor codes = layer.conv->quanW->codes(layer.conv->weight);
                const int used = static_cast<int>(std::get<0>(at::_unique(codes)).numel());
                QCOMPARE(view.levelsUsed(), used);
                qInfo("module_list.8.conv_8: clipped %.4f %%, %d of 7 levels used", 100 * share, used);
                QVERIFY(std::abs(view.stepSize() - layer.conv->quanW->s.item<double>()) < 1e-9);
            }
        QCOMPARE(view.plot()->plottableCount(), 1);
        QVERIFY(view.plot()->itemCount() >= 9); // 7 levels + 2 clip lines (+ shading, caption)

        // A full-precision model: histogram only.
        loaded.clear();
        view.setModel(referenceFile("seed/fp_ckpt_94.pth"));
        QVERIFY(waitFor(loaded));
        QVERIFY(loaded.last().at(0).toBool());
        QVERIFY(view.setLayer("module_list.8.conv_8"));
        QVERIFY(!view.isQuantized());
        QCOMPARE(view.levelCount(), 0);
        QCOMPARE(view.plot()->plottableCount(), 1);
    }

    /// Pictures for a person to look at (TYQ_UI_SCREENSHOTS=<folder>): the panel with the two
    /// reference models on fruits.jpg and on the synthetic split, and the layer view.
    void screenshotsForReview()
    {
        const QString out = qEnvironmentVariable("TYQ_UI_SCREENSHOTS");
        const QString fp = referenceFile("seed/fp_ckpt_94.pth"), lsq = referenceFile("seed/lsq_ckpt_92.pth");
        if (out.isEmpty() || !QFile::exists(fp) || !QFile::exists(lsq))
            QSKIP("set TYQ_UI_SCREENSHOTS to a folder (and have the reference files) to save screenshots");
        const QString yaml = sourceFile("config/lsq-3bit.yaml");
        QDir().mkpath(out);
        DetectionPanel panel;
        panel.resize(1400, 860);
        panel.show();
        QVERIFY(loadInto(panel, 0, fp));
        QVERIFY(loadInto(panel, 1, lsq, yaml));
        QTemporaryDir folder;
        QVERIFY(QFile::copy(referenceFile("golden/seed_outputs/fruits.jpg"), folder.filePath("fruits.jpg")));
        QSignalSpy shown(&panel, &DetectionPanel::imageShown);
        panel.setThresholds(0.05, 0.1);
        panel.setImageFolder(folder.path());
        QVERIFY(waitFor(shown));
        QVERIFY(panel.grab().save(out + "/detections-fruits.png"));

        shown.clear();
        panel.setThresholds(0.01, 0.1);
        panel.setDataset(dataFile_, "val");
        QVERIFY(waitFor(shown));
        QSignalSpy finished(&panel, &DetectionPanel::evaluationFinished);
        panel.evaluateAll();
        QVERIFY(waitFor(finished));
        shown.clear();
        panel.showImage(2);
        QVERIFY(waitFor(shown));
        panel.view(0)->zoomBy(1.6);
        QVERIFY(panel.grab().save(out + "/detections-dataset.png"));

        // The Inspect workspace at both review sizes: the reference 3-bit model in A on
        // fake-quant float and in B on its integer engine, with the layout checked.
        settings::detectIntegerEngine[0].set(false);
        for (const QSize size : {QSize(1280, 800), QSize(1920, 1080)}) {
            MainWindow window;
            window.resize(size);
            window.showWorkspace(2);
            window.show();
            DetectionPanel& inspect = *window.detectionPanel();
            QVERIFY(loadInto(inspect, 0, lsq, yaml));
            QVERIFY(loadInto(inspect, 1, lsq, yaml));
            QSignalSpy listed(&inspect, &DetectionPanel::imageShown);
            inspect.setThresholds(0.01, 0.1);
            inspect.setDataset(dataFile_, "val");
            QVERIFY(waitFor(listed));
            QTRY_VERIFY_WITH_TIMEOUT(!inspect.view(1)->note().contains("running"), 60000);
            const QStringList problems = window.layoutProblems();
            QVERIFY2(problems.isEmpty(), qPrintable(problems.join("; ")));
            QVERIFY(window.grab().save(out + QString("/inspect-integer-%1x%2.png").arg(size.width()).arg(size.height())));
        }
        settings::detectIntegerEngine[0].set(true);

        LayerQuantView view;
        view.resize(1000, 420);
        view.show();
        QSignalSpy loaded(&view, &LayerQuantView::modelLoaded);
        view.setModel(lsq, yaml);
        QVERIFY(waitFor(loaded));
        view.setLayer("module_list.8.conv_8");
        QTest::qWait(50);
        QVERIFY(view.grab().save(out + "/layer-quant.png"));
    }

    void theMainWindowHasTheDocksAndRoutesCheckpoints()
    {
        MainWindow window;
        // Inspect is the detection panel over the whole workspace; the layer view docks in Quantize.
        QCOMPARE(window.workspaces()[2]->centralWidget(), static_cast<QWidget*>(window.detectionPanel()));
        QVERIFY(window.workspaces()[0]->findChild<QDockWidget*>("layerQuantDock"));
        QVERIFY(window.detectionPanel());
        QVERIFY(window.layerQuantView());
        QSignalSpy loaded(window.detectionPanel(), &DetectionPanel::modelLoaded);
        Q_EMIT window.runsBrowser()->useCheckpoint(randomModel_, "fp");
        QCOMPARE(window.detectionPanel()->modelWeights(0), randomModel_);
        QVERIFY(waitFor(loaded));
        QCOMPARE(loaded.last().at(0).toInt(), 0);
        QVERIFY(loaded.last().at(1).toBool());
    }
};

QTEST_MAIN(DetectionPanelTest)
#include "test_detection_panel.moc"
