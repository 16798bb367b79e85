#pragma once

#include <memory>
#include <system_error>

#include "broker/group_commit.h"
#include "net/http.h"

namespace sluice::net {

// Suspends the calling coroutine until the group-commit flusher has made every byte of `log`
// appended so far durable; resumes on the caller's executor with the flush's error, if any.
inline asio::awaitable<std::error_code> await_durable(broker::GroupCommitter& committer,
                                                      broker::PartitionLog& log) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::error_code)>(
      [&committer, &log](auto handler) {
        // std::function needs a copyable callable; the coroutine's handler is move-only.
        // The work guard keeps the handler's executor (the session's strand) counted as busy
        // until the completion has been posted to it.
        auto work = asio::make_work_guard(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        committer.request(log, [shared, work](std::error_code ec) mutable {
          auto executor = work.get_executor();
          asio::post(executor,
                     [shared = std::move(shared), ec]() mutable { std::move (*shared)(ec); });
          work.reset();
        });
      },
      asio::use_awaitable);
}

}  // namespace sluice::net
