#include "background_job.h"

#include <QException>

namespace tyq::ui {

JobFailure failureOf(std::exception_ptr error)
{
    try {
        std::rethrow_exception(error);
    } catch (const QUnhandledException& wrapped) {
        // QtConcurrent wraps what is not a QException; open it for the kind and the message.
        if (wrapped.exception())
            return failureOf(wrapped.exception());
        return {QObject::tr("the background work failed")};
    } catch (const Error& e) {
        return {QString::fromUtf8(e.what()), e.kind()};
    } catch (const std::exception& e) {
        return {QString::fromUtf8(e.what())};
    } catch (...) {
        return {QObject::tr("the background work failed with an unknown exception")};
    }
}

} // namespace tyq::ui
