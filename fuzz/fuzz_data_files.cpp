// The dataset description readers that take paths: the input is written once as a .data file
// (loadDataConfig) and once as a list of images (loadDatasetList, lenient and strict), in a
// scratch folder that holds a names file, one image and its label.
#include "fuzz_support.h"
#include "common/error.h"
#include "data/dataset.h"

namespace {

void prepareFolder()
{
    static const bool done = [] {
        std::string names;
        for (const std::string& n : tyq::dacClassNames())
            names += n + "\n";
        tyq::fuzz::writeScratch("dac.names", names);
        tyq::fuzz::writeScratch("images/a.jpg", "not decoded here");
        tyq::fuzz::writeScratch("labels/a.txt", "3 0.5 0.5 0.2 0.2\n");
        tyq::fuzz::writeScratch("images/b.jpg", "not decoded here");
        tyq::fuzz::writeScratch("images/b.xml", "<annotation><size><width>10</width><height>10</height></size>"
                                                "<object><name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
                                                "<xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>");
        return true;
    }();
    (void)done;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    prepareFolder();
    const std::string_view text = tyq::fuzz::asText(data, size);
    const std::filesystem::path dataFile = tyq::fuzz::writeScratch("fuzz.data", text);
    try {
        (void)tyq::loadDataConfig(dataFile);
    } catch (const tyq::Error&) {
    }
    const std::filesystem::path list = tyq::fuzz::writeScratch("list.txt", text);
    for (bool strict : {false, true}) {
        tyq::DatasetLoadOptions options;
        options.numClasses = 12;
        options.classNames = tyq::dacClassNames();
        options.strict = strict;
        try {
            (void)tyq::loadDatasetList(list, options);
        } catch (const tyq::Error&) {
        }
    }
    return 0;
}
