// The one list of training options. Each entry names a TrainOptions field with its YAML key,
// `tyq train` flag, range, help and how the studio shows it; options.yaml, the CLI's flags and
// the studio's options form are all built from it, so a new option is its field in
// TrainOptions plus one entry here.
#pragma once

#include "train/train_options.h"

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace tyq {

enum class OptionType {
    integer,     ///< int or uint64 fields
    real,        ///< double fields
    real32,      ///< float fields (written as floats, so options.yaml keeps its digits)
    boolean,
    choice,      ///< an enum, by its YAML word
    integerList, ///< e.g. step_epochs: [60, 80]
};

/// How a `tyq train` flag sets its option.
enum class FlagKind {
    value,     ///< --batch-size 32
    setsTrue,  ///< --color-jitter
    setsFalse, ///< --no-flip
};

/// Where the studio's options form shows an option.
enum class FormPlace { main, advanced, none };

/// One value of an enum option: its YAML/CLI word, the studio's label, the enum as int.
struct OptionChoice {
    const char* word;
    const char* label;
    int value;
};

/// An option's value as the table's accessors exchange it.
using OptionValue = std::variant<int64_t, double, bool, std::vector<int>>;

struct OptionSpec {
    const char* yamlKey;  ///< options.yaml key, e.g. "batch_size"
    const char* flag;     ///< CLI11 names, e.g. "--batch-size,-b"; empty: no flag of its own
    FlagKind flagKind;
    const char* label;    ///< the studio's form label
    const char* help;     ///< the CLI help and the form's tooltip
    const char* flagHelp; ///< the CLI help where the flag does not simply set the option (--no-flip), or empty
    OptionType type;
    double min, max;      ///< inclusive range of integer and real values
    const char* rangeText; ///< how errors state the range: "1..4096", "in (0, 10)"
    std::vector<OptionChoice> choices;
    FormPlace form;
    const char* zeroText; ///< the form's text for 0 where 0 means "automatic" ("cfg"), or empty
    double step;          ///< the form's spin step (0: 1 for integers, 0.01 for reals)
    bool lsqOnly;         ///< only meaningful in the LSQ phase (the form disables it for fp)
    std::function<OptionValue(const TrainOptions&)> get;
    std::function<void(TrainOptions&, const OptionValue&)> set;

    /// The YAML/CLI word of a choice option's current value.
    std::string choiceWord(const TrainOptions& options) const;
    /// The value of a word (throws tyq::Error naming `where` and the words allowed).
    int choiceValue(const std::string& word, const std::string& where) const;
    /// The value as text: "0.001", "true", "cosine", "60,80".
    std::string text(const TrainOptions& options) const;
};

/// Every option, in options.yaml's order.
const std::vector<OptionSpec>& trainOptionTable();

/// The entry for a YAML key, or null.
const OptionSpec* findTrainOption(const std::string& yamlKey);

/// Parses `text` (a flag's argument) for `spec` and sets it, range-checked. Throws tyq::Error
/// naming `where` ("--lr") and the problem.
void setTrainOptionFromText(TrainOptions& options, const OptionSpec& spec, const std::string& text,
                            const std::string& where);

/// Throws tyq::Error "<key> must be <range>" if the option's value is out of its range.
void checkTrainOptionRange(const TrainOptions& options, const OptionSpec& spec);

} // namespace tyq
