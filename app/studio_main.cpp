// tyq-studio: the desktop lab over the engine. Opens on the default experiment (the sample
// dataset, the built-in network and bit-widths) or on an experiment file.
#include "main_window.h"
#include "studio_settings.h"
#include "training_controller.h"
#include "training_panel.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QImage>
#include <QPixmap>
#include <QTimer>

#include <cstdio>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName("tyq");
    QApplication::setApplicationName("tyq-studio");
    QApplication::setApplicationVersion("0.1.0");

    QCommandLineParser parser;
    parser.setApplicationDescription("tyq-studio: configure, train and inspect low-bit detectors");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption experiment("experiment", "Open this experiment file (.tyqexp).", "file");
    QCommandLineOption train("train", "Start training the experiment right away.");
    QCommandLineOption screenshot("screenshot", "Save a screenshot of the window to <file>, then quit.", "file");
    QCommandLineOption delay("screenshot-delay", "Seconds to wait before the screenshot (default 2).", "seconds", "2");
    QCommandLineOption workspace("workspace", "Start in this workspace: quantize, train or inspect.", "name");
    QCommandLineOption checkLayout("check-layout",
                                   "With --screenshot: also check that the workspace's key widgets are shown whole "
                                   "(exit 1 and list the problems if not).");
    parser.addOptions({experiment, train, screenshot, delay, workspace, checkLayout});
    parser.process(app);

    tyq::ui::MainWindow window;
    if (parser.isSet(experiment) && !window.openExperiment(parser.value(experiment)))
        std::fprintf(stderr, "tyq-studio: could not open %s\n", qPrintable(parser.value(experiment)));
    if (parser.isSet(workspace)) {
        const QStringList names{"quantize", "train", "inspect"};
        const int index = static_cast<int>(names.indexOf(parser.value(workspace)));
        if (index < 0) {
            std::fprintf(stderr, "tyq-studio: --workspace must be quantize, train or inspect\n");
            return 2;
        }
        window.showWorkspace(index);
    }
    window.show();
    if (parser.isSet(train))
        QTimer::singleShot(0, &window, [&window] { window.trainingPanel()->startTraining(); });

    if (parser.isSet(screenshot)) {
        bool ok = false;
        const double seconds = parser.value(delay).toDouble(&ok);
        const QString file = parser.value(screenshot);
        const bool check = parser.isSet(checkLayout);
        QTimer::singleShot(static_cast<int>((ok ? seconds : 2.0) * 1000), &window, [&window, file, check] {
            const QImage image = window.grab().toImage();
            int status = 0;
            if (check) {
                const QStringList problems = window.layoutProblems();
                for (const QString& p : problems)
                    std::printf("layout problem: %s\n", qPrintable(p));
                if (problems.isEmpty())
                    std::printf("layout: every key widget of the workspace is shown whole\n");
                status = problems.isEmpty() ? 0 : 1;
            }
            if (!image.save(file)) {
                std::fprintf(stderr, "tyq-studio: could not save the screenshot to %s\n", qPrintable(file));
                QApplication::exit(1);
                return;
            }
            std::printf("screenshot saved to %s (%dx%d, platform %s)\n", qPrintable(file), image.width(), image.height(),
                        qPrintable(QGuiApplication::platformName()));
            std::fflush(stdout);
            // Quit without questions: stop a demo training cleanly first.
            window.trainingController()->stop();
            window.trainingController()->waitForFinished(120000);
            QApplication::exit(status);
        });
    }
    return app.exec();
}
