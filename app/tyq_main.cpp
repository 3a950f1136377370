// tyq: the headless command line over the engine (generate data, train, eval, detect, export).
#include "cli/commands.h"
#include "cli/rank_launcher.h"

#include "common/error.h"

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include <cstdio>

int main(int argc, char** argv)
{
    CLI::App app{"tyq: low-bit object detection (Tiny-YOLO + LSQ) on the CPU"};
    app.require_subcommand(1);
    app.set_version_flag("--version", tyq::cli::versionString());
    tyq::cli::GlobalOptions global;
    tyq::cli::addGlobalOptions(app, global);
    tyq::cli::registerAllCommands(app, global);
    tyq::cli::recordCommandLine(argc, argv);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const tyq::Error& e) {
        std::fprintf(stderr, "tyq: error: %s\n", e.what());
        return 1;
    } catch (const c10::Error& e) {
        std::fprintf(stderr, "tyq: error: %s\n", e.what_without_backtrace());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tyq: error: %s\n", e.what());
        return 1;
    }
    return tyq::cli::exitCode();
}
