#pragma once

#include <memory>
#include <system_error>

#include "broker/group_commit.h"
#include "net/http.h"

namespace sluice::net {

// Suspends the calling coroutine until the group-commit flusher has made every byte of `log`
// appended so far durable; resumes on the caller's executor with the flush's error, if any.
//
// The flusher's callback posts to the caller's executor (its strand), which records the result
// and cancels a timer the coroutine waits on: the same hand-off FetchWaiters uses. (Invoking
// the coroutine's completion handler from the posted function instead resumed it in a way that
// let Asio free the frame's executor under it: a use-after-free under load, seen by valgrind.)
inline asio::awaitable<std::error_code> await_durable(broker::GroupCommitter& committer,
                                                      broker::PartitionLog& log) {
  struct State {
    explicit State(asio::any_io_executor executor) : timer(std::move(executor)) {}
    asio::steady_timer timer;
    bool done = false;  // both touched only on the caller's executor
    std::error_code ec;
  };
  auto state = std::make_shared<State>(co_await asio::this_coro::executor);
  state->timer.expires_at(asio::steady_timer::time_point::max());
  committer.request(log, [state](std::error_code ec) {
    asio::post(state->timer.get_executor(), [state, ec] {
      state->ec = ec;
      state->done = true;
      state->timer.cancel();
    });
  });
  while (!state->done) co_await state->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return state->ec;
}

}  // namespace sluice::net
