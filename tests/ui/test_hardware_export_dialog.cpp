// "Export for hardware" driven for real on the offscreen platform: the size table of the
// reference 3-bit checkpoint, the export folder, the agreement check on a worker thread
// (identical codes and detections on synthetic validation images), cancelling it, a
// full-precision model refused, and the main window's menu action.
// Engine (LibTorch) headers first: Qt's `slots` macro breaks LibTorch's.
#include "data/synthetic_dataset.h"
#include "hw/integer_model.h"
#include "hw/integer_model_files.h"

#include "hardware_export_dialog.h"
#include "main_window.h"
#include "ui_test_support.h"

#include <QAction>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace tyq;
using namespace tyq::ui;
using namespace tyq::test;

namespace {

QString lsqCheckpoint() { return referenceFile("seed/lsq_ckpt_92.pth"); }
QString quantYaml() { return sourceFile("config/lsq-3bit.yaml"); }
QPushButton* button(QWidget* parent, const QString& text) { return buttonWithText(parent, text); }

} // namespace

class HardwareExportDialogTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (!QFileInfo::exists(lsqCheckpoint()))
            QSKIP("reference files not found (set TYQ_REFERENCE_DIR)");
        QVERIFY(data_.isValid());
        SyntheticDatasetOptions options;
        options.outDir = data_.filePath("data").toStdString();
        options.trainCount = 1;
        options.valCount = 3;
        options.seed = 4;
        generateSyntheticDataset(options);
    }

    void sizeTableAndExport()
    {
        QTemporaryDir out;
        HardwareExportDialog dialog;
        dialog.setModel(lsqCheckpoint(), quantYaml());
        dialog.setOutputDir(out.filePath("int"));
        dialog.show();
        QSignalSpy loaded(&dialog, &HardwareExportDialog::modelLoaded);
        dialog.loadModel();
        QVERIFY(dialog.isBusy());
        QVERIFY(waitFor(loaded));
        QCOMPARE(loaded.first().at(0).toBool(), true);
        QTableWidget* sizes = dialog.sizeTable();
        QCOMPARE(sizes->rowCount(), 12); // 10 convs, the weights total, the model total
        QCOMPARE(sizes->item(0, 0)->text(), QString("0"));
        QCOMPARE(sizes->item(0, 4)->text(), QString("162")); // 432 3-bit weights
        QCOMPARE(sizes->item(10, 3)->text(), QString("3999680"));
        QCOMPARE(sizes->item(10, 4)->text(), QString("374970"));
        QCOMPARE(sizes->item(10, 5)->text(), QString("10.67x"));

        QSignalSpy messages(&dialog, &HardwareExportDialog::message);
        QSignalSpy exported(&dialog, &HardwareExportDialog::exportFinished);
        QTRY_VERIFY(!dialog.isBusy());
        QTest::mouseClick(button(&dialog, "Export"), Qt::LeftButton);
        QVERIFY(waitFor(exported));
        QCOMPARE(exported.first().at(0).toBool(), true);
        QVERIFY(QFileInfo::exists(out.filePath("int/manifest.json")));
        QCOMPARE(QFileInfo(out.filePath("int/weights.packed")).size(), qint64(374970));
        QVERIFY(isIntegerModelDir(out.filePath("int").toStdString()));
        QVERIFY(messages.count() >= 1);
        QVERIFY(dialog.statusLabel()->text().contains("Wrote the integer model"));
    }

    void checkAgreesOnValidationImages()
    {
        HardwareExportDialog dialog;
        dialog.setModel(lsqCheckpoint(), quantYaml());
        dialog.setDataFile(data_.filePath("data/dac.data"));
        dialog.show();
        QSignalSpy finished(&dialog, &HardwareExportDialog::checkFinished);
        QPushButton* check = button(&dialog, "Check against fake-quant");
        QVERIFY(check && check->isEnabled());
        QTest::mouseClick(check, Qt::LeftButton);
        QVERIFY(dialog.isBusy());
        QVERIFY(!check->isEnabled());
        QVERIFY(button(&dialog, "Cancel")->isEnabled());
        QVERIFY(waitFor(finished));
        QCOMPARE(finished.first().at(0).toBool(), false); // not cancelled
        QCOMPARE(finished.first().at(1).toBool(), true);  // identical detections on every image
        QTRY_VERIFY(!dialog.isBusy());
        QCOMPARE(dialog.progressBar()->value(), 3);
        QTableWidget* agreement = dialog.agreementTable();
        QCOMPARE(agreement->rowCount(), 10);
        // Codes against the fake-quant float network: they differ only where a float value lies at
        // a rounding boundary, which depends on the CPU's float convolution (99.75 % for conv 22's
        // 9-bit codes on an AVX2-only Zen 3, >= 99.9 % elsewhere); a wrong requantization gives far less.
        for (int row = 0; row < agreement->rowCount(); ++row) {
            const double identical = agreement->item(row, 2)->text().section(' ', 0, 0).toDouble();
            QVERIFY2(identical >= 99.5, qPrintable(agreement->item(row, 0)->text() + ": " + agreement->item(row, 2)->text()));
        }
        QVERIFY2(dialog.summaryLabel()->text().contains("detections identical on 3"), qPrintable(dialog.summaryLabel()->text()));
        QVERIFY(dialog.summaryLabel()->text().contains("mAP"));
        QVERIFY(check->isEnabled());
    }

    void checkCanBeCancelled()
    {
        HardwareExportDialog dialog;
        dialog.setModel(lsqCheckpoint(), quantYaml());
        dialog.setDataFile(data_.filePath("data/dac.data"));
        QSignalSpy finished(&dialog, &HardwareExportDialog::checkFinished);
        dialog.startCheck();
        QVERIFY(dialog.isBusy());
        dialog.cancelJob();
        QVERIFY(waitFor(finished));
        QCOMPARE(finished.first().at(0).toBool(), true);
        QTRY_VERIFY(!dialog.isBusy());
        QVERIFY(dialog.summaryLabel()->text().contains("cancelled"));
    }

    void destroyingTheDialogStopsTheCheck()
    {
        auto* dialog = new HardwareExportDialog;
        dialog->setModel(lsqCheckpoint(), quantYaml());
        dialog->setDataFile(data_.filePath("data/dac.data"));
        dialog->startCheck();
        QVERIFY(dialog->isBusy());
        delete dialog; // cancels and waits for the job
    }

    void fullPrecisionModelIsRefused()
    {
        HardwareExportDialog dialog;
        dialog.setModel(referenceFile("seed/fp_ckpt_94.pth"));
        QSignalSpy loaded(&dialog, &HardwareExportDialog::modelLoaded);
        dialog.loadModel();
        QVERIFY(waitFor(loaded));
        QCOMPARE(loaded.first().at(0).toBool(), false);
        QVERIFY2(dialog.statusLabel()->text().contains("full-precision"), qPrintable(dialog.statusLabel()->text()));
        QCOMPARE(dialog.sizeTable()->rowCount(), 0);
    }

    void mainWindowMenuOpensTheDialog()
    {
        MainWindow window;
        QAction* action = nullptr;
        for (QAction* menu : window.menuBar()->actions())
            if (menu->menu())
                for (QAction* a : menu->menu()->actions())
                    if (a->text().startsWith("Export for &hardware"))
                        action = a;
        QVERIFY(action);
        action->trigger();
        auto* dialog = window.findChild<HardwareExportDialog*>();
        QVERIFY(dialog);
        QVERIFY(dialog->isVisible());
        dialog->close();
    }

private:
    QTemporaryDir data_;
};

QTEST_MAIN(HardwareExportDialogTest)
#include "test_hardware_export_dialog.moc"
