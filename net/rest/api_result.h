#pragma once

// The error vocabulary of net/rest: every helper a handler calls returns either its value or
// the REST Proxy error to answer with, and the handler replies with error_reply(r.error()).

#include <boost/system/result.hpp>

#include "net/http/message.h"

namespace sluice::net {

template <class T>
using ApiResult = boost::system::result<T, ApiError>;

// What ApiResult::value() throws when it holds an error. Handlers test a result before they
// use it, so this is a bug; the router answers it with a 500 and logs the message.
[[noreturn]] void throw_exception_from_error(const ApiError& error,
                                             const boost::source_location& location);

}  // namespace sluice::net
