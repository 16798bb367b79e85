#pragma once

#include <memory>
#include <optional>
#include <system_error>

#include "broker/group_commit.h"
#include "net/http.h"

namespace sluice::net {

// Suspends the calling coroutine until the group-commit flusher has made every byte of `log`
// appended so far durable; resumes on the coroutine's own executor with the flush's error.
//
// The completion handler is moved out on the flusher thread and into the operation posted to
// the coroutine's executor, so it is owned by exactly one place at a time and is invoked and
// destroyed on that executor, never on the flusher thread.
inline asio::awaitable<std::error_code> await_durable(broker::GroupCommitter& committer,
                                                      broker::PartitionLog& log) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::error_code)>(
      [&committer, &log](auto handler) {
        using Handler = decltype(handler);
        // GroupCommitter takes a std::function, which must be copyable; the handler is not.
        auto holder = std::make_shared<std::optional<Handler>>(std::move(handler));
        committer.request(log, [holder](std::error_code ec) {
          Handler h = std::move(**holder);
          holder->reset();
          auto executor = asio::get_associated_executor(h);
          asio::post(executor, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
        });
      },
      asio::use_awaitable);
}

}  // namespace sluice::net
