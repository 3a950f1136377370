// An experiment: what the studio trains and inspects, saved as one file (.tyqexp, YAML): the
// dataset, the network cfg, the bit-widths, the phase (fp, or LSQ from an fp checkpoint), the
// training options and where runs go. Paths are stored relative to the file where possible,
// so an experiment folder can move.
#pragma once

#include "train/train_options.h"

#include <filesystem>
#include <string>

namespace tyq {

struct Experiment {
    std::filesystem::path dataFile = "data/sample/dac.data";
    std::filesystem::path cfgFile;     ///< empty = the built-in cfg
    std::filesystem::path quantFile;   ///< empty = the built-in lsq-3bit.yaml
    std::string phase = "fp";          ///< fp | lsq
    std::filesystem::path fpCheckpoint; ///< LSQ phase starts from it
    std::filesystem::path runsRoot = "exps";
    int processes = 1;                 ///< > 1: a data-parallel job on this machine (dist/)
    TrainOptions options;

    bool operator==(const Experiment& o) const;
    bool operator!=(const Experiment& o) const { return !(*this == o); }
};

/// The studio's default: the sample dataset, built-in cfg and bit-widths, fp phase, and the
/// reference's options scaled for a CPU (batch 16, 30 epochs).
Experiment defaultExperiment();

std::string experimentToYaml(const Experiment& experiment, const std::filesystem::path& savedAt = {});
/// Relative paths in the file resolve against the file's folder.
Experiment parseExperimentYaml(const std::string& yaml, const std::filesystem::path& source);
Experiment loadExperiment(const std::filesystem::path& path);
/// Writes atomically.
void saveExperiment(const Experiment& experiment, const std::filesystem::path& path);

} // namespace tyq
