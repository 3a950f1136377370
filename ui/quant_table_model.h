// The quantization editor's document as a table: a first row for `quan_default`, then one row
// per conv of the network with its shapes, MACs, effective bit-widths (overridden fields marked)
// and its share of the model's size and bit-operations. Every edit and reset is validated
// against the whole network and goes through the undo stack as one command.
#pragma once

#include "model/darknet_cfg.h"
#include "model/network_summary.h"
#include "quant/quant_config.h"

#include <QAbstractTableModel>
#include <QList>

#include <optional>
#include <string>
#include <vector>

class QUndoStack;

namespace tyq::ui {

class QuantTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        kIndex,
        kModule,
        kKernel,
        kInChannels,
        kOutChannels,
        kOutput,
        kMacs,
        kWeightBits,
        kWeightPerChannel,
        kWeightSymmetric,
        kWeightAllPositive,
        kActBits,
        kActSymmetric,
        kActAllPositive,
        kSizeShare,
        kBitOpsShare,
        kColumns
    };
    enum Role {
        OverriddenRole = Qt::UserRole + 1, ///< bool: this cell's field is set by the layer's override
        ShareBarRole,                      ///< double 0..1: the share relative to the largest layer's
        ModuleNameRole,                    ///< QString: the layer's module name (empty on the defaults row)
    };
    enum class Field { bit, perChannel, symmetric, allPositive };
    /// Which quantizer and field a column edits.
    struct QuantField {
        bool weight = false;
        Field field = Field::bit;
    };
    /// The quantizer field of a column, or nothing for the descriptive columns.
    static std::optional<QuantField> quantFieldOf(int column);
    static bool isBitsColumn(int column) { return column == kWeightBits || column == kActBits; }
    static bool isCheckColumn(int column);

    /// Edits are pushed onto `stack` (not owned).
    explicit QuantTableModel(QUndoStack* stack, QObject* parent = nullptr);

    /// Replaces the rows with the network's convs at this input size (0 = the cfg's).
    /// Throws tyq::Error when the size does not fit the network.
    void setNetwork(const NetworkSpec& spec, int width = 0, int height = 0);
    const NetworkSpec& network() const { return network_; }
    std::vector<std::string> convModuleNames() const;

    /// Replaces the document (not an undoable edit).
    void setConfig(const QuantConfig& config);
    const QuantConfig& config() const { return config_; }
    /// Costs at the current bit-widths (what `tyq info --quant` prints).
    const NetworkSummary& summary() const { return summary_; }

    /// Throws tyq::Error if a resolved quantizer of `config` is invalid for this network.
    void validate(const QuantConfig& config) const;

    static constexpr int kDefaultsRow = 0;
    /// Module name of a layer row; empty for the defaults row.
    std::string moduleAt(int row) const;
    int rowOfModule(const std::string& moduleName) const;
    /// True if the cell's field comes from the layer's override.
    bool isOverridden(const QModelIndex& index) const;
    bool rowHasOverride(int row) const;

    /// Removes the overridden fields of these cells (one undo command). False if nothing to do
    /// or the result would be invalid (editRejected says why).
    bool resetCells(const QModelIndexList& cells);
    /// Removes the whole override of these layer rows (one undo command).
    bool resetRows(const QList<int>& rows);
    /// Replaces the document as one undo command named `text`. False if invalid (editRejected).
    bool pushEdit(const QuantConfig& next, const QString& text);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    /// Bits take Qt::EditRole (0..16), flags Qt::CheckStateRole; both become undo commands.
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

Q_SIGNALS:
    /// The document changed (edit, undo, redo, reset or replacement).
    void configChanged();
    /// An edit was refused; `why` is for the user.
    void editRejected(const QString& why);

private:
    friend class ConfigEditCommand;
    /// Sets the document and refreshes every cell (used by the undo commands).
    void applyConfig(const QuantConfig& config);
    const LayerSummary* layerAt(int row) const;
    QuantizerSpec specAt(int row, bool weight) const;
    const QuantizerOverride* overrideAt(int row, bool weight) const;
    QString rowLabel(int row) const;
    void recomputeSummary();

    QUndoStack* stack_;
    NetworkSpec network_;
    int width_ = 0, height_ = 0;
    QuantConfig config_;
    NetworkSummary summary_;
    std::vector<int> convLayers_; ///< summary_.layers index of each layer row
    double maxSizeShare_ = 0, maxBitOpsShare_ = 0;
};

} // namespace tyq::ui
