// "Export ONNX" driven for real on the offscreen platform: the reference 3-bit checkpoint written
// as QCDQ and as QONNX by clicking Export (the file read back by the ONNX library), a missing
// model reported in the dialog, the choices remembered, and the main window's Export menu.
// Engine (LibTorch) headers first: Qt's `slots` macro breaks LibTorch's.
#include <onnx/onnx_pb.h>

#include "main_window.h"
#include "onnx_export_dialog.h"
#include "ui_test_support.h"

#include <QAction>
#include <QComboBox>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace tyq;
using namespace tyq::ui;
using namespace tyq::test;

namespace {

QString lsqCheckpoint() { return referenceFile("seed/lsq_ckpt_92.pth"); }

// The op types of the ONNX file, read with the ONNX library.
QSet<QString> opsOf(const QString& path, QString* domain = nullptr)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    const QByteArray bytes = file.readAll();
    onnx::ModelProto model;
    if (!model.ParseFromArray(bytes.constData(), static_cast<int>(bytes.size())))
        return {};
    QSet<QString> ops;
    for (const onnx::NodeProto& n : model.graph().node()) {
        ops.insert(QString::fromStdString(n.op_type()));
        if (domain && !n.domain().empty())
            *domain = QString::fromStdString(n.domain());
    }
    return ops;
}

} // namespace

class OnnxExportDialogTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        useTestSettings();
        if (!QFileInfo::exists(lsqCheckpoint()))
            QSKIP("reference files not found (set TYQ_REFERENCE_DIR)");
    }

    void exportsQcdqThenQonnxByClickingExport()
    {
        QTemporaryDir out;
        OnnxExportDialog dialog;
        dialog.show();
        dialog.setModel(lsqCheckpoint(), sourceFile("config/lsq-3bit.yaml"));
        dialog.setFormat("onnx");
        dialog.setOutputFile(out.filePath("lsq.onnx"));
        QSignalSpy finished(&dialog, &OnnxExportDialog::exportFinished);
        QTest::mouseClick(buttonWithText(&dialog, "Export"), Qt::LeftButton);
        QVERIFY(dialog.isBusy() || finished.count() == 1);
        QVERIFY(waitFor(finished));
        QCOMPARE(finished.first().at(0).toBool(), true);
        QVERIFY2(dialog.statusLabel()->text().contains("opset 13, QCDQ, 19 quantizers"),
                 qPrintable(dialog.statusLabel()->text()));
        const QSet<QString> qcdq = opsOf(out.filePath("lsq.onnx"));
        QVERIFY(qcdq.contains("QuantizeLinear") && qcdq.contains("Clip") && qcdq.contains("DequantizeLinear"));

        dialog.setFormat("qonnx");
        dialog.setOutputFile(out.filePath("lsq.qonnx.onnx"));
        QTest::mouseClick(buttonWithText(&dialog, "Export"), Qt::LeftButton);
        QVERIFY(waitFor(finished, 2));
        QCOMPARE(finished.last().at(0).toBool(), true);
        QString domain;
        const QSet<QString> qonnx = opsOf(out.filePath("lsq.qonnx.onnx"), &domain);
        QVERIFY(qonnx.contains("Quant") && !qonnx.contains("QuantizeLinear"));
        QCOMPARE(domain, QString("qonnx.custom_op.general"));

        const QString shots = qEnvironmentVariable("TYQ_UI_SCREENSHOTS");
        if (!shots.isEmpty()) // for people to look at: how the dialog reads after an export
            QVERIFY(dialog.grab().save(shots + "/onnx-export.png"));

        // The choice is remembered for the next dialog.
        OnnxExportDialog next;
        QCOMPARE(next.formatBox()->currentData().toString(), QString("qonnx"));
    }

    void aMissingModelIsReportedInTheDialog()
    {
        QTemporaryDir out;
        OnnxExportDialog dialog;
        dialog.setModel(out.filePath("nowhere.ckpt"));
        dialog.setOutputFile(out.filePath("x.onnx"));
        QSignalSpy finished(&dialog, &OnnxExportDialog::exportFinished);
        dialog.exportModel();
        QVERIFY(waitFor(finished));
        QCOMPARE(finished.first().at(0).toBool(), false);
        QVERIFY2(dialog.statusLabel()->text().contains("nowhere.ckpt"), qPrintable(dialog.statusLabel()->text()));
        QVERIFY(!QFileInfo::exists(out.filePath("x.onnx")));
    }

    void exportMenuOpensTheDialog()
    {
        MainWindow window;
        QAction* action = nullptr;
        for (QAction* menu : window.menuBar()->actions())
            if (menu->menu() && menu->text() == "E&xport")
                for (QAction* a : menu->menu()->actions())
                    if (a->text().startsWith("&QONNX"))
                        action = a;
        QVERIFY(action);
        action->trigger();
        auto* dialog = window.findChild<OnnxExportDialog*>();
        QVERIFY(dialog);
        QVERIFY(dialog->isVisible());
        QCOMPARE(dialog->formatBox()->currentData().toString(), QString("qonnx"));
        dialog->close();
    }
};

QTEST_MAIN(OnnxExportDialogTest)
#include "test_onnx_export_dialog.moc"
