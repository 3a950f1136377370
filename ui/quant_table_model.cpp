#include "quant_table_model.h"

#include "common/error.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QUndoCommand>
#include <QUndoStack>

#include <algorithm>
#include <set>

namespace tyq::ui {

/// One edit or reset: the whole document before and after (documents are a few dozen fields).
class ConfigEditCommand : public QUndoCommand {
public:
    ConfigEditCommand(QuantTableModel* model, QuantConfig before, QuantConfig after, const QString& text)
        : QUndoCommand(text), model_(model), before_(std::move(before)), after_(std::move(after))
    {
    }
    void undo() override { model_->applyConfig(before_); }
    void redo() override { model_->applyConfig(after_); }

private:
    QuantTableModel* model_;
    QuantConfig before_, after_;
};

namespace {

using Field = QuantTableModel::Field;

const QColor kOverrideBackground(255, 224, 178); // amber: this layer departs from the defaults
const QColor kDefaultsBackground(222, 235, 250); // blue: the defaults row

int specValue(const QuantizerSpec& s, Field f)
{
    switch (f) {
    case Field::bit: return s.bit;
    case Field::perChannel: return s.perChannel;
    case Field::symmetric: return s.symmetric;
    case Field::allPositive: return s.allPositive;
    }
    return 0;
}

void setSpecValue(QuantizerSpec& s, Field f, int v)
{
    switch (f) {
    case Field::bit: s.bit = v; break;
    case Field::perChannel: s.perChannel = v != 0; break;
    case Field::symmetric: s.symmetric = v != 0; break;
    case Field::allPositive: s.allPositive = v != 0; break;
    }
}

bool overrideHas(const QuantizerOverride& o, Field f)
{
    switch (f) {
    case Field::bit: return o.bit.has_value();
    case Field::perChannel: return o.perChannel.has_value();
    case Field::symmetric: return o.symmetric.has_value();
    case Field::allPositive: return o.allPositive.has_value();
    }
    return false;
}

void setOverrideValue(QuantizerOverride& o, Field f, int v)
{
    switch (f) {
    case Field::bit: o.bit = v; break;
    case Field::perChannel: o.perChannel = v != 0; break;
    case Field::symmetric: o.symmetric = v != 0; break;
    case Field::allPositive: o.allPositive = v != 0; break;
    }
}

void clearOverrideValue(QuantizerOverride& o, Field f, const QuantizerSpec& defaults)
{
    switch (f) {
    case Field::bit: o.bit.reset(); break;
    case Field::perChannel: o.perChannel.reset(); break;
    case Field::symmetric: o.symmetric.reset(); break;
    case Field::allPositive: o.allPositive.reset(); break;
    }
    // `mode` is not editable: an override left holding only the default mode overrides nothing.
    if (o.mode && *o.mode == defaults.mode && !o.bit && !o.perChannel && !o.symmetric && !o.allPositive)
        o.mode.reset();
}

QString fieldName(const QuantTableModel::QuantField& q)
{
    const QString who = q.weight ? QObject::tr("weight") : QObject::tr("activation");
    switch (q.field) {
    case Field::bit: return QObject::tr("%1 bits").arg(who);
    case Field::perChannel: return QObject::tr("%1 per-channel").arg(who);
    case Field::symmetric: return QObject::tr("%1 symmetric").arg(who);
    case Field::allPositive: return QObject::tr("%1 all-positive").arg(who);
    }
    return who;
}

QString valueText(Field f, int v)
{
    if (f == Field::bit)
        return v == 0 ? QObject::tr("off") : QString::number(v);
    return v ? QObject::tr("on") : QObject::tr("off");
}

QString rangeText(const QuantizerSpec& s)
{
    if (!s.enabled())
        return QObject::tr("Not quantized (full precision)");
    return QObject::tr("%1-bit %2: codes %3..%4 (%5 levels)%6")
        .arg(s.bit)
        .arg(s.allPositive ? QObject::tr("unsigned") : s.symmetric ? QObject::tr("symmetric") : QObject::tr("signed"))
        .arg(s.qmin())
        .arg(s.qmax())
        .arg(s.levels())
        .arg(s.perChannel ? QObject::tr(", one step size per output channel") : QString());
}

} // namespace

std::optional<QuantTableModel::QuantField> QuantTableModel::quantFieldOf(int column)
{
    switch (column) {
    case kWeightBits: return QuantField{true, Field::bit};
    case kWeightPerChannel: return QuantField{true, Field::perChannel};
    case kWeightSymmetric: return QuantField{true, Field::symmetric};
    case kWeightAllPositive: return QuantField{true, Field::allPositive};
    case kActBits: return QuantField{false, Field::bit};
    case kActSymmetric: return QuantField{false, Field::symmetric};
    case kActAllPositive: return QuantField{false, Field::allPositive};
    default: return std::nullopt;
    }
}

bool QuantTableModel::isCheckColumn(int column)
{
    const auto q = quantFieldOf(column);
    return q && q->field != Field::bit;
}

QuantTableModel::QuantTableModel(QUndoStack* stack, QObject* parent) : QAbstractTableModel(parent), stack_(stack)
{
}

void QuantTableModel::setNetwork(const NetworkSpec& spec, int width, int height)
{
    NetworkSummary summary = summarizeNetwork(spec, &config_, width, height); // throws before any change
    beginResetModel();
    network_ = spec;
    width_ = width;
    height_ = height;
    summary_ = std::move(summary);
    convLayers_.clear();
    for (size_t i = 0; i < summary_.layers.size(); ++i)
        if (!summary_.layers[i].moduleName.empty())
            convLayers_.push_back(static_cast<int>(i));
    recomputeSummary();
    endResetModel();
}

std::vector<std::string> QuantTableModel::convModuleNames() const
{
    std::vector<std::string> names;
    for (int i : convLayers_)
        names.push_back(summary_.layers[i].moduleName);
    return names;
}

void QuantTableModel::setConfig(const QuantConfig& config)
{
    applyConfig(config);
}

void QuantTableModel::applyConfig(const QuantConfig& config)
{
    config_ = config;
    recomputeSummary();
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, kColumns - 1));
    Q_EMIT configChanged();
}

void QuantTableModel::recomputeSummary()
{
    maxSizeShare_ = maxBitOpsShare_ = 0;
    if (network_.layers.empty())
        return;
    summary_ = summarizeNetwork(network_, &config_, width_, height_);
    for (int i : convLayers_) {
        const LayerSummary& l = summary_.layers[i];
        maxSizeShare_ = std::max(maxSizeShare_, double(l.sizeBits));
        maxBitOpsShare_ = std::max(maxBitOpsShare_, double(l.bitOps));
    }
}

void QuantTableModel::validate(const QuantConfig& config) const
{
    validateQuantizerSpec(config.defaults.act, "defaults, activations");
    validateQuantizerSpec(config.defaults.weight, "defaults, weights");
    if (config.defaults.act.perChannel)
        throw Error("defaults, activations: per-channel applies to weights only");
    for (int i : convLayers_) {
        const LayerSummary& l = summary_.layers[i];
        const LayerQuantSpec spec = config.forModule(l.moduleName);
        const std::string where = "layer " + std::to_string(l.index) + " (" + l.moduleName + ")";
        validateQuantizerSpec(spec.act, where + ", activations");
        validateQuantizerSpec(spec.weight, where + ", weights");
        if (spec.act.perChannel)
            throw Error(where + ", activations: per-channel applies to weights only");
    }
}

std::string QuantTableModel::moduleAt(int row) const
{
    const LayerSummary* l = layerAt(row);
    return l ? l->moduleName : std::string();
}

int QuantTableModel::rowOfModule(const std::string& moduleName) const
{
    for (size_t r = 0; r < convLayers_.size(); ++r)
        if (summary_.layers[convLayers_[r]].moduleName == moduleName)
            return static_cast<int>(r) + 1;
    return -1;
}

const LayerSummary* QuantTableModel::layerAt(int row) const
{
    if (row <= kDefaultsRow || row > static_cast<int>(convLayers_.size()))
        return nullptr;
    return &summary_.layers[convLayers_[row - 1]];
}

QuantizerSpec QuantTableModel::specAt(int row, bool weight) const
{
    if (row == kDefaultsRow)
        return weight ? config_.defaults.weight : config_.defaults.act;
    const LayerQuantSpec spec = config_.forModule(moduleAt(row));
    return weight ? spec.weight : spec.act;
}

const QuantizerOverride* QuantTableModel::overrideAt(int row, bool weight) const
{
    const LayerSummary* l = layerAt(row);
    if (!l)
        return nullptr;
    const LayerQuantOverride* o = config_.overrideFor(l->moduleName);
    return o ? (weight ? &o->weight : &o->act) : nullptr;
}

bool QuantTableModel::isOverridden(const QModelIndex& index) const
{
    const auto q = quantFieldOf(index.column());
    if (!q)
        return false;
    const QuantizerOverride* o = overrideAt(index.row(), q->weight);
    return o && overrideHas(*o, q->field);
}

bool QuantTableModel::rowHasOverride(int row) const
{
    const LayerSummary* l = layerAt(row);
    return l && config_.overrideFor(l->moduleName);
}

QString QuantTableModel::rowLabel(int row) const
{
    const LayerSummary* l = layerAt(row);
    return l ? tr("layer %1").arg(l->index) : tr("the defaults");
}

int QuantTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() || network_.layers.empty() ? 0 : static_cast<int>(convLayers_.size()) + 1;
}

int QuantTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : kColumns;
}

QVariant QuantTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const int row = index.row();
    const int col = index.column();
    const bool defaultsRow = row == kDefaultsRow;
    const LayerSummary* layer = layerAt(row);
    const auto q = quantFieldOf(col);
    const bool overridden = isOverridden(index);

    if (role == OverriddenRole)
        return overridden;
    if (role == ModuleNameRole)
        return QString::fromStdString(moduleAt(row));
    if (role == Qt::BackgroundRole) {
        if (overridden)
            return QBrush(kOverrideBackground);
        if (defaultsRow)
            return QBrush(kDefaultsBackground);
        return {};
    }
    if (role == Qt::ForegroundRole) // the backgrounds above are light whatever the palette
        return overridden || defaultsRow ? QVariant(QBrush(Qt::black)) : QVariant();
    if (role == Qt::FontRole) {
        if (overridden || (defaultsRow && col <= kModule)) {
            QFont f;
            f.setBold(true);
            return f;
        }
        return {};
    }
    if (role == Qt::TextAlignmentRole) {
        if (col == kModule || col == kOutput)
            return int(Qt::AlignLeft | Qt::AlignVCenter);
        if (q)
            return int(Qt::AlignCenter);
        return int(Qt::AlignRight | Qt::AlignVCenter);
    }

    if (q) {
        const QuantizerSpec spec = specAt(row, q->weight);
        const int v = specValue(spec, q->field);
        if (q->field == Field::bit) {
            if (role == Qt::DisplayRole)
                return valueText(Field::bit, v);
            if (role == Qt::EditRole)
                return v;
        } else if (role == Qt::CheckStateRole) {
            return v ? Qt::Checked : Qt::Unchecked;
        }
        if (role == Qt::ToolTipRole) {
            QString tip = rangeText(spec);
            if (!q->weight && !spec.enabled() && layer && layer->inputIsImage)
                tip += "\n" + tr("This conv reads the image: its pixels are %1-bit codes, and the bit-operations count them at %1 bits")
                                  .arg(summary_.imageBits);
            if (!(flags(index) & Qt::ItemIsUserCheckable) && isCheckColumn(col))
                tip += "\n" + (q->field == Field::symmetric && !spec.allPositive
                                   ? tr("Unavailable: a symmetric 1-bit range has a single level")
                                   : tr("Unavailable: symmetric and all-positive exclude each other; uncheck the other first"));
            if (defaultsRow)
                tip += "\n" + tr("Default for every layer without its own value");
            else if (overridden) {
                const QuantizerSpec& d = q->weight ? config_.defaults.weight : config_.defaults.act;
                tip += "\n" + tr("Overridden for this layer (default: %1). Delete or right-click › Reset restores the default.")
                                  .arg(valueText(q->field, specValue(d, q->field)));
            } else
                tip += "\n" + tr("Follows the defaults row");
            return tip;
        }
        return {};
    }

    if (col == kSizeShare || col == kBitOpsShare) {
        if (!layer)
            return {};
        const bool size = col == kSizeShare;
        const double total = size ? double(summary_.sizeBitsQuantized) : double(summary_.bitOps);
        const double value = size ? double(layer->sizeBits) : double(layer->bitOps);
        const double max = size ? maxSizeShare_ : maxBitOpsShare_;
        if (role == Qt::DisplayRole)
            return total > 0 ? QString::number(100.0 * value / total, 'f', 1) : QString("–");
        if (role == ShareBarRole)
            return max > 0 ? value / max : 0.0;
        if (role == Qt::ToolTipRole)
            return size ? tr("%1 KiB of %2 KiB at these bit-widths")
                              .arg(value / 8192.0, 0, 'f', 1)
                              .arg(total / 8192.0, 0, 'f', 1)
                        : tr("%1 G of %2 G bit-operations (MACs x weight bits x activation bits)")
                              .arg(value / 1e9, 0, 'f', 3)
                              .arg(total / 1e9, 0, 'f', 3);
        return {};
    }

    if (role == Qt::ToolTipRole) {
        if (defaultsRow)
            return tr("quan_default: the quantizers of every layer without an override (excepts)");
        if (layer)
            return tr("%1 %2: %3 → %4, %5 parameters")
                .arg(QString::fromStdString(layer->moduleName), QString::fromStdString(layer->detail),
                     QString::fromStdString(layer->input.str()), QString::fromStdString(layer->output.str()))
                .arg(layer->parameters);
        return {};
    }
    if (role != Qt::DisplayRole)
        return {};
    if (defaultsRow)
        return col == kModule ? tr("defaults (quan_default)") : QVariant();
    switch (col) {
    case kIndex: return layer->index;
    case kModule: return QString::fromStdString(layer->moduleName);
    case kKernel: {
        const ConvSpec& c = network_.layers[layer->index].conv();
        return QString("%1x%1/%2").arg(c.size).arg(c.stride);
    }
    case kInChannels: return qlonglong(layer->input.channels);
    case kOutChannels: return qlonglong(layer->output.channels);
    case kOutput: return QString::fromStdString(layer->output.str());
    case kMacs: return QString("%L1").arg(qlonglong(layer->macs));
    default: return {};
    }
}

QVariant QuantTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    static const char* const titles[kColumns] = {"#",      "Module", "Kernel", "In",    "Out",   "Output",
                                                 "MACs",   "W bits", "W per-ch", "W sym", "W pos", "A bits",
                                                 "A sym",  "A pos",  "Size %", "BOPs %"};
    static const char* const tips[kColumns] = {
        "Layer index in the cfg",
        "Module name (the key of an override in the YAML's excepts)",
        "Kernel size / stride",
        "Input channels",
        "Output channels",
        "Output shape (channels x height x width)",
        "Multiply-accumulates for one image",
        "Weight bit-width (off = full precision)",
        "Weights: one step size per output channel",
        "Weights: symmetric range [-(2^(b-1)-1), 2^(b-1)-1]",
        "Weights: all-positive range [0, 2^b-1]",
        "Input activation bit-width (off = full precision)",
        "Activations: symmetric range",
        "Activations: all-positive range [0, 2^b-1] (inputs after ReLU)",
        "Share of the model's size at these bit-widths",
        "Share of the bit-operations (MACs x weight bits x activation bits)",
    };
    if (section < 0 || section >= kColumns)
        return {};
    if (role == Qt::DisplayRole)
        return tr(titles[section]);
    if (role == Qt::ToolTipRole)
        return tr(tips[section]);
    return {};
}

Qt::ItemFlags QuantTableModel::flags(const QModelIndex& index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    const auto q = quantFieldOf(index.column());
    if (!q)
        return f;
    if (q->field == Field::bit)
        return f | Qt::ItemIsEditable;
    // Only combinations validateQuantizerSpec accepts can be checked; unchecking is always allowed.
    const QuantizerSpec s = specAt(index.row(), q->weight);
    bool checkable = true;
    if (q->field == Field::symmetric && !s.symmetric)
        checkable = !s.allPositive && s.bit != 1;
    else if (q->field == Field::allPositive && !s.allPositive)
        checkable = !s.symmetric;
    return checkable ? f | Qt::ItemIsUserCheckable : f;
}

bool QuantTableModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    const auto q = quantFieldOf(index.column());
    if (!index.isValid() || !q || index.row() >= rowCount())
        return false;
    int v = 0;
    if (q->field == Field::bit) {
        if (role != Qt::EditRole)
            return false;
        bool ok = false;
        v = value.toInt(&ok);
        if (!ok || v < 0 || v > 16) {
            Q_EMIT editRejected(tr("A bit-width is 0 (off) to 16"));
            return false;
        }
    } else {
        if (role != Qt::CheckStateRole)
            return false;
        v = value.toInt() == Qt::Checked ? 1 : 0;
    }
    const int row = index.row();
    if (specValue(specAt(row, q->weight), q->field) == v)
        return true; // nothing changes: no override, no undo step

    QuantConfig next = config_;
    if (row == kDefaultsRow) {
        setSpecValue(q->weight ? next.defaults.weight : next.defaults.act, q->field, v);
    } else {
        const std::string name = moduleAt(row);
        const LayerQuantOverride* existing = config_.overrideFor(name);
        LayerQuantOverride o = existing ? *existing : LayerQuantOverride{};
        setOverrideValue(q->weight ? o.weight : o.act, q->field, v);
        next.setOverride(name, o);
    }
    return pushEdit(next, tr("Set %1 of %2 to %3").arg(fieldName(*q), rowLabel(row), valueText(q->field, v)));
}

bool QuantTableModel::resetCells(const QModelIndexList& cells)
{
    QuantConfig next = config_;
    int count = 0;
    QString what;
    for (const QModelIndex& index : cells) {
        if (!isOverridden(index))
            continue;
        const auto q = quantFieldOf(index.column());
        const std::string name = moduleAt(index.row());
        LayerQuantOverride o = *next.overrideFor(name);
        clearOverrideValue(q->weight ? o.weight : o.act, q->field, q->weight ? next.defaults.weight : next.defaults.act);
        next.setOverride(name, o);
        what = tr("%1 of %2").arg(fieldName(*q), rowLabel(index.row()));
        ++count;
    }
    if (count == 0)
        return false;
    return pushEdit(next, count == 1 ? tr("Reset %1 to the default").arg(what) : tr("Reset %1 cells to the defaults").arg(count));
}

bool QuantTableModel::resetRows(const QList<int>& rows)
{
    QuantConfig next = config_;
    std::set<int> done;
    for (int row : rows)
        if (rowHasOverride(row) && done.insert(row).second)
            next.setOverride(moduleAt(row), {});
    if (done.empty())
        return false;
    return pushEdit(next, done.size() == 1 ? tr("Reset %1 to the defaults").arg(rowLabel(*done.begin()))
                                           : tr("Reset %1 layers to the defaults").arg(done.size()));
}

bool QuantTableModel::pushEdit(const QuantConfig& next, const QString& text)
{
    if (next == config_)
        return true;
    try {
        validate(next);
    } catch (const std::exception& e) {
        Q_EMIT editRejected(QString::fromUtf8(e.what()));
        return false;
    }
    stack_->push(new ConfigEditCommand(this, config_, next, text)); // push() applies it
    return true;
}

} // namespace tyq::ui
