// Writes the seed corpus of every fuzz target into the folder given (one sub-folder per
// target): tyq's own files (the shipped cfg and bit-widths, options, an experiment, labels, VOC
// XML, small .pth/checkpoint archives and .npy files written by tyq's writers, tiny images),
// so the fuzzers start from valid inputs of each format.
#include "common/embedded_config.h"
#include "data/dataset.h"
#include "io/checkpoint.h"
#include "io/npy.h"
#include "io/state_dict.h"
#include "io/zip_reader.h"
#include "train/experiment.h"
#include "train/train_options.h"

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <iostream>

namespace fs = std::filesystem;

namespace {

void write(const fs::path& file, std::string_view bytes)
{
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}


} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::cerr << "usage: fuzz_make_seeds OUT_DIR\n";
        return 2;
    }
    const fs::path out = argv[1];
    using tyq::embeddedConfig;

    write(out / "darknet_cfg" / "tiny-yolo-dac.cfg", embeddedConfig("tiny-yolo-dac.cfg"));
    write(out / "quant_config" / "lsq-3bit.yaml", embeddedConfig("lsq-3bit.yaml"));

    tyq::TrainOptions options;
    options.set_stepEpochs({60, 80}).set_schedule(tyq::LrSchedule::step);
    tyq::TrainingSources sources{"data/dac.data", "net.cfg", "lsq.yaml", "fp.ckpt"};
    write(out / "train_options" / "options.yaml", tyq::trainOptionsToYaml(options, &sources));
    write(out / "train_options" / "defaults.yaml", tyq::trainOptionsToYaml(tyq::TrainOptions()));

    tyq::Experiment experiment = tyq::defaultExperiment();
    experiment.phase = "lsq";
    experiment.fpCheckpoint = "/fuzz/runs/fp/checkpoints/best.ckpt";
    write(out / "experiment" / "default.tyqexp", tyq::experimentToYaml(experiment, "/fuzz/experiment.tyqexp"));

    write(out / "data_files" / "dac.data", embeddedConfig("dac.data"));
    write(out / "data_files" / "local.data", "classes=12\ntrain=list.txt\nvalid=list.txt\nnames=dac.names\n");
    write(out / "data_files" / "list.txt", "images/a.jpg\n# comment\nimages/b.jpg\n\nimages/missing.jpg\n");

    write(out / "yolo_labels" / "two.txt", "3 0.5 0.5 0.2 0.2\n11 0.1 0.9 0.05 0.1\n");
    write(out / "yolo_labels" / "edge.txt", "0 0.005 0.995 0.01 0.01\r\n");

    const std::vector<tyq::BoxLabel> boxes{{2, 0.5f, 0.5f, 0.25f, 0.5f}, {7, 0.2f, 0.3f, 0.1f, 0.1f}};
    write(out / "voc_xml" / "two.xml", tyq::vocAnnotationXml("a.jpg", 640, 360, boxes, tyq::dacClassNames()));

    // Archives: a state dict as the exporter writes it, and a full checkpoint.
    const tyq::StateDict state{{"module_list.0.conv_0.weight", at::arange(24, at::kFloat).reshape({2, 3, 2, 2})},
                               {"module_list.0.conv_0.quan_w_fn.s", at::full({1}, 0.25f)},
                               {"module_list.0.batch_norm_0.num_batches_tracked", at::scalar_tensor(7, at::kLong)}};
    const fs::path pth = out / "torch_archive" / "state_dict.pth";
    fs::create_directories(pth.parent_path());
    tyq::writeStateDictPth(state, pth);
    tyq::TrainingCheckpoint checkpoint;
    checkpoint.model = state;
    checkpoint.phase = "lsq";
    checkpoint.cfgText = "[net]\n";
    checkpoint.quantYaml = "quan_default: {}\n";
    checkpoint.optimizer = {{"module_list.0.conv_0.weight.step", at::scalar_tensor(3, at::kLong)}};
    checkpoint.epoch = 2;
    checkpoint.batchInEpoch = 1;
    checkpoint.globalBatch = 9;
    checkpoint.rngState = at::zeros({16}, at::kByte);
    const fs::path ckpt = out / "torch_archive" / "checkpoint.ckpt";
    tyq::saveCheckpoint(checkpoint, ckpt);
    // The pickles inside them, for the pickle machine alone.
    for (const fs::path& archive : {pth, ckpt}) {
        const tyq::ZipArchive zip(archive);
        for (const std::string& name : zip.names())
            if (name.size() >= 8 && name.compare(name.size() - 8, 8, "data.pkl") == 0)
                write(out / "pickle" / (archive.stem().string() + ".pkl"), zip.read(name));
    }

    tyq::writeNpy(at::arange(12, at::kFloat).reshape({3, 4}), out / "npy" / "f4.npy");
    tyq::writeNpy(at::arange(5, at::kInt), out / "npy" / "i4.npy");
    tyq::writeNpy(at::scalar_tensor(3, at::kByte), out / "npy" / "u1_scalar.npy");

    cv::Mat image(6, 8, CV_8UC3, cv::Scalar(10, 200, 30));
    image.at<cv::Vec3b>(2, 3) = cv::Vec3b(255, 0, 0);
    std::vector<uchar> bytes;
    for (const char* ext : {".png", ".jpg", ".bmp"}) {
        cv::imencode(ext, image, bytes);
        write(out / "image" / (std::string("tiny") + ext), std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
    return 0;
}
