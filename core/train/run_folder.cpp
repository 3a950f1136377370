#include "train/run_folder.h"

#include "common/atomic_file.h"
#include "common/csv_table.h"
#include "common/error.h"
#include "common/text.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iterator>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace tyq {
namespace {

const char* kBatchColumns =
    "epoch,batch,batch_in_epoch,images,loss,x,y,w,h,conf_obj,conf_noobj,cls,cls_acc,recall50,recall75,precision,"
    "conf_obj_mean,conf_noobj_mean,lr,seconds";
const char* kEpochColumns = "epoch,map,iou,contest_iou,precision,recall,f1,train_loss,seconds";

} // namespace

std::string nowIso8601()
{
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm local{};
    localtime_r(&t, &local);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &local);
    return buffer;
}

RunFolder::RunFolder(const std::filesystem::path& dir, bool resume) : dir_(dir)
{
    std::error_code ec;
    if (!resume && std::filesystem::exists(dir_ / "run.json", ec))
        fail(dir_, "already holds a run; resume it with --resume, or choose another output folder");
    if (resume && !std::filesystem::exists(dir_ / "run.json", ec))
        fail(dir_, "is not a run folder (no run.json)");
    std::filesystem::create_directories(dir_ / "checkpoints", ec);
    if (ec)
        fail(dir_, "cannot create the run folder: " + ec.message());

    const std::filesystem::path lock = dir_ / ".lock";
    lockFd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockFd_ < 0)
        fail(lock, std::string("cannot open: ") + std::strerror(errno));
    if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lockFd_);
        lockFd_ = -1;
        fail(dir_, "another training is using this run folder");
    }
    // A run killed mid-write leaves its temporary file (".name.tmp.<pid>"); with the lock held no
    // one else can be writing here, so they are debris.
    for (const std::filesystem::path& folder : {dir_, dir_ / "checkpoints"}) {
        for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
            const std::string name = entry.path().filename().string();
            if (name.size() > 1 && name[0] == '.' && name.find(".tmp.") != std::string::npos)
                std::filesystem::remove(entry.path(), ec);
        }
    }
}

RunFolder::~RunFolder()
{
    if (lockFd_ >= 0) {
        ::flock(lockFd_, LOCK_UN);
        ::close(lockFd_);
    }
}

std::filesystem::path RunFolder::periodicCheckpoint(int64_t epoch) const
{
    return checkpointDir() / fmt::format("epoch_{:04d}.ckpt", epoch);
}

void RunFolder::writeSetup(const std::string& cfgText, const std::string& quantYaml, const std::string& optionsYaml)
{
    writeFileAtomically(dir_ / "network.cfg", cfgText);
    if (!quantYaml.empty())
        writeFileAtomically(dir_ / "quant.yaml", quantYaml);
    writeFileAtomically(dir_ / "options.yaml", optionsYaml);
}

void RunFolder::prepareTables(const std::vector<std::string>& quantizers, const std::vector<std::string>& classNames,
                              int64_t batchesDone, int64_t epochsDone)
{
    quantizers_ = quantizers;
    classNames_ = classNames;
    const std::filesystem::path batches = dir_ / "batches.csv";
    const std::filesystem::path epochs = dir_ / "epochs.csv";
    std::error_code ec;
    if (std::filesystem::exists(batches, ec))
        truncateCsv(batches, 1, static_cast<double>(batchesDone));
    else {
        std::string header = kBatchColumns;
        for (const std::string& q : quantizers_)
            header += ",s:" + q;
        appendLines(batches, {header});
    }
    if (std::filesystem::exists(epochs, ec))
        truncateCsv(epochs, 0, static_cast<double>(epochsDone) + 0.5);
    else {
        std::string header = kEpochColumns;
        for (const std::string& name : classNames_)
            header += ",ap:" + name;
        appendLines(epochs, {header});
    }
}

void RunFolder::appendBatch(const BatchReport& r)
{
    std::string row = fmt::format("{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.4g},{:.4g},{:.4g},{:.4g},"
                                  "{:.4g},{:.4g},{:.6g},{:.4f}",
                                  r.epoch, r.globalBatch, r.batchInEpoch, r.images, r.loss, r.x, r.y, r.w, r.h, r.confObj,
                                  r.confNoobj, r.cls, r.classAccuracy, r.recall50, r.recall75, r.precision,
                                  r.meanConfObj, r.meanConfNoobj, r.learningRate, r.seconds);
    for (const StepSize& s : r.stepSizes)
        row += fmt::format(",{:.8g}", s.value);
    // Buffered a few rows at a time: one fsync per batch would cost more than small batches.
    pendingBatchRows_.push_back(std::move(row));
    if (pendingBatchRows_.size() >= 8 || r.batchInEpoch + 1 == r.batchesPerEpoch) {
        appendLines(dir_ / "batches.csv", pendingBatchRows_);
        pendingBatchRows_.clear();
    }
}

void RunFolder::appendEpoch(const EvalReport& r, double trainLoss, double seconds)
{
    if (!pendingBatchRows_.empty()) {
        appendLines(dir_ / "batches.csv", pendingBatchRows_);
        pendingBatchRows_.clear();
    }
    const EvaluationResult& m = r.metrics;
    std::string row = fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6g},{:.2f}", r.epoch, m.mAP,
                                  m.referenceIoU, m.contestIoU, m.precision, m.recall, m.f1, trainLoss, seconds);
    for (size_t c = 0; c < classNames_.size(); ++c) {
        auto it = std::find_if(m.perClass.begin(), m.perClass.end(),
                               [&](const ClassMetrics& cm) { return cm.classId == static_cast<int>(c); });
        row += it == m.perClass.end() ? "," : fmt::format(",{:.6f}", it->ap);
    }
    appendLines(dir_ / "epochs.csv", {row});
}

void RunFolder::writeStatus(const RunStatus& s)
{
    if (!pendingBatchRows_.empty()) {
        appendLines(dir_ / "batches.csv", pendingBatchRows_);
        pendingBatchRows_.clear();
    }
    const nlohmann::json j = {{"phase", s.phase},         {"state", s.state},         {"epochs_done", s.epochsDone},
                              {"epochs", s.epochs},       {"best_map", s.bestMap},    {"best_iou", s.bestIoU},
                              {"best_contest_iou", s.bestContestIoU}, {"best_epoch", s.bestEpoch},
                              {"last_map", s.lastMap},    {"started", s.started},     {"updated", s.updated},
                              {"message", s.message}};
    writeFileAtomically(dir_ / "run.json", j.dump(2) + "\n");
}

void RunFolder::appendLog(const std::string& line)
{
    appendLines(dir_ / "train.log", {"[" + nowIso8601() + "] " + line});
}

RunHistory readRunHistory(const std::filesystem::path& runDir)
{
    RunHistory h;
    h.start.runDir = runDir;
    const CsvTable batches = readCsv(runDir / "batches.csv");
    struct Field {
        const char* column;
        double BatchReport::*member;
    };
    static const Field fields[] = {
        {"loss", &BatchReport::loss},         {"x", &BatchReport::x},
        {"y", &BatchReport::y},               {"w", &BatchReport::w},
        {"h", &BatchReport::h},               {"conf_obj", &BatchReport::confObj},
        {"conf_noobj", &BatchReport::confNoobj}, {"cls", &BatchReport::cls},
        {"cls_acc", &BatchReport::classAccuracy}, {"recall50", &BatchReport::recall50},
        {"recall75", &BatchReport::recall75}, {"precision", &BatchReport::precision},
        {"conf_obj_mean", &BatchReport::meanConfObj}, {"conf_noobj_mean", &BatchReport::meanConfNoobj},
        {"lr", &BatchReport::learningRate},   {"seconds", &BatchReport::seconds},
    };
    const int epochCol = batches.column("epoch"), batchCol = batches.column("batch"),
              inEpochCol = batches.column("batch_in_epoch"), imagesCol = batches.column("images");
    std::vector<std::pair<std::string, size_t>> stepColumns;
    for (size_t c = 0; c < batches.columns.size(); ++c)
        if (batches.columns[c].rfind("s:", 0) == 0) {
            h.start.quantizers.push_back(batches.columns[c].substr(2));
            stepColumns.emplace_back(batches.columns[c].substr(2), c);
        }
    auto cell = [](const std::vector<double>& row, int c) {
        return c >= 0 && static_cast<size_t>(c) < row.size() ? row[static_cast<size_t>(c)] : 0.0;
    };
    std::vector<int> fieldCols;
    for (const Field& f : fields)
        fieldCols.push_back(batches.column(f.column));
    int64_t perEpoch = 1;
    if (epochCol >= 0 && inEpochCol >= 0) {
        for (const auto& row : batches.rows) {
            BatchReport b;
            b.epoch = static_cast<int64_t>(cell(row, epochCol));
            b.globalBatch = static_cast<int64_t>(cell(row, batchCol));
            b.batchInEpoch = static_cast<int64_t>(cell(row, inEpochCol));
            b.images = static_cast<int>(cell(row, imagesCol));
            for (size_t k = 0; k < std::size(fields); ++k)
                b.*(fields[k].member) = cell(row, fieldCols[k]);
            for (const auto& [name, c] : stepColumns)
                b.stepSizes.push_back({name, cell(row, static_cast<int>(c))});
            perEpoch = std::max(perEpoch, b.batchInEpoch + 1);
            h.batches.push_back(std::move(b));
        }
    }
    h.start.batchesPerEpoch = perEpoch;
    for (BatchReport& b : h.batches)
        b.batchesPerEpoch = perEpoch;

    if (!std::filesystem::exists(runDir / "epochs.csv"))
        return h;
    const CsvTable epochs = readCsv(runDir / "epochs.csv");
    const int e = epochs.column("epoch");
    if (e < 0)
        return h;
    const int mapCol = epochs.column("map"), iouCol = epochs.column("iou"), contestCol = epochs.column("contest_iou"),
              precisionCol = epochs.column("precision"), recallCol = epochs.column("recall"),
              f1Col = epochs.column("f1"), secondsCol = epochs.column("seconds");
    std::vector<size_t> apCols; // "ap:<name>" per class, in class order
    for (size_t c = 0; c < epochs.columns.size(); ++c)
        if (epochs.columns[c].rfind("ap:", 0) == 0)
            apCols.push_back(c);
    for (const auto& row : epochs.rows) {
        EvalReport r;
        r.epoch = static_cast<int64_t>(cell(row, e));
        r.metrics.mAP = cell(row, mapCol);
        r.metrics.referenceIoU = cell(row, iouCol);
        r.metrics.contestIoU = cell(row, contestCol);
        r.metrics.precision = cell(row, precisionCol);
        r.metrics.recall = cell(row, recallCol);
        r.metrics.f1 = cell(row, f1Col);
        r.seconds = cell(row, secondsCol);
        for (size_t classId = 0; classId < apCols.size(); ++classId) {
            const size_t c = apCols[classId];
            if (c < row.size() && !std::isnan(row[c])) {
                ClassMetrics m;
                m.classId = static_cast<int>(classId);
                m.ap = row[c];
                r.metrics.perClass.push_back(m);
            }
        }
        h.evaluations.push_back(std::move(r));
    }
    return h;
}

RunStatus readRunStatus(const std::filesystem::path& runDir)
{
    const std::filesystem::path file = runDir / "run.json";
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text::readTextFile(file.string(), 1 << 20));
    } catch (const nlohmann::json::exception& e) {
        fail(file, std::string("malformed: ") + e.what());
    }
    RunStatus s;
    try {
        s.phase = j.value("phase", "");
        s.state = j.value("state", "");
        s.epochsDone = j.value("epochs_done", int64_t(0));
        s.epochs = j.value("epochs", int64_t(0));
        s.bestMap = j.value("best_map", -1.0);
        s.bestIoU = j.value("best_iou", -1.0);
        s.bestContestIoU = j.value("best_contest_iou", -1.0);
        s.bestEpoch = j.value("best_epoch", int64_t(0));
        s.lastMap = j.value("last_map", -1.0);
        s.started = j.value("started", "");
        s.updated = j.value("updated", "");
        s.message = j.value("message", "");
    } catch (const nlohmann::json::exception& e) {
        fail(file, std::string("malformed: ") + e.what());
    }
    return s;
}

std::vector<std::filesystem::path> listRuns(const std::filesystem::path& root)
{
    std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> runs;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
        if (entry.is_directory(ec) && std::filesystem::exists(entry.path() / "run.json", ec))
            runs.emplace_back(std::filesystem::last_write_time(entry.path() / "run.json", ec), entry.path());
    }
    std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::filesystem::path> out;
    for (auto& r : runs)
        out.push_back(r.second);
    return out;
}

const char* runOutcomeName(RunOutcome outcome)
{
    switch (outcome) {
    case RunOutcome::finished: return "finished";
    case RunOutcome::stopped: return "stopped";
    case RunOutcome::failed: return "failed";
    }
    return "finished";
}

} // namespace tyq
