// Checks that a screenshot shows a real window: the expected size range, many colours, and no
// single colour covering almost everything (a blank or black capture fails).
// Usage: tyq_screenshot_check FILE [MIN_WIDTH MIN_HEIGHT]
#include <QGuiApplication>
#include <QHash>
#include <QImage>

#include <cstdio>

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FILE [MIN_WIDTH MIN_HEIGHT]\n", argv[0]);
        return 2;
    }
    const int minWidth = argc > 3 ? std::atoi(argv[2]) : 800;
    const int minHeight = argc > 3 ? std::atoi(argv[3]) : 600;
    const QImage image(QString::fromLocal8Bit(argv[1]));
    if (image.isNull()) {
        std::fprintf(stderr, "FAIL: %s is not a readable image\n", argv[1]);
        return 1;
    }
    QHash<QRgb, int> counts;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2)
            ++counts[image.pixel(x, y)];
    int dominant = 0;
    for (int c : counts)
        dominant = std::max(dominant, c);
    const int samples = ((image.height() + 1) / 2) * ((image.width() + 1) / 2);
    const double dominantShare = double(dominant) / samples;
    std::printf("%s: %dx%d, %d colours, dominant colour covers %.1f%%\n", argv[1], image.width(), image.height(),
                int(counts.size()), 100.0 * dominantShare);
    if (image.width() < minWidth || image.height() < minHeight) {
        std::fprintf(stderr, "FAIL: the window is smaller than %dx%d\n", minWidth, minHeight);
        return 1;
    }
    if (counts.size() < 50 || dominantShare > 0.95) {
        std::fprintf(stderr, "FAIL: the screenshot looks blank\n");
        return 1;
    }
    return 0;
}
