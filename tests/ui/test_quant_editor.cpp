// The quantization editor driven for real: bit-widths typed into the table's spin box, flags
// toggled with Space, overrides reset with Delete and the Reset button, undo/redo by shortcut,
// and the YAML written to disk checked field by field; totals against summarizeNetwork; files
// that warn (unknown modules) or fail (broken YAML) shown in the UI.
#include "core_types.h"
#include "model/darknet_cfg.h"
#include "model/network_summary.h"
#include "quant/quant_config.h"
#include "frozen_column_table.h"
#include "quant_editor.h"
#include "quant_table_model.h"
#include "ui_test_support.h"

#include <QAction>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QSignalSpy>
#include <QPointer>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QScrollBar>
#include <QTest>
#include <QToolButton>
#include <QUndoStack>

#include <cmath>

using namespace tyq;
using tyq::ui::QuantEditor;
using Model = tyq::ui::QuantTableModel;

namespace {

/// The same quantizer for every layer (defaults, and each layer either lists as an except).
bool sameBits(const QuantConfig& a, const QuantConfig& b)
{
    if (!(a.defaults == b.defaults))
        return false;
    for (const QuantConfig* c : {&a, &b})
        for (const auto& [name, o] : c->excepts)
            if (!(a.forModule(name) == b.forModule(name)))
                return false;
    return true;
}

QString sourceDir()
{
    return QStringLiteral(TYQ_SOURCE_DIR);
}

/// The override a single edit of one field should create.
LayerQuantOverride bitOverride(bool weight, int bit)
{
    LayerQuantOverride o;
    (weight ? o.weight : o.act).bit = bit;
    return o;
}

void writeFile(const QString& path, const QByteArray& text)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(text);
}

const char* const kDefaultsYaml = R"(quan_default:
  act: {mode: lsq, bit: 3, per_channel: false, symmetric: false, all_positive: true}
  weight: {mode: lsq, bit: 3, per_channel: false, symmetric: true, all_positive: false}
)";

} // namespace

class QuantEditorTest : public QObject {
    Q_OBJECT

private:
    QuantEditor* editor_ = nullptr;
    QTemporaryDir dir_;

    Model* model() const { return static_cast<Model*>(editor_->model()); }
    QTableView* view() const { return editor_->view(); }
    QModelIndex cell(const QString& module, int column) const
    {
        const int row = module.isEmpty() ? Model::kDefaultsRow : model()->rowOfModule(module.toStdString());
        return model()->index(row, column);
    }
    QLabel* label(const char* name) const { return editor_->findChild<QLabel*>(name); }

    /// Selects the cell and opens its editor with F2: the bit spin box (null if none opened).
    QSpinBox* openBitEditor(const QModelIndex& index)
    {
        view()->setFocus();
        view()->setCurrentIndex(index);
        QTest::keyClick(view(), Qt::Key_F2);
        QSpinBox* box = nullptr;
        for (QSpinBox* b : view()->viewport()->findChildren<QSpinBox*>())
            if (b->isVisible())
                box = b;
        return box;
    }

    /// Selects the cell, opens its editor with F2, types, and commits with Return.
    void typeIntoCell(const QModelIndex& index, const QString& text)
    {
        QSpinBox* box = openBitEditor(index);
        QVERIFY2(box, "F2 opened no spin box");
        QTest::keyClicks(box, text);
        QTest::keyClick(box, Qt::Key_Return);
        // Committed (queued) and closed; the view may already have deleted it (found by TSan as a
        // use after free when the box was held by a plain pointer).
        const QPointer<QSpinBox> guard(box);
        QTRY_VERIFY(!guard || !guard->isVisible());
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    }
    void pressOnCell(const QModelIndex& index, Qt::Key key, Qt::KeyboardModifiers modifiers = Qt::NoModifier)
    {
        view()->setFocus();
        view()->setCurrentIndex(index);
        QTest::keyClick(view(), key, modifiers);
    }
    QuantConfig savedAndReloaded()
    {
        const QString path = dir_.filePath("saved.yaml");
        if (!editor_->saveAs(path))
            return {};
        return loadQuantConfig(path.toStdString());
    }

private Q_SLOTS:
    void initTestCase()
    {
        tyq::test::useTestSettings();
        tyq::ui::registerCoreTypes();
        QVERIFY(dir_.isValid());
    }

    void init()
    {
        editor_ = new QuantEditor;
        editor_->resize(1500, 700);
        editor_->show();
        QVERIFY(QTest::qWaitForWindowActive(editor_));
    }

    void cleanup()
    {
        delete editor_;
        editor_ = nullptr;
    }

    // Issue 12: in a narrow window the layer names scrolled away with the bit columns; the
    // index and name columns now stay at the left edge.
    void theLayerColumnStaysWhenTheTableScrolls()
    {
        editor_->resize(520, 500);
        QApplication::processEvents();
        auto* table = qobject_cast<tyq::ui::FrozenColumnTable*>(editor_->view());
        QVERIFY(table);
        QScrollBar* horizontal = table->horizontalScrollBar();
        QVERIFY2(horizontal->maximum() > 0, "the table should need scrolling at this width");
        horizontal->setValue(horizontal->maximum());
        QApplication::processEvents();
        QTableView* frozen = table->frozenView();
        QVERIFY(frozen->isVisible());
        const QModelIndex name = model()->index(1, tyq::ui::QuantTableModel::kModule);
        QVERIFY(frozen->visualRect(name).isValid());
        QVERIFY(frozen->visualRect(name).right() < table->viewport()->width() / 2);
        QCOMPARE(frozen->model()->data(name).toString(), QString("module_list.0.conv_0"));
        QVERIFY(table->visualRect(name).right() < 0); // the main view's own copy scrolled away
        QVERIFY(frozen->isColumnHidden(tyq::ui::QuantTableModel::kModule + 1));
    }

    void startsOnTheBuiltInDefaults()
    {
        QVERIFY(editor_->filePath().isEmpty());
        QVERIFY(editor_->config() == defaultQuantConfig());
        QVERIFY(!editor_->isModified());
        QVERIFY(editor_->maybeSave()); // nothing to ask
        QCOMPARE(model()->rowCount(), int(defaultNetworkSpec().convIndices().size()) + 1);
        QVERIFY(model()->index(0, Model::kModule).data().toString().startsWith("defaults"));
        QCOMPARE(cell("module_list.4.conv_4", Model::kMacs).data().toString(),
                 QString("%L1").arg(qlonglong(summarizeNetwork(defaultNetworkSpec()).layers[4].macs)));
        QVERIFY(label("quantFileLabel")->text().contains("built-in"));
    }

    void typedBitsBecomeASingleFieldOverride_data()
    {
        QTest::addColumn<QString>("module");
        QTest::addColumn<int>("column");
        QTest::addColumn<QString>("typed");
        QTest::addColumn<int>("bit");
        QTest::addColumn<QString>("shown");
        QTest::newRow("weights of layer 4 to 5") << "module_list.4.conv_4" << int(Model::kWeightBits) << "5" << 5 << "5";
        QTest::newRow("activations of layer 8 to 8") << "module_list.8.conv_8" << int(Model::kActBits) << "8" << 8 << "8";
        QTest::newRow("two digits: activations of 18 to 12")
            << "module_list.18.conv_18" << int(Model::kActBits) << "12" << 12 << "12";
        QTest::newRow("weights of layer 13 off") << "module_list.13.conv_13" << int(Model::kWeightBits) << "0" << 0 << "off";
    }
    void typedBitsBecomeASingleFieldOverride()
    {
        QFETCH(QString, module);
        QFETCH(int, column);
        QFETCH(QString, typed);
        QFETCH(int, bit);
        QFETCH(QString, shown);
        const QModelIndex index = cell(module, column);
        QVERIFY(!index.data(Model::OverriddenRole).toBool());

        typeIntoCell(index, typed);
        QCOMPARE(index.data().toString(), shown);
        QVERIFY(index.data(Model::OverriddenRole).toBool());
        QVERIFY(index.data(Qt::FontRole).value<QFont>().bold());
        // The other cells of the layer still follow the defaults.
        QVERIFY(!cell(module, column == Model::kWeightBits ? Model::kActBits : Model::kWeightBits)
                     .data(Model::OverriddenRole)
                     .toBool());

        // In the editor: exactly that field is overridden.
        QuantConfig expected = defaultQuantConfig();
        expected.setOverride(module.toStdString(), bitOverride(column == Model::kWeightBits, bit));
        QVERIFY(editor_->config() == expected);
        // On disk the layer is written whole (the reference reads an except without quan_default):
        // the same bits everywhere, and the layer's blocks complete.
        const QuantConfig saved = savedAndReloaded();
        QVERIFY(sameBits(saved, expected));
        const LayerQuantOverride* written = saved.overrideFor(module.toStdString());
        QVERIFY(written && written->act.mode && written->act.bit && written->weight.mode && written->weight.bit);
    }

    // Issue 12: keys that cannot make a bit-width were dropped without a word.
    void invalidBitEntriesSayWhy_data()
    {
        QTest::addColumn<QString>("typed");
        QTest::addColumn<QString>("refused");   // the text the hint quotes
        QTest::addColumn<QString>("committed"); // what the cell holds after Enter
        QTest::newRow("99: past 16") << "99" << "99" << "9";
        QTest::newRow("-1: negative") << "-1" << "-" << "1";
        QTest::newRow("abc: not a number") << "abc" << "c" << "3";
    }
    void invalidBitEntriesSayWhy()
    {
        QFETCH(QString, typed);
        QFETCH(QString, refused);
        QFETCH(QString, committed);
        const QModelIndex actBits = cell("module_list.6.conv_6", Model::kActBits);
        QSpinBox* box = openBitEditor(actBits);
        QVERIFY(box);
        QTest::keyClicks(box, typed);
        // Said while typing, beside the table, not only in a tooltip.
        QVERIFY(!label("quantHint")->isHidden());
        QVERIFY2(label("quantHint")->text().contains("0 (off) to 16"), qPrintable(label("quantHint")->text()));
        QVERIFY2(label("quantHint")->text().contains(QString("\u201c%1\u201d").arg(refused)), qPrintable(label("quantHint")->text()));
        QTest::keyClick(box, Qt::Key_Return);
        QTRY_COMPARE(actBits.data().toString(), committed);
    }

    void typingOneBitIsRefusedForASymmetricRange()
    {
        const QModelIndex weightBits = cell("module_list.4.conv_4", Model::kWeightBits); // weights are symmetric
        typeIntoCell(weightBits, "1");
        QCOMPARE(weightBits.data().toString(), QString("3"));
        QVERIFY(editor_->config() == defaultQuantConfig());
        QVERIFY(!model()->setData(weightBits, 1, Qt::EditRole));
        QVERIFY(!label("quantHint")->isHidden());
        QVERIFY(!editor_->isModified());
        // Activations are not symmetric: 1 bit is fine there.
        typeIntoCell(cell("module_list.4.conv_4", Model::kActBits), "1");
        QCOMPARE(cell("module_list.4.conv_4", Model::kActBits).data().toString(), QString("1"));
    }

    void defaultsRowIsFollowedByLayersWithoutOverrides()
    {
        typeIntoCell(cell({}, Model::kWeightBits), "4");
        QCOMPARE(editor_->config().defaults.weight.bit, 4);
        for (int row = 1; row < model()->rowCount(); ++row) {
            const std::string module = model()->moduleAt(row);
            const QuantConfig c = editor_->config();
            const bool pinned = c.overrideFor(module) && c.overrideFor(module)->weight.bit;
            QCOMPARE(model()->index(row, Model::kWeightBits).data().toString(), pinned ? QString("3") : QString("4"));
        }
        // The reference file pins layers 0 and 22's weights at 3 bits explicitly.
        QCOMPARE(cell("module_list.0.conv_0", Model::kWeightBits).data().toString(), QString("3"));
        QuantConfig expected = defaultQuantConfig();
        expected.defaults.weight.bit = 4;
        QVERIFY(savedAndReloaded() == expected);
    }

    void spaceTogglesOnlyValidFlags_data()
    {
        QTest::addColumn<int>("column");
        QTest::addColumn<bool>("changes");
        QTest::addColumn<bool>("checkedAfter");
        QTest::newRow("weight per-channel on") << int(Model::kWeightPerChannel) << true << true;
        QTest::newRow("activation all-positive off") << int(Model::kActAllPositive) << true << false;
        QTest::newRow("weight symmetric off") << int(Model::kWeightSymmetric) << true << false;
        QTest::newRow("activation symmetric refused: all-positive is on") << int(Model::kActSymmetric) << false << false;
        QTest::newRow("weight all-positive refused: symmetric is on") << int(Model::kWeightAllPositive) << false << false;
    }
    void spaceTogglesOnlyValidFlags()
    {
        QFETCH(int, column);
        QFETCH(bool, changes);
        QFETCH(bool, checkedAfter);
        const QString module = "module_list.6.conv_6";
        const QModelIndex index = cell(module, column);
        QCOMPARE(bool(index.flags() & Qt::ItemIsUserCheckable), changes);

        pressOnCell(index, Qt::Key_Space);
        QCOMPARE(index.data(Qt::CheckStateRole).toInt() == Qt::Checked, checkedAfter);
        QCOMPARE(editor_->isModified(), changes);
        QCOMPARE(index.data(Model::OverriddenRole).toBool(), changes);
        if (!changes) {
            QVERIFY(editor_->config() == defaultQuantConfig());
            QVERIFY(!label("quantHint")->isHidden()); // says why
            QVERIFY(label("quantHint")->text().contains("exclude"));
            return;
        }
        // Exactly that flag is in the layer's override on disk.
        const auto field = *Model::quantFieldOf(column);
        LayerQuantOverride o;
        QuantizerOverride& q = field.weight ? o.weight : o.act;
        if (column == Model::kWeightPerChannel)
            q.perChannel = checkedAfter;
        else if (column == Model::kActAllPositive)
            q.allPositive = checkedAfter;
        else
            q.symmetric = checkedAfter;
        QVERIFY(*editor_->config().overrideFor(module.toStdString()) == o);
        QVERIFY(sameBits(savedAndReloaded(), editor_->config()));
    }

    void symmetricAndAllPositiveCannotBothBeSet_data()
    {
        QTest::addColumn<QString>("module"); // empty = the defaults row
        QTest::newRow("defaults") << QString();
        QTest::newRow("layer 10") << QString("module_list.10.conv_10");
    }
    void symmetricAndAllPositiveCannotBothBeSet()
    {
        QFETCH(QString, module);
        const QModelIndex symmetric = cell(module, Model::kActSymmetric);
        const QModelIndex allPositive = cell(module, Model::kActAllPositive);
        // Refused while all-positive is on, through the model too.
        QVERIFY(!model()->setData(symmetric, Qt::Checked, Qt::CheckStateRole));
        QVERIFY(!editor_->isModified());
        // Uncheck all-positive, then symmetric may be checked, and all-positive is locked.
        pressOnCell(allPositive, Qt::Key_Space);
        pressOnCell(symmetric, Qt::Key_Space);
        QCOMPARE(symmetric.data(Qt::CheckStateRole).toInt(), int(Qt::Checked));
        QVERIFY(!(allPositive.flags() & Qt::ItemIsUserCheckable));
        QVERIFY(!model()->setData(allPositive, Qt::Checked, Qt::CheckStateRole));
        pressOnCell(allPositive, Qt::Key_Space);
        QCOMPARE(allPositive.data(Qt::CheckStateRole).toInt(), int(Qt::Unchecked));
        // Every resolved quantizer stays valid.
        const QuantConfig c = editor_->config();
        for (const std::string& name : model()->convModuleNames()) {
            const LayerQuantSpec spec = c.forModule(name);
            QVERIFY(!(spec.act.symmetric && spec.act.allPositive));
            QVERIFY(!(spec.weight.symmetric && spec.weight.allPositive));
        }
        // A defaults change that would make an overriding layer invalid is refused as well.
        if (module.isEmpty()) {
            pressOnCell(cell("module_list.4.conv_4", Model::kWeightSymmetric), Qt::Key_Space); // layer 4: not symmetric
            pressOnCell(cell("module_list.4.conv_4", Model::kWeightAllPositive), Qt::Key_Space); // ... all-positive
            QCOMPARE(cell("module_list.4.conv_4", Model::kWeightAllPositive).data(Qt::CheckStateRole).toInt(),
                     int(Qt::Checked));
            pressOnCell(cell({}, Model::kWeightSymmetric), Qt::Key_Space); // defaults: symmetric off
            pressOnCell(cell({}, Model::kWeightAllPositive), Qt::Key_Space); // defaults: all-positive on
            const QuantConfig before = editor_->config();
            QVERIFY(before.defaults.weight.allPositive);
            pressOnCell(cell({}, Model::kWeightAllPositive), Qt::Key_Space); // off again: fine
            QVERIFY(!editor_->config().defaults.weight.allPositive);
            // Layer 4 overrides symmetric=false and all_positive=true: a symmetric default is
            // fine for it, but not resetting its symmetric override.
            pressOnCell(cell({}, Model::kWeightSymmetric), Qt::Key_Space);
            QVERIFY(editor_->config().defaults.weight.symmetric);
            const QuantConfig kept = editor_->config();
            QVERIFY(!model()->resetCells({cell("module_list.4.conv_4", Model::kWeightSymmetric)}));
            QVERIFY(editor_->config() == kept);
            QVERIFY(label("quantHint")->text().contains("cannot both be true"));
        }
    }

    void resetRemovesTheOverride_data()
    {
        QTest::addColumn<QString>("trigger");
        QTest::newRow("Delete key") << "delete";
        QTest::newRow("Reset button") << "button";
        QTest::newRow("model reset (context menu's action)") << "model";
    }
    void resetRemovesTheOverride()
    {
        QFETCH(QString, trigger);
        const QModelIndex index = cell("module_list.10.conv_10", Model::kWeightBits);
        typeIntoCell(index, "6");
        pressOnCell(cell("module_list.10.conv_10", Model::kWeightPerChannel), Qt::Key_Space);
        QVERIFY(editor_->config().overrideFor("module_list.10.conv_10"));

        view()->setCurrentIndex(index); // selects just the bits cell
        if (trigger == "delete")
            pressOnCell(index, Qt::Key_Delete);
        else if (trigger == "button")
            QTest::mouseClick(editor_->findChild<QToolButton*>("quantResetButton"), Qt::LeftButton);
        else
            QVERIFY(model()->resetCells({index}));

        QCOMPARE(index.data().toString(), QString("3"));
        QVERIFY(!index.data(Model::OverriddenRole).toBool());
        LayerQuantOverride left;
        left.weight.perChannel = true; // the other edited field stays overridden
        QVERIFY(*editor_->config().overrideFor("module_list.10.conv_10") == left);

        // Resetting the last overridden field removes the layer from excepts.
        pressOnCell(cell("module_list.10.conv_10", Model::kWeightPerChannel), Qt::Key_Delete);
        QVERIFY(!editor_->config().overrideFor("module_list.10.conv_10"));
        QVERIFY(editor_->config() == defaultQuantConfig());
        QVERIFY(savedAndReloaded() == defaultQuantConfig());
    }

    void deleteOnALayerNameResetsTheWholeLayer()
    {
        QVERIFY(editor_->config().overrideFor("module_list.22.conv_22"));
        pressOnCell(cell("module_list.22.conv_22", Model::kModule), Qt::Key_Delete);
        QVERIFY(!editor_->config().overrideFor("module_list.22.conv_22"));
        QCOMPARE(cell("module_list.22.conv_22", Model::kActBits).data().toString(), QString("3"));
        // One undo step brings the whole override back.
        editor_->undoAction()->trigger();
        QVERIFY(editor_->config() == defaultQuantConfig());
        // On a cell that follows the defaults, Delete changes nothing and says so.
        pressOnCell(cell("module_list.4.conv_4", Model::kActBits), Qt::Key_Delete);
        QVERIFY(editor_->config() == defaultQuantConfig());
        QVERIFY(label("quantHint")->text().contains("Nothing to reset"));
    }

    void undoRedoByShortcut()
    {
        const QuantConfig initial = editor_->config();
        typeIntoCell(cell("module_list.4.conv_4", Model::kWeightBits), "5");
        const QuantConfig afterFirst = editor_->config();
        typeIntoCell(cell({}, Model::kActBits), "4");
        const QuantConfig afterSecond = editor_->config();
        pressOnCell(cell("module_list.4.conv_4", Model::kWeightBits), Qt::Key_Delete);
        const QuantConfig afterReset = editor_->config();
        QCOMPARE(editor_->undoStack()->count(), 3);
        QVERIFY(!(afterFirst == initial) && !(afterSecond == afterFirst) && !(afterReset == afterSecond));

        const QModelIndex any = cell("module_list.6.conv_6", Model::kModule);
        pressOnCell(any, Qt::Key_Z, Qt::ControlModifier);
        QVERIFY(editor_->config() == afterSecond);
        pressOnCell(any, Qt::Key_Z, Qt::ControlModifier);
        QVERIFY(editor_->config() == afterFirst);
        QCOMPARE(cell({}, Model::kActBits).data().toString(), QString("3"));
        pressOnCell(any, Qt::Key_Z, Qt::ControlModifier);
        QVERIFY(editor_->config() == initial);
        QVERIFY(!editor_->isModified());
        pressOnCell(any, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
        QVERIFY(editor_->config() == afterFirst);
        pressOnCell(any, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
        QVERIFY(editor_->config() == afterSecond);
        QCOMPARE(cell("module_list.4.conv_4", Model::kActBits).data().toString(), QString("4"));
        QVERIFY(editor_->undoAction()->text().contains("activation bits"));
    }

    void totalsFollowTheBitWidths_data()
    {
        QTest::addColumn<QString>("module");
        QTest::addColumn<int>("column");
        QTest::addColumn<QString>("typed");
        QTest::newRow("weights of layer 10 at 8 bits") << "module_list.10.conv_10" << int(Model::kWeightBits) << "8";
        QTest::newRow("activations of layer 6 off") << "module_list.6.conv_6" << int(Model::kActBits) << "0";
        QTest::newRow("default weights at 2 bits") << QString() << int(Model::kWeightBits) << "2";
    }
    void totalsFollowTheBitWidths()
    {
        QFETCH(QString, module);
        QFETCH(int, column);
        QFETCH(QString, typed);
        const NetworkSpec spec = defaultNetworkSpec();
        const QuantConfig before = editor_->config();
        const NetworkSummary initial = summarizeNetwork(spec, &before);
        QCOMPARE(editor_->summary().sizeBitsQuantized, initial.sizeBitsQuantized);

        typeIntoCell(cell(module, column), typed);
        const QuantConfig after = editor_->config();
        const NetworkSummary s = summarizeNetwork(spec, &after);
        QVERIFY(s.sizeBitsQuantized != initial.sizeBitsQuantized || s.bitOps != initial.bitOps);
        QCOMPARE(editor_->summary().sizeBitsQuantized, s.sizeBitsQuantized);
        QCOMPARE(editor_->summary().sizeBitsFp32, s.sizeBitsFp32);
        QCOMPARE(editor_->summary().bitOps, s.bitOps);
        QCOMPARE(editor_->summary().bitOpsFp32, s.bitOpsFp32);

        // The label shows what `tyq info --quant` prints.
        const double mib = 8.0 * 1024 * 1024;
        const QString totals = label("quantTotals")->text();
        const QString info = QString::fromStdString(formatNetworkSummary(s));
        for (const QString& number : {QString::number(s.sizeBitsQuantized / mib, 'f', 3),
                                      QString::number(s.sizeBitsFp32 / mib, 'f', 3),
                                      QString::number(s.compression(), 'f', 2), QString::number(s.bitOps / 1e9, 'f', 3),
                                      QString::number(s.bitOpsFp32 / 1e9, 'f', 1)}) {
            QVERIFY2(totals.contains(number), qPrintable(number + " not in " + totals));
            QVERIFY2(info.contains(number), qPrintable(number + " not in tyq info's output"));
        }
        // The cost model's width of the image input is stated, in both.
        QVERIFY2(totals.contains("image input at 8 bits"), qPrintable(totals));
        QVERIFY(info.contains("image input at 8 bits"));
        // Per-layer shares: each row's size and bit-operations over the totals.
        double sizeShares = 0, bitOpsShares = 0;
        for (int row = 1; row < model()->rowCount(); ++row) {
            const LayerSummary& layer = s.layers[model()->index(row, Model::kIndex).data().toInt()];
            const double size = model()->index(row, Model::kSizeShare).data().toDouble();
            const double ops = model()->index(row, Model::kBitOpsShare).data().toDouble();
            QVERIFY(std::abs(size - 100.0 * layer.sizeBits / s.sizeBitsQuantized) <= 0.05);
            QVERIFY(std::abs(ops - 100.0 * layer.bitOps / s.bitOps) <= 0.05);
            sizeShares += size;
            bitOpsShares += ops;
        }
        QVERIFY(std::abs(sizeShares - 100.0) < 0.5);
        QVERIFY(std::abs(bitOpsShares - 100.0) < 0.5);
    }

    void openingTheReferenceFormatShowsItsOverrides_data()
    {
        QTest::addColumn<QString>("path");
        QTest::newRow("config/lsq-3bit.yaml") << sourceDir() + "/config/lsq-3bit.yaml";
        const QString referenceDir = tyq::test::referenceDir();
        QTest::newRow("reference seed/yolov3-tiny_lsq.yaml") << referenceDir + "/seed/yolov3-tiny_lsq.yaml";
    }
    void openingTheReferenceFormatShowsItsOverrides()
    {
        QFETCH(QString, path);
        if (!QFile::exists(path))
            QSKIP("reference file absent");
        // Start from another document, so opening visibly changes it.
        const QString other = dir_.filePath("plain.yaml");
        writeFile(other, kDefaultsYaml);
        QVERIFY(editor_->openFile(other));
        QVERIFY(!cell("module_list.0.conv_0", Model::kActBits).data(Model::OverriddenRole).toBool());

        QVERIFY(editor_->openFile(path));
        QCOMPARE(editor_->filePath(), path);
        QVERIFY(!editor_->isModified());
        QVERIFY(editor_->warnings().isEmpty());
        const QModelIndex first = cell("module_list.0.conv_0", Model::kActBits);
        const QModelIndex last = cell("module_list.22.conv_22", Model::kActBits);
        QCOMPARE(first.data().toString(), QString("off"));
        QVERIFY(first.data(Model::OverriddenRole).toBool());
        QCOMPARE(last.data().toString(), QString("9"));
        QVERIFY(last.data(Model::OverriddenRole).toBool());
        QVERIFY(last.data(Qt::BackgroundRole).isValid());
        QCOMPARE(cell("module_list.4.conv_4", Model::kActBits).data().toString(), QString("3"));
        QVERIFY(!cell("module_list.4.conv_4", Model::kActBits).data(Model::OverriddenRole).toBool());
        QVERIFY(label("quantFileLabel")->text().contains(QFileInfo(path).fileName()));
        QVERIFY(editor_->config() == loadQuantConfig(path.toStdString()));
    }

    void dirtyMarkerFollowsEditsAndSaves()
    {
        QSignalSpy modified(editor_, &QuantEditor::modifiedChanged);
        QSignalSpy changed(editor_, &QuantEditor::configChanged);
        typeIntoCell(cell("module_list.2.conv_2", Model::kWeightBits), "4");
        QVERIFY(editor_->isModified());
        QCOMPARE(modified.count(), 1);
        QCOMPARE(modified.last().at(0).toBool(), true);
        QCOMPARE(changed.count(), 1);
        QVERIFY(label("quantFileLabel")->text().endsWith("*"));

        const QString path = dir_.filePath("dirty.yaml");
        QSignalSpy pathChanged(editor_, &QuantEditor::filePathChanged);
        QVERIFY(editor_->saveAs(path));
        QVERIFY(!editor_->isModified());
        QCOMPARE(modified.last().at(0).toBool(), false);
        QCOMPARE(pathChanged.count(), 1);
        QCOMPARE(editor_->filePath(), path);
        QVERIFY(!label("quantFileLabel")->text().endsWith("*"));

        // Undo past the save point is a modification; save() now writes to the file.
        editor_->undoAction()->trigger();
        QVERIFY(editor_->isModified());
        QVERIFY(editor_->save());
        QVERIFY(!editor_->isModified());
        QVERIFY(loadQuantConfig(path.toStdString()) == defaultQuantConfig());
    }

    void overridesOfUnknownModulesAreShownAsWarnings_data()
    {
        QTest::addColumn<QString>("module");
        QTest::newRow("index past the network") << "module_list.99.conv_99";
        QTest::newRow("a maxpool's index") << "module_list.1.conv_1";
        QTest::newRow("misspelt") << "module_list.4.conv4";
    }
    void overridesOfUnknownModulesAreShownAsWarnings()
    {
        QFETCH(QString, module);
        const QString path = dir_.filePath("unknown.yaml");
        writeFile(path, QByteArray(kDefaultsYaml) + "excepts:\n  " + module.toUtf8() + ":\n    act: {bit: 5}\n");
        QSignalSpy messages(editor_, &QuantEditor::message);
        QVERIFY(editor_->openFile(path));
        QLabel* warnings = label("quantWarnings");
        QVERIFY(!warnings->isHidden());
        QVERIFY(warnings->text().contains(module));
        QCOMPARE(editor_->warnings().size(), 1);
        bool logged = false;
        for (const QList<QVariant>& m : messages)
            logged |= m.at(0).value<LogLevel>() == LogLevel::warning && m.at(1).toString().contains(module);
        QVERIFY(logged);
        // The entry is kept (and saved back), just not applied to any row.
        QVERIFY(editor_->config().overrideFor(module.toStdString()));
        for (int row = 1; row < model()->rowCount(); ++row)
            QCOMPARE(model()->index(row, Model::kActBits).data().toString(), QString("3"));

        // A valid file clears the warning.
        const QString clean = dir_.filePath("clean.yaml");
        writeFile(clean, kDefaultsYaml);
        QVERIFY(editor_->openFile(clean));
        QVERIFY(warnings->isHidden());
    }

    void brokenFilesShowAnErrorAndKeepTheDocument_data()
    {
        QTest::addColumn<QByteArray>("content"); // empty = the file does not exist
        QTest::addColumn<QString>("problem");
        QTest::newRow("invalid YAML") << QByteArray("quan_default: [act\n  weight: {\n") << "invalid YAML";
        QTest::newRow("bit-width out of range")
            << QByteArray(kDefaultsYaml).replace("bit: 3, per_channel: false, symmetric: true", "bit: 40, per_channel: false, symmetric: true")
            << "outside 0..16";
        QTest::newRow("symmetric and all_positive")
            << QByteArray(kDefaultsYaml).replace("symmetric: false, all_positive: true", "symmetric: true, all_positive: true")
            << "cannot both be true";
        QTest::newRow("per-channel activations")
            << QByteArray(kDefaultsYaml).replace("act: {mode: lsq, bit: 3, per_channel: false", "act: {mode: lsq, bit: 3, per_channel: true")
            << "per_channel applies to weights only";
        QTest::newRow("missing file") << QByteArray() << "";
    }
    void brokenFilesShowAnErrorAndKeepTheDocument()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, problem);
        // A document with an edit in it and a file of its own.
        const QString good = dir_.filePath("good.yaml");
        QVERIFY(editor_->saveAs(good));
        typeIntoCell(cell("module_list.4.conv_4", Model::kWeightBits), "6");
        const QuantConfig before = editor_->config();

        const QString path = dir_.filePath(content.isEmpty() ? "does-not-exist.yaml" : "broken.yaml");
        if (!content.isEmpty())
            writeFile(path, content);
        QSignalSpy messages(editor_, &QuantEditor::message);
        QVERIFY(!editor_->openFile(path));

        QVERIFY(editor_->config() == before);
        QCOMPARE(editor_->filePath(), good);
        QVERIFY(editor_->isModified());
        auto* box = editor_->findChild<QMessageBox*>("tyqErrorBox");
        QVERIFY(box);
        QVERIFY(box->isVisible());
        QVERIFY2(box->text().contains(path), qPrintable(box->text()));
        QVERIFY2(box->text().contains(problem), qPrintable(box->text()));
        QCOMPARE(messages.count(), 1);
        QVERIFY(messages.first().at(0).value<LogLevel>() == LogLevel::error);
        box->close();
    }

    void anotherNetworkGetsItsOwnRows()
    {
        const NetworkSpec small = parseDarknetCfgText(R"([net]
width=64
height=64
channels=3
[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=relu
[convolutional]
size=1
stride=1
pad=1
filters=21
activation=linear
[yolo]
mask=0,1,2
anchors=10,14, 23,27, 37,58
classes=2
num=3
)",
                                                      "small.cfg");
        editor_->setNetwork(small);
        QCOMPARE(model()->rowCount(), 3);
        QCOMPARE(cell("module_list.1.conv_1", Model::kOutput).data().toString(), QString("21x32x32"));
        // The built-in overrides name layers this network lacks (22); layer 0's still applies.
        QCOMPARE(editor_->warnings().size(), 1);
        QVERIFY(editor_->warnings().first().contains("module_list.22.conv_22"));
        QCOMPARE(cell("module_list.0.conv_0", Model::kActBits).data().toString(), QString("off"));
        const QuantConfig c = editor_->config();
        QCOMPARE(editor_->summary().bitOps, summarizeNetwork(small, &c).bitOps);
    }
};

QTEST_MAIN(QuantEditorTest)
#include "test_quant_editor.moc"
