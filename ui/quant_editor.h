// The quantization editor: the bit-widths of every conv of the network as one table (a defaults
// row, then per-layer values with their overrides marked), live model size and bit-operations,
// undo/redo, and the YAML file (reference format) it opens and saves. The built-in
// lsq-3bit.yaml is where it starts; saving that asks for a new file.
#pragma once

#include "log_level_metatype.h"
#include "model/darknet_cfg.h"
#include "model/network_summary.h"
#include "quant/quant_config.h"

#include <QModelIndexList>
#include <QWidget>

class QAbstractItemModel;
class QAction;
class QLabel;
class QTableView;
class QUndoStack;

namespace tyq::ui {

class QuantTableModel;

class QuantEditor : public QWidget {
    Q_OBJECT
public:
    explicit QuantEditor(QWidget* parent = nullptr);

    /// Shows the convs of this network at this input size (0 = the cfg's). Checks the current
    /// bit-widths against it (warnings for overrides that match no conv). The editor starts on
    /// the built-in network.
    void setNetwork(const NetworkSpec& spec, int width = 0, int height = 0);

    /// The bit-widths as edited.
    QuantConfig config() const;
    /// Replaces the document (clears undo history and the modified state). `path` empty = no
    /// file yet (saving asks for one). A config invalid for the network is refused with an error.
    void setConfig(const QuantConfig& config, const QString& path = {});
    /// Replaces the bit-widths as one undoable edit named `text` (e.g. a search result); an
    /// invalid config is refused with its reason shown. False if refused.
    bool applyBitWidths(const QuantConfig& config, const QString& text);
    /// Opens a YAML in the reference format; errors are shown (showError) and keep the document.
    bool openFile(const QString& path);
    /// Saves to the current file, or asks for one when there is none.
    bool save();
    bool saveAs(const QString& path);
    /// Asks Save / Discard / Cancel when modified; false if the user cancels.
    bool maybeSave();

    QString filePath() const { return filePath_; }
    bool isModified() const;
    /// Costs at the current bit-widths (the numbers under the table).
    const NetworkSummary& summary() const;
    /// Warnings about the current document (overrides naming no conv), as shown.
    QStringList warnings() const { return warnings_; }

    QUndoStack* undoStack() const { return undoStack_; }
    QAbstractItemModel* model() const;
    QTableView* view() const { return view_; }
    QAction* undoAction() const { return undoAction_; }
    QAction* redoAction() const { return redoAction_; }
    QAction* openAction() const { return openAction_; }
    QAction* saveAction() const { return saveAction_; }
    QAction* saveAsAction() const { return saveAsAction_; }
    /// Resets the selected overridden cells (or, on a layer's descriptive cells, the layer's whole
    /// override) to the defaults. Shortcut: Delete in the table.
    QAction* resetAction() const { return resetAction_; }

public Q_SLOTS:
    /// What resetAction does: true if something was reset.
    bool resetSelection();

Q_SIGNALS:
    void modifiedChanged(bool modified);
    /// The bit-widths changed (edit, undo/redo, open, replace).
    void configChanged();
    /// The document's file changed (open, save as, replace).
    void filePathChanged(const QString& path);
    /// For the log: files opened and saved, warnings, errors.
    void message(tyq::LogLevel level, const QString& text);

private:
    void showContextMenu(const QPoint& pos);
    void updateTotals();
    void updateFileLabel();
    /// Shows the warnings above the table; `log` also sends them to message() (documents
    /// opened or set, not the transient state while a new network and its file are applied).
    void showWarnings(const QStringList& warnings, bool log = true);
    void setHint(const QString& text);
    bool resetRowsOf(const QModelIndexList& indexes);

    QUndoStack* undoStack_;
    QuantTableModel* model_;
    QTableView* view_;
    QLabel* fileLabel_;
    QLabel* warningsLabel_;
    QLabel* hintLabel_;
    QLabel* totalsLabel_;
    QAction* openAction_;
    QAction* saveAction_;
    QAction* saveAsAction_;
    QAction* undoAction_;
    QAction* redoAction_;
    QAction* resetAction_;
    QString filePath_;
    QStringList warnings_;
};

} // namespace tyq::ui
