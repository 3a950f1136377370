#include "model/darknet_cfg.h"

#include "common/embedded_config.h"
#include "common/error.h"
#include "common/text.h"

#include <algorithm>
#include <map>
#include <set>

namespace tyq {
namespace {

// One [section] of the file with its key=value lines, before interpretation.
struct RawSection {
    std::string name;
    int line = 0;
    std::map<std::string, std::pair<std::string, int>> values; // key -> (value, line)
};

// Keys darknet defines for a section that tyq reads or deliberately ignores (training
// hyper-parameters of darknet itself). Anything else is a typo worth an error.
const std::map<std::string, std::set<std::string>>& knownKeys()
{
    static const std::map<std::string, std::set<std::string>> keys = {
        {"net",
         {"width", "height", "channels", "batch", "subdivisions", "momentum", "decay", "angle", "saturation",
          "exposure", "hue", "learning_rate", "burn_in", "max_batches", "policy", "steps", "scales", "mosaic",
          "flip", "max_chart_loss", "letter_box", "min_crop", "max_crop", "aspect", "jitter"}},
        {"convolutional", {"batch_normalize", "filters", "size", "stride", "pad", "padding", "activation"}},
        {"maxpool", {"size", "stride"}},
        {"route", {"layers"}},
        {"upsample", {"stride"}},
        {"shortcut", {"from", "activation"}},
        {"yolo",
         {"mask", "anchors", "classes", "num", "ignore_thresh", "jitter", "truth_thresh", "random", "scale_x_y",
          "iou_thresh", "cls_normalizer", "iou_normalizer", "iou_loss", "nms_kind", "beta_nms", "max_delta"}},
    };
    return keys;
}

class SectionReader {
public:
    SectionReader(const RawSection& section, const std::string& source) : section_(section), source_(source) {}

    bool has(const std::string& key) const { return section_.values.count(key) > 0; }

    int lineOf(const std::string& key) const
    {
        auto it = section_.values.find(key);
        return it == section_.values.end() ? section_.line : it->second.second;
    }

    [[noreturn]] void error(const std::string& key, const std::string& problem) const
    {
        fail(source_, lineOf(key), "[" + section_.name + "] " + problem);
    }

    int integer(const std::string& key, int fallback, int lo, int hi, bool required = false) const
    {
        auto it = section_.values.find(key);
        if (it == section_.values.end()) {
            if (required)
                error(key, "missing required key '" + key + "'");
            return fallback;
        }
        const auto value = text::parseInt(it->second.first);
        if (!value)
            error(key, "'" + key + "' must be an integer, got '" + it->second.first + "'");
        if (*value < lo || *value > hi)
            error(key, "'" + key + "' = " + std::to_string(*value) + " is outside " + std::to_string(lo) + ".." +
                           std::to_string(hi));
        return static_cast<int>(*value);
    }

    double real(const std::string& key, double fallback, double lo, double hi) const
    {
        auto it = section_.values.find(key);
        if (it == section_.values.end())
            return fallback;
        const auto value = text::parseDouble(it->second.first);
        if (!value)
            error(key, "'" + key + "' must be a number, got '" + it->second.first + "'");
        if (*value < lo || *value > hi)
            error(key, "'" + key + "' = " + it->second.first + " is outside the valid range");
        return *value;
    }

    std::vector<long long> integerList(const std::string& key) const
    {
        auto it = section_.values.find(key);
        if (it == section_.values.end())
            error(key, "missing required key '" + key + "'");
        std::vector<long long> out;
        for (const std::string& piece : text::split(it->second.first, ',')) {
            const auto value = text::parseInt(piece);
            if (!value)
                error(key, "'" + key + "' must be a comma-separated list of integers, got '" + it->second.first + "'");
            out.push_back(*value);
        }
        return out;
    }

    std::vector<double> realList(const std::string& key) const
    {
        auto it = section_.values.find(key);
        if (it == section_.values.end())
            error(key, "missing required key '" + key + "'");
        std::vector<double> out;
        for (const std::string& piece : text::split(it->second.first, ',')) {
            if (piece.empty())
                continue; // darknet files often end anchor lists with a comma
            const auto value = text::parseDouble(piece);
            if (!value)
                error(key, "'" + key + "' must be a comma-separated list of numbers, got '" + it->second.first + "'");
            out.push_back(*value);
        }
        return out;
    }

    Activation activation(const std::string& key) const
    {
        auto it = section_.values.find(key);
        if (it == section_.values.end())
            return Activation::linear;
        const std::string& v = it->second.first;
        if (v == "linear")
            return Activation::linear;
        if (v == "relu")
            return Activation::relu;
        if (v == "leaky")
            return Activation::leaky;
        error(key, "unknown activation '" + v + "' (expected linear, relu or leaky)");
    }

private:
    const RawSection& section_;
    const std::string& source_;
};

std::vector<RawSection> splitSections(std::string_view text, const std::string& source)
{
    std::vector<RawSection> sections;
    const std::vector<std::string> lines = text::lines(text);
    for (size_t i = 0; i < lines.size(); ++i) {
        const int lineNo = static_cast<int>(i) + 1;
        std::string_view line = text::trim(lines[i]);
        if (line.empty() || line.front() == '#' || line.front() == ';')
            continue;
        if (line.front() == '[') {
            if (line.back() != ']')
                fail(source, lineNo, "section header '" + std::string(line) + "' lacks a closing ']'");
            RawSection section;
            section.name = std::string(text::trim(line.substr(1, line.size() - 2)));
            section.line = lineNo;
            if (section.name == "network")
                section.name = "net";
            if (!knownKeys().count(section.name))
                fail(source, lineNo,
                     "unknown section [" + section.name +
                         "] (tyq reads net, convolutional, maxpool, route, upsample, shortcut, yolo)");
            sections.push_back(std::move(section));
            continue;
        }
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos)
            fail(source, lineNo, "expected 'key=value' or '[section]', got '" + std::string(line) + "'");
        if (sections.empty())
            fail(source, lineNo, "'" + std::string(line) + "' comes before the first [section]");
        RawSection& section = sections.back();
        std::string key(text::trim(line.substr(0, eq)));
        std::string value(text::trim(line.substr(eq + 1)));
        if (key.empty())
            fail(source, lineNo, "empty key before '='");
        if (!knownKeys().at(section.name).count(key))
            fail(source, lineNo, "unknown key '" + key + "' in [" + section.name + "]");
        if (section.values.count(key))
            fail(source, lineNo, "key '" + key + "' repeats in the same [" + section.name + "] section");
        section.values[key] = {value, lineNo};
    }
    return sections;
}

int resolveIndex(const SectionReader& reader, const std::string& key, long long value, int current)
{
    const long long absolute = value < 0 ? current + value : value;
    if (absolute < 0 || absolute >= current)
        reader.error(key, "'" + key + "' refers to layer " + std::to_string(absolute) +
                              ", which is not an earlier layer (this is layer " + std::to_string(current) + ")");
    return static_cast<int>(absolute);
}

// Output channels and downsampling factor of each layer, to check routes, shortcuts and yolo.
struct LayerShape {
    int channels = 0;
    int scale = 1; // input pixels per output pixel
};

} // namespace

std::string LayerSpec::typeName() const
{
    static const char* names[] = {"convolutional", "maxpool", "route", "upsample", "shortcut", "yolo"};
    return names[params.index()];
}

std::vector<int> NetworkSpec::convIndices() const
{
    std::vector<int> out;
    for (const LayerSpec& layer : layers)
        if (layer.isConv())
            out.push_back(layer.index);
    return out;
}

std::vector<int> NetworkSpec::yoloIndices() const
{
    std::vector<int> out;
    for (const LayerSpec& layer : layers)
        if (layer.isYolo())
            out.push_back(layer.index);
    return out;
}

int NetworkSpec::numClasses() const
{
    for (const LayerSpec& layer : layers)
        if (layer.isYolo())
            return layer.yolo().classes;
    return 0;
}

int NetworkSpec::requiredInputMultiple() const
{
    // Recomputed from the layers: every layer's downsampling must divide the input size.
    std::vector<int> scale(layers.size(), 1);
    int maxScale = 1;
    for (const LayerSpec& layer : layers) {
        const int prev = layer.index > 0 ? scale[layer.index - 1] : 1;
        int s = prev;
        if (const auto* c = std::get_if<ConvSpec>(&layer.params))
            s = prev * c->stride;
        else if (const auto* m = std::get_if<MaxpoolSpec>(&layer.params))
            s = prev * m->stride;
        else if (const auto* u = std::get_if<UpsampleSpec>(&layer.params))
            s = std::max(1, prev / u->stride);
        else if (const auto* r = std::get_if<RouteSpec>(&layer.params))
            s = scale[r->layers.front()];
        scale[layer.index] = s;
        maxScale = std::max(maxScale, s);
    }
    return maxScale;
}

std::string convModuleName(int layerIndex)
{
    return "module_list." + std::to_string(layerIndex) + ".conv_" + std::to_string(layerIndex);
}

const char* activationName(Activation a)
{
    switch (a) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::leaky: return "leaky";
    }
    return "linear";
}

NetworkSpec parseDarknetCfgText(std::string_view text, const std::string& source)
{
    const std::vector<RawSection> sections = splitSections(text, source);
    if (sections.empty() || sections.front().name != "net")
        fail(source, sections.empty() ? 0 : sections.front().line, "the first section must be [net]");

    NetworkSpec spec;
    spec.source = source;
    spec.text = std::string(text);
    {
        SectionReader net(sections.front(), source);
        spec.width = net.integer("width", 512, 32, 8192);
        spec.height = net.integer("height", 288, 32, 8192);
        spec.channels = net.integer("channels", 3, 1, 64);
    }

    std::vector<LayerShape> shapes;
    for (size_t s = 1; s < sections.size(); ++s) {
        const RawSection& raw = sections[s];
        if (raw.name == "net")
            fail(source, raw.line, "[net] may appear only once, as the first section");
        SectionReader reader(raw, source);
        LayerSpec layer;
        layer.index = static_cast<int>(spec.layers.size());
        layer.line = raw.line;
        const LayerShape prev = shapes.empty() ? LayerShape{spec.channels, 1} : shapes.back();
        LayerShape shape = prev;

        if (raw.name == "convolutional") {
            ConvSpec conv;
            conv.batchNormalize = reader.integer("batch_normalize", 0, 0, 1) == 1;
            conv.filters = reader.integer("filters", 0, 1, 65536, true);
            conv.size = reader.integer("size", 1, 1, 15);
            conv.stride = reader.integer("stride", 1, 1, 8);
            if (reader.has("padding"))
                conv.padding = reader.integer("padding", 0, 0, 15);
            else
                conv.padding = reader.integer("pad", 0, 0, 1) == 1 ? (conv.size - 1) / 2 : 0;
            conv.activation = reader.activation("activation");
            shape.channels = conv.filters;
            shape.scale = prev.scale * conv.stride;
            layer.params = conv;
        } else if (raw.name == "maxpool") {
            MaxpoolSpec pool;
            pool.size = reader.integer("size", 2, 1, 16);
            pool.stride = reader.integer("stride", pool.size, 1, 16);
            const bool tiling = pool.size == pool.stride;
            const bool samePadded = pool.stride == 1 && pool.size % 2 == 1;
            if (!tiling && !samePadded)
                reader.error("size", "maxpool size " + std::to_string(pool.size) + " with stride " +
                                         std::to_string(pool.stride) +
                                         " is not supported (use size = stride, or stride 1 with an odd size)");
            shape.scale = prev.scale * pool.stride;
            layer.params = pool;
        } else if (raw.name == "route") {
            RouteSpec route;
            const std::vector<long long> values = reader.integerList("layers");
            if (values.empty() || values.size() > 4)
                reader.error("layers", "'layers' must list 1 to 4 layers");
            shape.channels = 0;
            for (long long v : values) {
                const int absolute = resolveIndex(reader, "layers", v, layer.index);
                route.layers.push_back(absolute);
                if (shape.channels > 0 && shapes[absolute].scale != shape.scale)
                    reader.error("layers", "cannot concatenate layer " + std::to_string(absolute) +
                                               " (downsampled " + std::to_string(shapes[absolute].scale) +
                                               "x) with layer " + std::to_string(route.layers.front()) +
                                               " (downsampled " + std::to_string(shape.scale) +
                                               "x): their sizes differ");
                shape.scale = shapes[absolute].scale;
                shape.channels += shapes[absolute].channels;
            }
            layer.params = route;
        } else if (raw.name == "upsample") {
            UpsampleSpec up;
            up.stride = reader.integer("stride", 2, 1, 8);
            if (prev.scale % up.stride != 0)
                reader.error("stride", "upsampling by " + std::to_string(up.stride) +
                                           " a map downsampled only " + std::to_string(prev.scale) + "x");
            shape.scale = prev.scale / up.stride;
            layer.params = up;
        } else if (raw.name == "shortcut") {
            ShortcutSpec sc;
            sc.from = resolveIndex(reader, "from", reader.integer("from", 0, -100000, 100000, true), layer.index);
            sc.activation = reader.activation("activation");
            if (shapes[sc.from].channels != prev.channels || shapes[sc.from].scale != prev.scale)
                reader.error("from", "shortcut adds layer " + std::to_string(sc.from) + " (" +
                                         std::to_string(shapes[sc.from].channels) +
                                         " channels) to the previous layer (" + std::to_string(prev.channels) +
                                         " channels) but their shapes differ");
            layer.params = sc;
        } else if (raw.name == "yolo") {
            YoloSpec yolo;
            yolo.classes = reader.integer("classes", 0, 1, 10000, true);
            yolo.ignoreThreshold = static_cast<float>(reader.real("ignore_thresh", 0.5, 0.0, 1.0));
            const std::vector<double> values = reader.realList("anchors");
            if (values.empty() || values.size() % 2 != 0)
                reader.error("anchors", "'anchors' must list width,height pairs");
            std::vector<Anchor> all;
            for (size_t i = 0; i < values.size(); i += 2) {
                if (values[i] <= 0 || values[i + 1] <= 0)
                    reader.error("anchors", "anchor sizes must be positive");
                all.push_back({static_cast<float>(values[i]), static_cast<float>(values[i + 1])});
            }
            if (reader.has("mask")) {
                for (long long m : reader.integerList("mask")) {
                    if (m < 0 || m >= static_cast<long long>(all.size()))
                        reader.error("mask", "mask index " + std::to_string(m) + " is outside the " +
                                                 std::to_string(all.size()) + " anchors");
                    yolo.anchors.push_back(all[static_cast<size_t>(m)]);
                }
            } else {
                yolo.anchors = all;
            }
            const int expected = static_cast<int>(yolo.anchors.size()) * (5 + yolo.classes);
            if (prev.channels != expected)
                fail(source, raw.line,
                     "[yolo] expects " + std::to_string(expected) + " input channels (" +
                         std::to_string(yolo.anchors.size()) + " anchors x (5 + " + std::to_string(yolo.classes) +
                         " classes)) but the previous layer gives " + std::to_string(prev.channels));
            layer.params = yolo;
        }
        spec.layers.push_back(std::move(layer));
        shapes.push_back(shape);
    }

    if (spec.yoloIndices().empty())
        fail(source, 0, "the network has no [yolo] layer");
    int classes = spec.numClasses();
    for (const LayerSpec& layer : spec.layers)
        if (layer.isYolo() && layer.yolo().classes != classes)
            fail(source, layer.line, "all [yolo] layers must have the same number of classes");
    return spec;
}

NetworkSpec loadDarknetCfg(const std::filesystem::path& path)
{
    return parseDarknetCfgText(text::readTextFile(path.string(), 16 << 20), path.string());
}

NetworkSpec defaultNetworkSpec()
{
    return parseDarknetCfgText(embeddedConfig("tiny-yolo-dac.cfg"), "<built-in tiny-yolo-dac.cfg>");
}

} // namespace tyq
