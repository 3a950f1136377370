// tyq train: full-precision or LSQ training into a run folder, resumable; Ctrl-C stops cleanly.
#include "cli/commands.h"

#include "cli/console_observer.h"
#include "cli/rank_launcher.h"
#include "common/error.h"
#include "dist/collective.h"
#include "train/option_table.h"
#include "train/trainer.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <map>
#include <memory>
#include <set>

namespace tyq::cli {
namespace {

struct TrainCommandOptions {
    TrainingSources sources;
    std::string optionsFile;
    std::string out;
    std::string resume;
    // The option table's flags, as given, by YAML key (std::map: the addresses CLI11 holds stay put).
    std::map<std::string, std::string> values;
    std::map<std::string, std::vector<std::string>> lists;
    std::map<std::string, bool> switches;
    std::map<std::string, const CLI::Option*> flags;
    // Data parallelism: --nproc starts the ranks here; the other three make this process one.
    int nproc = 0;
    int worldSize = 0;
    int rank = -1;
    std::string master;
    double distTimeout = 60;
};

/// Applies the table's flags that were given to `options` (they override an options file).
void applyGivenFlags(const TrainCommandOptions& o, TrainOptions& options)
{
    for (const OptionSpec& spec : trainOptionTable()) {
        const auto flag = o.flags.find(spec.yamlKey);
        if (flag == o.flags.end() || flag->second->count() == 0)
            continue;
        const std::string where = flag->second->get_name();
        if (spec.flagKind == FlagKind::setsTrue || spec.flagKind == FlagKind::setsFalse) {
            spec.set(options, spec.flagKind == FlagKind::setsTrue);
        } else if (spec.type == OptionType::integerList) {
            std::string joined;
            for (const std::string& part : o.lists.at(spec.yamlKey))
                joined += (joined.empty() ? "" : ",") + part;
            setTrainOptionFromText(options, spec, joined, where);
        } else {
            setTrainOptionFromText(options, spec, o.values.at(spec.yamlKey), where);
        }
    }
}

Trainer* g_activeTrainer = nullptr;
std::atomic<int> g_interrupts{0};

void onInterrupt(int)
{
    // First Ctrl-C: stop after the batch with a checkpoint. Second: leave at once.
    if (g_interrupts.fetch_add(1) >= 1)
        std::_Exit(130);
    if (g_activeTrainer)
        g_activeTrainer->requestStop();
}

std::string defaultRunName(const std::string& phase)
{
    const std::time_t t = std::time(nullptr);
    std::tm local{};
    localtime_r(&t, &local);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y%m%d-%H%M%S", &local);
    return "exps/" + phase + "-" + buffer;
}

void run(TrainCommandOptions o, const CLI::App& cmd, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    if (o.nproc > 0 && (o.worldSize > 0 || o.rank >= 0 || !o.master.empty()))
        throw Error("--nproc starts the ranks itself: drop --world-size, --rank and --master");
    if (o.nproc == 1)
        o.nproc = 0; // one process: an ordinary run
    if (o.nproc > 1) {
        LocalJob local;
        local.processes = o.nproc;
        local.runDir = o.resume.empty() ? std::filesystem::path(o.out) : std::filesystem::path(o.resume);
        if (o.resume.empty() && o.out.empty()) {
            // Every rank must see the same folder: name it once, here.
            local.runDir = defaultRunName(o.sources.quantFile.empty() ? "fp" : "lsq");
            local.extraArguments = {"--out", local.runDir.string()};
        }
        setExitCode(runLocalJob(local));
        return;
    }
    const bool distributed = o.worldSize > 0 || o.rank >= 0 || !o.master.empty();
    if (distributed && (o.worldSize < 1 || o.rank < 0 || o.master.empty()))
        throw Error("a data-parallel rank needs all of --world-size, --rank and --master HOST:PORT");
    TrainingJob job;
    if (!o.resume.empty()) {
        job.resume = true;
        job.runDir = o.resume;
        if (cmd.count("--epochs")) {
            TrainOptions epochs;
            setTrainOptionFromText(epochs, *findTrainOption("epochs"), o.values.at("epochs"), "--epochs");
            job.resumeEpochs = epochs.epochs;
        }
    } else {
        TrainOptions options = o.optionsFile.empty() ? TrainOptions{} : loadTrainOptions(o.optionsFile);
        applyGivenFlags(o, options);
        options.threads = global.threads;
        job.options = options;
        job.sources = o.sources;
        if (!job.sources.quantFile.empty() && job.sources.initWeights.empty())
            throw Error("LSQ training (--quant) starts from a full-precision checkpoint: add --from FP_CHECKPOINT");
        job.runDir = o.out.empty() ? defaultRunName(job.sources.quantFile.empty() ? "fp" : "lsq") : o.out;
        if (!std::filesystem::exists(job.sources.dataFile))
            throw Error(job.sources.dataFile.string() +
                        ": dataset not found (create the sample with: tyq gen-data --out data/sample)");
    }

    if (distributed && o.worldSize > 1) {
        CollectiveOptions c;
        c.worldSize = o.worldSize;
        c.rank = o.rank;
        parseMasterAddress(o.master, &c.masterHost, &c.masterPort);
        c.timeout = std::chrono::milliseconds(static_cast<int64_t>(o.distTimeout * 1000));
        spdlog::info("rank {} of {}: joining the job at {}", o.rank, o.worldSize, o.master);
        job.collective = Collective::connect(c);
    } else if (distributed && o.rank != 0) {
        throw Error(fmt::format("--rank {} is not in a world of size {}", o.rank, o.worldSize));
    }

    ConsoleObserver observer(global.quiet);
    Trainer trainer(job, &observer);
    g_activeTrainer = &trainer;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    const RunSummary summary = trainer.run();
    g_activeTrainer = nullptr;
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (summary.outcome == RunOutcome::failed)
        setExitCode(1);
    else if (summary.outcome == RunOutcome::stopped)
        setExitCode(3);
}

} // namespace

void registerTrainCommand(CLI::App& app, const GlobalOptions& global)
{
    auto o = std::make_shared<TrainCommandOptions>();
    o->sources.dataFile = "data/sample/dac.data";
    CLI::App* cmd = app.add_subcommand("train", "Train full precision, or LSQ from an fp checkpoint; or resume a run");
    cmd->add_option("--data", o->sources.dataFile, "Dataset .data file")->capture_default_str();
    cmd->add_option("--cfg", o->sources.cfgFile, "Network cfg (default: the built-in tiny-yolo-dac.cfg)")->check(CLI::ExistingFile);
    cmd->add_option("--quant", o->sources.quantFile, "Bit-width YAML: train LSQ (needs --from)")->check(CLI::ExistingFile);
    cmd->add_option("--from", o->sources.initWeights,
                    "Initial weights: the fp checkpoint LSQ starts from (tyq checkpoint or reference .pth)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--out,-o", o->out, "Run folder (default: exps/<phase>-<date>-<time>)");
    cmd->add_option("--resume", o->resume, "Continue the run in this folder (--epochs may raise its length)");
    cmd->add_option("--options", o->optionsFile, "Options YAML (e.g. a run's options.yaml); flags override it")
        ->check(CLI::ExistingFile);
    // Every training option with a flag, from the one table (ranges are checked when applied).
    const TrainOptions defaults;
    for (const OptionSpec& spec : trainOptionTable()) {
        if (*spec.flag == '\0')
            continue;
        const char* help = *spec.flagHelp ? spec.flagHelp : spec.help;
        CLI::Option* option = nullptr;
        if (spec.flagKind != FlagKind::value) {
            option = cmd->add_flag(spec.flag, o->switches[spec.yamlKey], help);
        } else if (spec.type == OptionType::integerList) {
            option = cmd->add_option(spec.flag, o->lists[spec.yamlKey], help)->delimiter(',')->type_name("INT");
        } else {
            option = cmd->add_option(spec.flag, o->values[spec.yamlKey], help)->default_str(spec.text(defaults));
            option->type_name(spec.type == OptionType::integer ? "INT" : spec.type == OptionType::choice ? "TEXT" : "FLOAT");
            if (spec.type == OptionType::choice) {
                std::vector<std::string> words;
                for (const OptionChoice& c : spec.choices)
                    words.push_back(c.word);
                option->check(CLI::IsMember(words));
            }
        }
        o->flags[spec.yamlKey] = option;
    }
    const char* distributed = "Data parallelism (c10d Gloo over TCP; --batch-size is per process)";
    cmd->add_option("--nproc", o->nproc,
                    "Train with N processes on this machine, as one job (each with --threads compute threads)")
        ->check(CLI::Range(1, 256))
        ->group(distributed);
    cmd->add_option("--world-size", o->worldSize, "Processes of the job, over all hosts (with --rank and --master)")
        ->check(CLI::Range(1, 65536))
        ->group(distributed);
    cmd->add_option("--rank", o->rank, "This process's rank, 0..world-size-1; rank 0 writes the run folder")
        ->check(CLI::Range(0, 65535))
        ->group(distributed);
    cmd->add_option("--master", o->master, "HOST:PORT where rank 0 listens for the rendezvous")->group(distributed);
    cmd->add_option("--dist-timeout", o->distTimeout,
                    "Seconds a rank waits for the others (rendezvous, each collective) before the job ends")
        ->check(CLI::Range(1.0, 86400.0))
        ->capture_default_str()
        ->group(distributed);
    cmd->callback([o, cmd, &global] {
        if (!o->resume.empty()) {
            static const std::set<std::string> allowed{"--resume", "--epochs",     "--help",  "--nproc",
                                                       "--rank",   "--world-size", "--master", "--dist-timeout"};
            for (const CLI::Option* option : cmd->get_options()) {
                const std::string name = option->get_name();
                if (option->count() > 0 && !allowed.count(name))
                    throw Error("--resume continues a run with its recorded settings; " + name +
                                " cannot be changed (only --epochs)");
            }
        }
        run(*o, *cmd, global);
    });
}

} // namespace tyq::cli
