// Readers for the reference's dataset files (.data, names, list files, YOLO labels) and the
// contest's Pascal-VOC XML. Every reader is strict: a wrong file is reported with its path, line
// and problem instead of silently producing boxes a detector would then learn from.
#include "data/dataset.h"

#include "common/error.h"
#include "common/text.h"

#include <pugixml.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <system_error>

namespace tyq {
namespace fs = std::filesystem;

namespace {

// Refuse absurd inputs with a clear message instead of exhausting memory.
constexpr size_t kMaxListLines = 10'000'000;
constexpr size_t kMaxObjectsPerLabel = 10'000;
constexpr size_t kMaxLabelBytes = size_t(64) << 20;

// A box may overshoot an image edge by this much (normalized) before it counts as wrong;
// annotation tools round, so tiny overshoots are common and get clamped.
constexpr double kEdgeTolerance = 0.01;

bool isFile(const fs::path& p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

bool pathExists(const fs::path& p)
{
    std::error_code ec;
    return fs::exists(p, ec);
}

// The reference's convention: relative to `base` (the folder of the file that names the path),
// else relative to the current folder; when neither exists, the `base` form (for messages).
fs::path resolveRelativeAsWritten(const fs::path& p, const fs::path& base)
{
    if (p.is_absolute())
        return p;
    const fs::path beside = (base / p).lexically_normal();
    if (pathExists(beside) || !pathExists(p))
        return beside;
    return p.lexically_normal();
}

// As above; a list written on Windows separates folders with '\' ("images\v1.jpg"), which on
// Linux is one odd file name, so when the path as written does not exist its '/' form is tried.
fs::path resolveRelative(const std::string& written, const fs::path& base)
{
    const fs::path asWritten = resolveRelativeAsWritten(written, base);
    if (written.find('\\') == std::string::npos || pathExists(asWritten))
        return asWritten;
    std::string slashed = written;
    std::replace(slashed.begin(), slashed.end(), '\\', '/');
    const fs::path converted = resolveRelativeAsWritten(slashed, base);
    return pathExists(converted) ? converted : asWritten;
}

std::string joinNames(const std::vector<std::string>& names)
{
    std::string out;
    for (size_t i = 0; i < names.size(); ++i)
        out += (i ? ", " : "") + names[i];
    return out;
}

std::string formatNumber(double v)
{
    std::ostringstream s;
    s << v;
    return s.str();
}

// Checks a normalized box edge range and clamps tiny overshoots into 0..1.
// Returns an empty string when valid, else the problem.
std::string checkAndClampBox(BoxLabel& box)
{
    if (!(box.w > 0) || !(box.h > 0))
        return "empty box (w=" + formatNumber(box.w) + ", h=" + formatNumber(box.h) + ")";
    if (box.cx < 0 || box.cx > 1 || box.cy < 0 || box.cy > 1)
        return "box centre (" + formatNumber(box.cx) + ", " + formatNumber(box.cy) + ") is outside the image";
    double x0 = box.cx - box.w / 2.0, x1 = box.cx + box.w / 2.0;
    double y0 = box.cy - box.h / 2.0, y1 = box.cy + box.h / 2.0;
    if (x0 < -kEdgeTolerance || y0 < -kEdgeTolerance || x1 > 1 + kEdgeTolerance || y1 > 1 + kEdgeTolerance)
        return "box extends past the image edge (x " + formatNumber(x0) + ".." + formatNumber(x1) + ", y " +
               formatNumber(y0) + ".." + formatNumber(y1) + ", allowed " + formatNumber(-kEdgeTolerance) + ".." +
               formatNumber(1 + kEdgeTolerance) + ")";
    x0 = std::max(0.0, x0);
    y0 = std::max(0.0, y0);
    x1 = std::min(1.0, x1);
    y1 = std::min(1.0, y1);
    box.cx = static_cast<float>((x0 + x1) / 2);
    box.cy = static_cast<float>((y0 + y1) / 2);
    box.w = static_cast<float>(x1 - x0);
    box.h = static_cast<float>(y1 - y0);
    return {};
}

// Line number (1-based) of a byte offset in a buffer; pugixml reports offsets, editors want lines.
int lineAtOffset(std::string_view buffer, ptrdiff_t offset)
{
    if (offset < 0)
        return 0;
    const auto end = buffer.begin() + std::min<ptrdiff_t>(offset, static_cast<ptrdiff_t>(buffer.size()));
    return 1 + static_cast<int>(std::count(buffer.begin(), end, '\n'));
}

fs::path replaceLastComponent(const fs::path& p, const std::string& from, const std::string& to, bool& replaced)
{
    std::vector<fs::path> parts(p.begin(), p.end());
    replaced = false;
    for (size_t i = parts.size(); i-- > 0;) {
        if (parts[i] == from) {
            parts[i] = to;
            replaced = true;
            break;
        }
    }
    fs::path out;
    for (const auto& part : parts)
        out /= part;
    return out;
}

// Where a VOC XML for `image` may live, in the order tried: beside the image, the
// images -> annotations rewrite (mirrors the YOLO rule), a sibling annotations folder.
std::vector<fs::path> vocCandidates(const fs::path& image)
{
    const fs::path xmlName = image.stem().string() + ".xml";
    std::vector<fs::path> out{image.parent_path() / xmlName};
    for (const char* dirName : {"annotations", "Annotations"}) {
        bool replaced = false;
        fs::path rewritten = replaceLastComponent(image, "images", dirName, replaced);
        if (replaced)
            out.push_back(rewritten.replace_extension(".xml"));
    }
    const fs::path imageDir = image.parent_path();
    const fs::path up = imageDir.has_parent_path() ? imageDir.parent_path() : fs::path();
    for (const char* dirName : {"annotations", "Annotations"})
        out.push_back(up / dirName / xmlName);
    return out;
}

} // namespace

const std::vector<std::string>& dacClassNames()
{
    static const std::vector<std::string> names = {"boat",   "building", "car",    "drone", "group", "horseride",
                                                   "paraglider", "person", "riding", "truck", "wakeboard", "whale"};
    return names;
}

std::vector<std::string> loadClassNames(const fs::path& namesFile)
{
    const std::string content = text::readTextFile(namesFile.string(), size_t(16) << 20);
    std::vector<std::string> names;
    std::map<std::string, int> seen;
    int lineNo = 0;
    for (const std::string& line : text::lines(content)) {
        ++lineNo;
        const std::string name(text::trim(line));
        if (name.empty())
            continue;
        // Duplicates would make VOC name lookup ambiguous.
        if (auto it = seen.find(name); it != seen.end())
            fail(namesFile, lineNo, "class name '" + name + "' repeats line " + std::to_string(it->second));
        seen[name] = lineNo;
        names.push_back(name);
    }
    if (names.empty())
        fail(namesFile, "no class names (expected one per line)");
    return names;
}

DataConfig loadDataConfig(const fs::path& dataFile)
{
    const std::string content = text::readTextFile(dataFile.string(), size_t(1) << 20);
    std::map<std::string, std::pair<std::string, int>> values; // key -> (value, line)
    int lineNo = 0;
    for (const std::string& raw : text::lines(content)) {
        ++lineNo;
        const std::string_view line = text::trim(raw);
        if (line.empty() || line.front() == '#')
            continue;
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos)
            fail(dataFile, lineNo, "expected 'key = value', got '" + std::string(line) + "'");
        const std::string key(text::trim(line.substr(0, eq)));
        const std::string value(text::trim(line.substr(eq + 1)));
        if (key.empty())
            fail(dataFile, lineNo, "missing key before '='");
        values[key] = {value, lineNo};
    }

    const fs::path base = dataFile.has_parent_path() ? dataFile.parent_path() : fs::path(".");
    auto required = [&](const std::string& key) -> const std::pair<std::string, int>& {
        auto it = values.find(key);
        if (it == values.end())
            fail(dataFile, "missing required key '" + key + "'");
        if (it->second.first.empty())
            fail(dataFile, it->second.second, "'" + key + "' is empty");
        return it->second;
    };

    DataConfig config;
    config.source = dataFile;
    const auto& classes = required("classes");
    const auto count = text::parseInt(classes.first);
    if (!count || *count < 1 || *count > 100000)
        fail(dataFile, classes.second, "'classes' must be a positive integer, got '" + classes.first + "'");
    config.classes = static_cast<int>(*count);
    config.trainList = resolveRelative(required("train").first, base);
    config.validList = resolveRelative(required("valid").first, base);
    const auto& names = required("names");
    config.namesFile = resolveRelative(names.first, base);
    if (!isFile(config.namesFile))
        fail(dataFile, names.second, "names file not found: " + config.namesFile.string());
    config.classNames = loadClassNames(config.namesFile);
    if (static_cast<int>(config.classNames.size()) != config.classes)
        fail(dataFile, classes.second,
             "classes=" + std::to_string(config.classes) + " but " + config.namesFile.string() + " has " +
                 std::to_string(config.classNames.size()) + " names");
    return config;
}

fs::path yoloLabelPathFor(const fs::path& image)
{
    bool replaced = false;
    fs::path label = replaceLastComponent(image, "images", "labels", replaced);
    // Without an images folder the label sits beside the image (darknet does the same).
    return label.replace_extension(".txt");
}

std::vector<BoxLabel> readYoloLabels(const fs::path& file, int numClasses)
{
    return parseYoloLabels(text::readTextFile(file.string(), kMaxLabelBytes), file, numClasses);
}

std::vector<BoxLabel> parseYoloLabels(std::string_view content, const fs::path& file, int numClasses)
{
    std::vector<BoxLabel> boxes;
    int lineNo = 0;
    for (const std::string& line : text::lines(content)) {
        ++lineNo;
        const auto fields = text::splitWhitespace(line);
        if (fields.empty())
            continue;
        if (fields.size() != 5)
            fail(file, lineNo,
                 "expected 5 fields 'class cx cy w h', got " + std::to_string(fields.size()));
        if (boxes.size() >= kMaxObjectsPerLabel)
            fail(file, lineNo, "more than " + std::to_string(kMaxObjectsPerLabel) + " objects in one label file");
        const auto cls = text::parseInt(fields[0]);
        if (!cls)
            fail(file, lineNo, "class '" + fields[0] + "' is not an integer");
        if (*cls < 0 || *cls >= numClasses)
            fail(file, lineNo,
                 "class " + std::to_string(*cls) + " is outside 0.." + std::to_string(numClasses - 1));
        double v[4];
        static const char* const names[4] = {"cx", "cy", "w", "h"};
        for (int i = 0; i < 4; ++i) {
            const auto value = text::parseDouble(fields[1 + i]);
            if (!value)
                fail(file, lineNo, std::string(names[i]) + " '" + fields[1 + i] + "' is not a finite number");
            v[i] = *value;
        }
        BoxLabel box;
        box.classId = static_cast<int>(*cls);
        box.cx = static_cast<float>(v[0]);
        box.cy = static_cast<float>(v[1]);
        box.w = static_cast<float>(v[2]);
        box.h = static_cast<float>(v[3]);
        if (const std::string problem = checkAndClampBox(box); !problem.empty())
            fail(file, lineNo, problem);
        boxes.push_back(box);
    }
    return boxes;
}

std::vector<BoxLabel> readVocAnnotation(const fs::path& file, const std::vector<std::string>& classNames)
{
    return parseVocAnnotation(text::readTextFile(file.string(), kMaxLabelBytes), file, classNames);
}

std::vector<BoxLabel> parseVocAnnotation(std::string_view content, const fs::path& file,
                                         const std::vector<std::string>& classNames)
{
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed = doc.load_buffer(content.data(), content.size());
    if (!parsed)
        fail(file, lineAtOffset(content, parsed.offset), std::string("malformed XML: ") + parsed.description());

    auto lineOf = [&](const pugi::xml_node& node) { return lineAtOffset(content, node.offset_debug()); };
    const pugi::xml_node root = doc.child("annotation");
    if (!root)
        fail(file, "no <annotation> element");

    // A number from a child element, e.g. <width>640</width>; VOC tools write floats at times.
    auto number = [&](const pugi::xml_node& parent, const char* name) {
        const pugi::xml_node node = parent.child(name);
        if (!node)
            fail(file, lineOf(parent), "<" + std::string(parent.name()) + "> has no <" + name + ">");
        const std::string valueText = node.text().as_string();
        const auto value = text::parseDouble(valueText);
        if (!value)
            fail(file, lineOf(node), "<" + std::string(name) + "> '" + valueText + "' is not a number");
        return *value;
    };

    const pugi::xml_node size = root.child("size");
    if (!size)
        fail(file, lineOf(root), "no <size> element (the image width and height are needed)");
    const double width = number(size, "width");
    const double height = number(size, "height");
    if (width < 1 || height < 1)
        fail(file, lineOf(size), "image size " + formatNumber(width) + "x" + formatNumber(height) + " is empty");

    std::vector<BoxLabel> boxes;
    for (const pugi::xml_node object : root.children("object")) {
        if (boxes.size() >= kMaxObjectsPerLabel)
            fail(file, lineOf(object), "more than " + std::to_string(kMaxObjectsPerLabel) + " objects");
        const pugi::xml_node nameNode = object.child("name");
        if (!nameNode)
            fail(file, lineOf(object), "<object> has no <name>");
        const std::string name(text::trim(nameNode.text().as_string()));
        const auto it = std::find(classNames.begin(), classNames.end(), name);
        if (it == classNames.end())
            fail(file, lineOf(nameNode), "unknown class '" + name + "' (known: " + joinNames(classNames) + ")");
        const pugi::xml_node bndbox = object.child("bndbox");
        if (!bndbox)
            fail(file, lineOf(object), "<object> has no <bndbox>");
        const double xmin = number(bndbox, "xmin"), ymin = number(bndbox, "ymin");
        const double xmax = number(bndbox, "xmax"), ymax = number(bndbox, "ymax");
        BoxLabel box;
        box.classId = static_cast<int>(it - classNames.begin());
        box.cx = static_cast<float>((xmin + xmax) / 2 / width);
        box.cy = static_cast<float>((ymin + ymax) / 2 / height);
        box.w = static_cast<float>((xmax - xmin) / width);
        box.h = static_cast<float>((ymax - ymin) / height);
        if (const std::string problem = checkAndClampBox(box); !problem.empty())
            fail(file, lineOf(bndbox),
                 problem + " (xmin " + formatNumber(xmin) + " ymin " + formatNumber(ymin) + " xmax " +
                     formatNumber(xmax) + " ymax " + formatNumber(ymax) + " in a " + formatNumber(width) + "x" +
                     formatNumber(height) + " image)");
        boxes.push_back(box);
    }
    return boxes;
}

std::string vocAnnotationXml(const std::string& imageFileName, int width, int height,
                             const std::vector<BoxLabel>& labels, const std::vector<std::string>& classNames)
{
    pugi::xml_document doc;
    pugi::xml_node root = doc.append_child("annotation");
    root.append_child("filename").text().set(imageFileName.c_str());
    pugi::xml_node size = root.append_child("size");
    size.append_child("width").text().set(width);
    size.append_child("height").text().set(height);
    size.append_child("depth").text().set(3);
    for (const BoxLabel& box : labels) {
        if (box.classId < 0 || box.classId >= static_cast<int>(classNames.size()))
            throw Error("VOC annotation for " + imageFileName + ": class id " + std::to_string(box.classId) +
                        " has no name (" + std::to_string(classNames.size()) + " names)");
        auto pixel = [](double v, int limit) {
            return static_cast<int>(std::clamp(std::lround(v * limit), 0L, static_cast<long>(limit)));
        };
        pugi::xml_node object = root.append_child("object");
        object.append_child("name").text().set(classNames[box.classId].c_str());
        object.append_child("difficult").text().set(0);
        pugi::xml_node bndbox = object.append_child("bndbox");
        bndbox.append_child("xmin").text().set(pixel(box.cx - box.w / 2.0, width));
        bndbox.append_child("ymin").text().set(pixel(box.cy - box.h / 2.0, height));
        bndbox.append_child("xmax").text().set(pixel(box.cx + box.w / 2.0, width));
        bndbox.append_child("ymax").text().set(pixel(box.cy + box.h / 2.0, height));
    }
    std::ostringstream out;
    doc.save(out, "  ");
    return out.str();
}

fs::path findLabelFile(const fs::path& image)
{
    const fs::path yolo = yoloLabelPathFor(image);
    if (isFile(yolo))
        return yolo;
    for (const fs::path& candidate : vocCandidates(image))
        if (isFile(candidate))
            return candidate;
    return {};
}

std::vector<BoxLabel> readLabelFile(const fs::path& file, const DatasetLoadOptions& options)
{
    if (file.extension() == ".txt")
        return readYoloLabels(file, options.numClasses);
    if (options.classNames.empty())
        fail(file, "a VOC annotation needs the class names (none were given)");
    return readVocAnnotation(file, options.classNames);
}

LoadedDataset loadDatasetList(const fs::path& listFile, const DatasetLoadOptions& options)
{
    if (options.numClasses < 1)
        fail(listFile, "the number of classes must be positive (got " + std::to_string(options.numClasses) + ")");
    if (!options.classNames.empty() && static_cast<int>(options.classNames.size()) != options.numClasses)
        fail(listFile, std::to_string(options.classNames.size()) + " class names given for " +
                           std::to_string(options.numClasses) + " classes");

    const std::string content = text::readTextFile(listFile.string());
    size_t lineCount = static_cast<size_t>(std::count(content.begin(), content.end(), '\n'));
    if (!content.empty() && content.back() != '\n')
        ++lineCount;
    if (lineCount > kMaxListLines)
        fail(listFile, "has " + std::to_string(lineCount) + " lines; lists of more than " +
                           std::to_string(kMaxListLines) + " lines are refused");

    const fs::path base = listFile.has_parent_path() ? listFile.parent_path() : fs::path(".");
    LoadedDataset result;
    auto problem = [&](const std::string& message) {
        if (options.strict)
            throw Error(message);
        result.problems.push_back(message);
        ++result.skipped;
    };

    int lineNo = 0;
    for (const std::string& raw : text::lines(content)) {
        ++lineNo;
        const std::string_view line = text::trim(raw);
        if (line.empty() || line.front() == '#')
            continue;
        Sample sample;
        sample.image = resolveRelative(std::string(line), base);
        if (options.checkImagesExist && !isFile(sample.image)) {
            problem(located(listFile, lineNo, "image not found: " + sample.image.string()));
            continue;
        }

        sample.labelFile = findLabelFile(sample.image);
        if (sample.labelFile.empty()) {
            problem(located(listFile, lineNo,
                            "no label file for " + sample.image.string() + " (looked for " +
                                yoloLabelPathFor(sample.image).string() + " and " + sample.image.stem().string() +
                                ".xml beside the image or in an annotations folder)"));
            continue;
        }

        try {
            sample.labels = readLabelFile(sample.labelFile, options);
        } catch (const Error& e) {
            problem(e.what());
            continue;
        }
        result.samples.push_back(std::move(sample));
    }
    return result;
}

} // namespace tyq
