#pragma once

#include <type_traits>

#include "broker/worker.h"
#include "common/await_completion.h"
#include "net/http/message.h"

namespace sluice::net {

// Runs fn() on the broker's worker thread and resumes with its result: for work a network
// thread must not do because it syncs or waits for a flush. fn must not throw.
template <typename F>
asio::awaitable<std::invoke_result_t<F&>> on_worker(broker::Worker& worker, F& fn) {
  using R = std::invoke_result_t<F&>;
  auto start = [&](auto done) { worker.post([&fn, done] { done(fn()); }); };
  co_return co_await await_completion<R>(start);
}

}  // namespace sluice::net
