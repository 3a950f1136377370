// The network description: a darknet-style .cfg file parsed into plain structs, with every
// reference resolved (route/shortcut indices made absolute) and checked. No LibTorch here, so
// the UI and `tyq info` can reason about a network without building it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tyq {

enum class Activation { linear, relu, leaky };

struct ConvSpec {
    int filters = 0;
    int size = 1;
    int stride = 1;
    int padding = 0;             ///< pixels on each side: (size - 1) / 2 when the cfg says pad=1
    bool batchNormalize = false; ///< BN after the conv; then the conv has no bias
    Activation activation = Activation::linear;
};

struct MaxpoolSpec {
    int size = 2;
    int stride = 2;
};

struct RouteSpec {
    std::vector<int> layers; ///< absolute layer indices; outputs are concatenated on channels
};

struct UpsampleSpec {
    int stride = 2; ///< nearest-neighbour factor
};

struct ShortcutSpec {
    int from = 0; ///< absolute index of the layer added to the previous output
    Activation activation = Activation::linear;
};

struct Anchor {
    float width = 0;  ///< input pixels
    float height = 0; ///< input pixels
};

struct YoloSpec {
    std::vector<Anchor> anchors; ///< the anchors this layer predicts with (after `mask`)
    int classes = 0;
    float ignoreThreshold = 0.5f; ///< anchors above this wh-IoU with a target are not "no object"
};

using LayerParams = std::variant<ConvSpec, MaxpoolSpec, RouteSpec, UpsampleSpec, ShortcutSpec, YoloSpec>;

struct LayerSpec {
    int index = 0; ///< position in the cfg, [net] excluded
    int line = 0;  ///< line of the section header, for messages
    LayerParams params;

    bool isConv() const { return std::holds_alternative<ConvSpec>(params); }
    bool isYolo() const { return std::holds_alternative<YoloSpec>(params); }
    const ConvSpec& conv() const { return std::get<ConvSpec>(params); }
    const YoloSpec& yolo() const { return std::get<YoloSpec>(params); }
    /// "convolutional", "maxpool", ... as in the cfg.
    std::string typeName() const;
};

struct NetworkSpec {
    std::string source; ///< file the spec came from (or a label for embedded text)
    std::string text;   ///< the cfg text itself, stored in checkpoints
    int width = 512;
    int height = 288;
    int channels = 3;
    std::vector<LayerSpec> layers;

    /// Indices of the convolutional layers, in order.
    std::vector<int> convIndices() const;
    /// Indices of the yolo layers, in order.
    std::vector<int> yoloIndices() const;
    /// Number of classes of the (first) yolo layer.
    int numClasses() const;
    /// Total downsampling of the network (input sizes must be multiples of it).
    int requiredInputMultiple() const;
};

/// Checkpoint module name of a conv layer: "module_list.<i>.conv_<i>".
std::string convModuleName(int layerIndex);

/// Parses cfg text. `source` names it in errors. Throws tyq::Error "source:line: problem".
NetworkSpec parseDarknetCfgText(std::string_view text, const std::string& source);

/// Reads and parses a cfg file.
NetworkSpec loadDarknetCfg(const std::filesystem::path& path);

/// The cfg that ships with tyq (config/tiny-yolo-dac.cfg, embedded in the binary).
NetworkSpec defaultNetworkSpec();

const char* activationName(Activation a);

} // namespace tyq
