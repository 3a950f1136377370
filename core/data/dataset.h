// Datasets in the reference's layout (a .data file, list files of image paths, YOLO label files
// found by the images -> labels rewrite) and in the contest's (one Pascal-VOC XML per image).
// Every problem is reported with the file, the line and what is wrong; loading skips and counts
// bad samples unless `strict` makes them fatal.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tyq {

/// One object, YOLO-normalized (0..1 of the image size).
struct BoxLabel {
    int classId = 0;
    float cx = 0, cy = 0, w = 0, h = 0;
};

struct Sample {
    std::filesystem::path image;
    std::filesystem::path labelFile; ///< .txt or .xml it was read from
    std::vector<BoxLabel> labels;
};

/// A `.data` file: classes, train and valid list files, names file.
struct DataConfig {
    std::filesystem::path source;      ///< the .data file itself
    int classes = 0;
    std::filesystem::path trainList;   ///< resolved (see loadDataConfig)
    std::filesystem::path validList;
    std::filesystem::path namesFile;
    std::vector<std::string> classNames; ///< read from namesFile; size == classes
};

/// Reads a .data file. Relative paths are resolved against the .data file's folder, or, when
/// nothing exists there, against the current folder (the reference's convention).
/// Throws tyq::Error naming the file, line and problem (missing key, bad number, class count
/// that disagrees with the names file, missing names file).
DataConfig loadDataConfig(const std::filesystem::path& dataFile);

/// The class names of a names file (one per line, blank lines ignored).
std::vector<std::string> loadClassNames(const std::filesystem::path& namesFile);

/// The YOLO label path of an image: the last "images" path component becomes "labels" and the
/// extension becomes ".txt" (data/images/a.jpg -> data/labels/a.txt).
std::filesystem::path yoloLabelPathFor(const std::filesystem::path& image);

/// Reads a YOLO label file ("class cx cy w h" per line, normalized). Throws tyq::Error naming
/// the file and line for: non-numbers, wrong field count, class outside 0..numClasses-1, a box
/// outside the image (centre outside 0..1, or extending more than 1% past an edge) or empty.
std::vector<BoxLabel> readYoloLabels(const std::filesystem::path& file, int numClasses);
/// The same on text already in memory; `source` names it in errors.
std::vector<BoxLabel> parseYoloLabels(std::string_view content, const std::filesystem::path& source, int numClasses);

/// Reads a Pascal-VOC XML annotation (<size>, <object><name>, <bndbox> xmin ymin xmax ymax in
/// pixels) into normalized labels; class names are looked up in `classNames`. Throws tyq::Error
/// naming the file and the problem (malformed XML, unknown class, box outside the image).
std::vector<BoxLabel> readVocAnnotation(const std::filesystem::path& file, const std::vector<std::string>& classNames);
/// The same on XML already in memory; `source` names it in errors.
std::vector<BoxLabel> parseVocAnnotation(std::string_view content, const std::filesystem::path& source,
                                         const std::vector<std::string>& classNames);

/// Writes a VOC XML annotation (used by the synthetic generator and converters).
std::string vocAnnotationXml(const std::string& imageFileName, int width, int height,
                             const std::vector<BoxLabel>& labels, const std::vector<std::string>& classNames);

struct DatasetLoadOptions {
    int numClasses = 12;
    std::vector<std::string> classNames; ///< needed for VOC XML labels
    bool strict = false;                 ///< first bad sample throws instead of being skipped
    bool checkImagesExist = true;
};

struct LoadedDataset {
    std::vector<Sample> samples;
    std::vector<std::string> problems; ///< one message per skipped sample ("path:line: problem")
    int skipped = 0;
};

/// The label file of an image by the rules below (the YOLO .txt at the images -> labels
/// rewrite, else a VOC .xml beside the image or in an annotations folder), or empty.
std::filesystem::path findLabelFile(const std::filesystem::path& image);
/// Reads a label file found by findLabelFile (YOLO .txt or VOC .xml); throws tyq::Error naming it.
std::vector<BoxLabel> readLabelFile(const std::filesystem::path& file, const DatasetLoadOptions& options);

/// Reads a list file (one image path per line; relative paths are relative to the list file's
/// folder, falling back to the current folder). Labels come from the YOLO .txt next to the
/// `labels` folder, else from a .xml beside the image, at the images -> annotations rewrite, or
/// in an `annotations` (or `Annotations`) folder beside the image's folder.
/// An image without any label file, or with a bad one, is skipped and reported (or throws
/// when strict). Throws tyq::Error if the list itself cannot be read.
LoadedDataset loadDatasetList(const std::filesystem::path& listFile, const DatasetLoadOptions& options);

/// The default class names of the DAC data (boat, building, ..., whale).
const std::vector<std::string>& dacClassNames();

} // namespace tyq
