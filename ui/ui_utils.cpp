#include "ui_utils.h"

#include "background_job.h"
#include "studio_settings.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QMessageBox>
#include <QToolButton>

#include <cmath>

namespace tyq::ui {

QString modelLoadFailureText(const JobFailure& failure, const QString& weights)
{
    if (failure.kind == ErrorKind::needsBitWidths)
        return QObject::tr("%1 is an LSQ-quantized model: choose its bit-width YAML (for the reference checkpoints "
                           "config/lsq-3bit.yaml) in the YAML field, then Load.")
            .arg(weights);
    return failure.message;
}

QString durationText(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0)
        return "?";
    const qint64 s = qRound64(seconds);
    return s >= 3600 ? QString("%1:%2:%3").arg(s / 3600).arg((s / 60) % 60, 2, 10, QChar('0')).arg(s % 60, 2, 10, QChar('0'))
                     : QString("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
}

void showError(QWidget* parent, const QString& title, const QString& text)
{
    auto* box = new QMessageBox(QMessageBox::Warning, title, text, QMessageBox::Ok, parent);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setObjectName("tyqErrorBox");
    box->open();
}

QWidget* pathField(QLineEdit* edit, const QString& filter, bool folder, bool save)
{
    auto* container = new QWidget;
    auto* layout = new QHBoxLayout(container);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* browse = new QToolButton(container);
    browse->setText("…");
    browse->setToolTip(QObject::tr("Browse"));
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    QObject::connect(browse, &QToolButton::clicked, edit, [edit, filter, folder, save] {
        const QString start = edit->text().isEmpty() ? settings::lastDirectory.get() : edit->text();
        const QString chosen = folder ? QFileDialog::getExistingDirectory(edit, QObject::tr("Choose a folder"), start)
                               : save ? QFileDialog::getSaveFileName(edit, QObject::tr("Choose a file"), start, filter)
                                      : QFileDialog::getOpenFileName(edit, QObject::tr("Choose a file"), start, filter);
        if (chosen.isEmpty())
            return;
        settings::lastDirectory.set(folder ? chosen : QFileInfo(chosen).absolutePath());
        edit->setText(chosen);
        Q_EMIT edit->editingFinished();
    });
    return container;
}

std::filesystem::path toPath(const QString& s)
{
    return std::filesystem::path(s.trimmed().toStdString());
}

QString fromPath(const std::filesystem::path& p)
{
    return QString::fromStdString(p.string());
}

} // namespace tyq::ui
