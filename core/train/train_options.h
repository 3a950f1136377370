// Everything that shapes a training run, as one options struct in the style of LibTorch's
// (one documented field per setting, default beside it, chainable setters). Saved with every
// run as options.yaml, loaded back to resume, overridable field by field from the CLI or GUI;
// train/option_table.h lists each field's key, flag, range and help for all three.
#pragma once

#include "model/precision.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tyq {

enum class LrSchedule { constant, cosine, step };

/// How LSQ activation step sizes start: the reference's constant 0.1260, or LSQ's data-driven
/// 2 mean|x| / sqrt(Qp) measured on the first training batch.
enum class ActivationStepInit { constant, data };

#define TYQ_OPTION(Type, name, initial)                                                             \
    Type name = initial;                                                                           \
    auto& set_##name(Type value)                                                                   \
    {                                                                                              \
        name = std::move(value);                                                                   \
        return *this;                                                                              \
    }

struct TrainOptions {
    TYQ_OPTION(int, epochs, 100)                 ///< epochs to train in total
    TYQ_OPTION(int, batchSize, 64)               ///< images per batch
    TYQ_OPTION(int, gradientAccumulation, 2)     ///< batches per optimizer step
    TYQ_OPTION(double, learningRate, 1e-3)       ///< Adam learning rate
    TYQ_OPTION(double, beta1, 0.9)               ///< Adam beta1
    TYQ_OPTION(double, beta2, 0.999)             ///< Adam beta2
    TYQ_OPTION(double, weightDecay, 0.0)         ///< Adam L2 weight decay (reference: none)
    TYQ_OPTION(LrSchedule, schedule, LrSchedule::constant) ///< learning-rate schedule over the run
    TYQ_OPTION(std::vector<int>, stepEpochs, {})  ///< step schedule: epochs where lr is multiplied by stepGamma
    TYQ_OPTION(double, stepGamma, 0.1)           ///< step schedule factor
    TYQ_OPTION(double, minLearningRate, 0.0)     ///< cosine schedule floor
    TYQ_OPTION(int, inputWidth, 0)               ///< network input width; 0 = the cfg's
    TYQ_OPTION(int, inputHeight, 0)              ///< network input height; 0 = the cfg's
    TYQ_OPTION(int, threads, 0)                  ///< compute threads; 0 = every core
    TYQ_OPTION(uint64_t, seed, 1)                ///< seeds initialization, shuffling and augmentation
    TYQ_OPTION(int, evalInterval, 2)             ///< evaluate every N epochs (and after the last)
    TYQ_OPTION(int, checkpointInterval, 2)       ///< keep a periodic checkpoint every N epochs
    TYQ_OPTION(float, evalConfThreshold, 0.5f)   ///< evaluation objectness threshold
    TYQ_OPTION(float, evalNmsThreshold, 0.5f)    ///< evaluation NMS threshold
    TYQ_OPTION(float, evalIouThreshold, 0.5f)    ///< IoU for a true positive
    TYQ_OPTION(bool, flip, true)                 ///< horizontal flip with p = 0.5 (the reference's)
    TYQ_OPTION(bool, colorJitter, false)         ///< random brightness/saturation/hue
    TYQ_OPTION(bool, multiScale, false)          ///< random input size per batch (+-3 steps of 32)
    TYQ_OPTION(int, loaderThreads, 2)            ///< threads decoding and augmenting images
    TYQ_OPTION(int, prefetchBatches, 3)          ///< batches prepared ahead of the trainer
    TYQ_OPTION(bool, strictData, false)          ///< a bad label or image stops the run
    TYQ_OPTION(ActivationStepInit, activationStepInit, ActivationStepInit::constant) ///< LSQ phase
    TYQ_OPTION(Precision, precision, Precision::fp32) ///< of the training convolutions (model/precision.h); evaluation stays fp32
    TYQ_OPTION(bool, syncBatchNorm, false)       ///< data-parallel runs: batch-norm statistics over the global batch
    TYQ_OPTION(bool, fastKernels, true)          ///< the fast path (NetworkExecution::forTraining, the inference engine for evaluation): same numbers to float rounding
};

#undef TYQ_OPTION

/// What a run trains from and into; recorded in the run folder next to the options.
struct TrainingSources {
    std::filesystem::path dataFile;    ///< the .data file
    std::filesystem::path cfgFile;     ///< empty = the built-in cfg
    std::filesystem::path quantFile;   ///< set = LSQ phase with these bit-widths
    std::filesystem::path initWeights; ///< LSQ: the fp checkpoint to start from; fp: optional init
};

/// YAML with every option (and the sources, if given) under readable keys.
std::string trainOptionsToYaml(const TrainOptions& options, const TrainingSources* sources = nullptr);

/// Parses YAML written by trainOptionsToYaml (missing keys keep their defaults). Throws
/// tyq::Error naming `source`, the key and the problem (unknown key, wrong type, out of range).
TrainOptions parseTrainOptionsYaml(const std::string& yaml, const std::string& source, TrainingSources* sources = nullptr);
TrainOptions loadTrainOptions(const std::filesystem::path& path, TrainingSources* sources = nullptr);

/// Throws tyq::Error if a value is out of range (batch size < 1, lr <= 0, ...): each option's
/// range from the table, then the rules that tie options together.
void validateTrainOptions(const TrainOptions& options);

/// The learning rate of the schedule at a point of the run.
double learningRateAt(const TrainOptions& options, int64_t epoch, int64_t globalBatch, int64_t totalBatches);

} // namespace tyq
