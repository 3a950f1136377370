// The Quantize workspace's advice driven as a user would: an edit re-runs the preview in the
// background (once for a burst of edits), the sensitivity heat map fills, the search loads a
// front point into the editor as one undoable edit, and the preview becomes a loadable model B.
#include "data/synthetic_dataset.h"
#include "io/state_dict.h"
#include "model/model_loader.h"
#include "model/network_summary.h"

#include "bitwidth_advisor.h"
#include "quant_editor.h"
#include "quant_table_model.h"
#include "studio_settings.h"
#include "ui_test_support.h"

#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>

using namespace tyq;
using namespace tyq::ui;

class BitWidthAdvisorTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    QString dataFile_, fpWeights_;

    QLabel* resultLabel(BitWidthAdvisor& advisor) { return advisor.findChild<QLabel*>("previewResult"); }

private Q_SLOTS:
    void initTestCase()
    {
        tyq::test::useTestSettings();
        settings::previewCalibImages.set(4);
        settings::previewValImages.set(4);
        QVERIFY(dir_.isValid());
        SyntheticDatasetOptions o;
        o.outDir = (dir_.path() + "/data").toStdString();
        o.trainCount = 6;
        o.valCount = 4;
        dataFile_ = QString::fromStdString(generateSyntheticDataset(o).dataFile.string());
        // An fp model as a state dict file (what the reference's .pth files are).
        torch::manual_seed(3);
        YoloNetwork fp(defaultNetworkSpec());
        fp->initializeLikeReference();
        fpWeights_ = dir_.filePath("fp.pth");
        writeStateDictPth(collectStateDict(*fp), fpWeights_.toStdString());
    }

    void anEditRerunsThePreviewOnceAfterABurst()
    {
        QuantEditor editor;
        editor.setNetwork(defaultNetworkSpec(), 128, 96);
        BitWidthAdvisor advisor(&editor);
        QSignalSpy finished(&advisor, &BitWidthAdvisor::previewFinished);
        advisor.setSources(fpWeights_, dataFile_);
        QVERIFY(tyq::test::waitFor(finished));
        QVERIFY2(finished.last().at(0).toBool(), qPrintable(finished.last().at(1).toString()));
        QVERIFY(advisor.previewMap().has_value());
        finished.clear();

        // Three edits in a burst: one preview, for the last bit-widths, beside the totals.
        auto* model = editor.model();
        const int row = static_cast<QuantTableModel*>(model)->rowOfModule("module_list.8.conv_8");
        for (int bits : {4, 5, 6})
            QVERIFY(model->setData(model->index(row, QuantTableModel::kWeightBits), bits, Qt::EditRole));
        QVERIFY(!advisor.previewMap().has_value()); // the shown result is for older bit-widths
        QVERIFY(tyq::test::waitFor(finished));
        QTest::qWait(2 * BitWidthAdvisor::kDebounceMs);
        QCOMPARE(finished.count(), 1);
        QVERIFY(resultLabel(advisor)->text().contains("mAP"));
        QVERIFY(resultLabel(advisor)->text().contains("4 val images"));

        // The preview as model B: a checkpoint of an LSQ model at those bit-widths.
        QSignalSpy ready(&advisor, &BitWidthAdvisor::previewModelReady);
        auto* asB = advisor.findChild<QPushButton*>("previewAsModelB");
        QVERIFY(asB && asB->isEnabled());
        QTest::mouseClick(asB, Qt::LeftButton);
        QCOMPARE(ready.count(), 1);
        ModelSource source;
        source.weights = ready.first().at(0).toString().toStdString();
        const LoadedModel b = loadModel(source);
        QVERIFY(b.network->quantized());
        QCOMPARE(b.network->quantConfig()->forModule("module_list.8.conv_8").weight.bit, 6);
    }

    void aMissingModelIsShownNotThrown()
    {
        QuantEditor editor;
        BitWidthAdvisor advisor(&editor);
        QSignalSpy finished(&advisor, &BitWidthAdvisor::previewFinished);
        advisor.setSources(dir_.filePath("nowhere.ckpt"), dataFile_);
        QVERIFY(tyq::test::waitFor(finished));
        QCOMPARE(finished.last().at(0).toBool(), false);
        QVERIFY2(resultLabel(advisor)->text().contains("nowhere.ckpt"), qPrintable(resultLabel(advisor)->text()));
    }

    void sensitivityFillsTheHeatMapAndAFrontPointLoadsUndoably()
    {
        QuantEditor editor;
        editor.setNetwork(defaultNetworkSpec(), 128, 96);
        BitWidthAdvisor advisor(&editor);
        advisor.setSources(fpWeights_, dataFile_);
        advisor.cancel(); // no automatic preview: this test measures
        auto* search = advisor.findChild<QPushButton*>("searchButton");
        QVERIFY(search && !search->isEnabled()); // needs the sensitivities

        QSignalSpy measured(&advisor, &BitWidthAdvisor::sensitivityFinished);
        QTest::mouseClick(advisor.findChild<QPushButton*>("measureSensitivity"), Qt::LeftButton);
        QVERIFY(tyq::test::waitFor(measured));
        QVERIFY2(measured.last().at(0).toBool(), qPrintable(measured.last().at(1).toString()));
        auto* heat = advisor.findChild<QTableWidget*>("sensitivityHeatMap");
        QCOMPARE(heat->rowCount(), 10);
        QCOMPARE(heat->columnCount(), 8);
        QVERIFY(heat->item(4, 1)->toolTip().contains("drop"));
        QVERIFY(heat->item(4, 1)->toolTip().contains("conv_8")); // row 4 is conv_8

        // Search loads the budget's best; every front point is one undoable edit.
        QVERIFY(search->isEnabled());
        const QuantConfig before = editor.config();
        const int undoBefore = editor.undoStack()->count();
        QTest::mouseClick(search, Qt::LeftButton);
        QVERIFY(advisor.frontSize() >= 2);
        advisor.applyFrontPoint(0); // the smallest model on the front
        const QuantConfig smallest = editor.config();
        QVERIFY(!(smallest == before));
        QVERIFY(editor.undoStack()->count() > undoBefore);
        const NetworkSummary small = summarizeNetwork(defaultNetworkSpec(), &smallest);
        advisor.applyFrontPoint(advisor.frontSize() - 1); // the largest
        const QuantConfig largest = editor.config();
        QVERIFY(summarizeNetwork(defaultNetworkSpec(), &largest).sizeBitsQuantized > small.sizeBitsQuantized);
        editor.undoStack()->undo();
        QVERIFY(editor.config() == smallest);

        // The front's points previewed: a measured mAP for each, drawn beside the predicted.
        QSignalSpy front(&advisor, &BitWidthAdvisor::frontMeasured);
        QTest::mouseClick(advisor.findChild<QPushButton*>("measureFront"), Qt::LeftButton);
        QVERIFY(tyq::test::waitFor(front));
        QVERIFY(front.last().at(0).toBool());
        const std::vector<double> maps = advisor.measuredFront();
        QCOMPARE(static_cast<int>(maps.size()), advisor.frontSize());
        for (double map : maps)
            QVERIFY(map >= 0 && map <= 1);
    }
};

QTEST_MAIN(BitWidthAdvisorTest)
#include "test_bitwidth_advisor.moc"
