#pragma once

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "broker/worker.h"
#include "net/http/message.h"

namespace sluice::net {

// The one bridge from the broker's completion callbacks to coroutines: calls start(done), where
// done must be called exactly once, from any thread (the flusher's, the broker's worker, or
// inline), and resumes the calling coroutine on its own executor with done's value.
//
// The completion handler is moved out where done runs and into the operation posted to the
// coroutine's executor, so it is owned by exactly one place at a time and is invoked and
// destroyed on that executor, never on a broker thread.
//
// `start` is taken by reference and the initiation lambda captures only references: GCC 12
// destroys the members of an aggregate temporary in a co_await expression twice, and a
// lambda's captures are such members, so a capture that owned something (a shared_ptr, a
// string) would be released twice, seen as a use-after-free under ASan.
template <typename T, typename Start>
asio::awaitable<T> await_completion(Start& start) {
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

// Runs fn() on the broker's worker thread and resumes with its result: for work a network
// thread must not do because it syncs or waits for a flush. fn must not throw.
template <typename F>
asio::awaitable<std::invoke_result_t<F&>> on_worker(broker::Worker& worker, F& fn) {
  using R = std::invoke_result_t<F&>;
  auto start = [&](auto done) { worker.post([&fn, done] { done(fn()); }); };
  co_return co_await await_completion<R>(start);
}

}  // namespace sluice::net
