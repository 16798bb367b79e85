#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <utility>

namespace sluice {

// The one bridge from the broker's completion callbacks to coroutines (the REST handlers, the
// replica fetcher): calls start(done), where done must be called exactly once, from any thread
// (the flusher's, the broker's worker, or inline), and resumes the calling coroutine on its own
// executor with done's value.
//
// The completion handler is moved out where done runs and into the operation posted to the
// coroutine's executor, so it is owned by exactly one place at a time and is invoked and
// destroyed on that executor, never on a broker thread.
//
// `start` is taken by reference and the initiation lambda captures only references: GCC 12
// destroys the members of an aggregate temporary in a co_await expression twice, and a
// lambda's captures are such members, so a capture that owned something (a shared_ptr, a
// string, an executor) would be released twice, seen as a use-after-free under ASan.
template <typename T, typename Start>
boost::asio::awaitable<T> await_completion(Start& start) {
  namespace asio = boost::asio;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(T)>(
      [&start](auto handler) {
        using Handler = decltype(handler);
        // The broker takes std::function, which must be copyable; the handler is not.
        auto holder = std::make_shared<std::optional<Handler>>(std::move(handler));
        start([holder](T value) {
          Handler h = std::move(**holder);
          holder->reset();
          auto executor = asio::get_associated_executor(h);
          asio::post(executor, [h = std::move(h), v = std::move(value)]() mutable {
            std::move(h)(std::move(v));
          });
        });
      },
      asio::use_awaitable);
}

}  // namespace sluice
