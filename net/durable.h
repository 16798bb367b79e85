#pragma once

#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

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

// Suspends the calling coroutine while the flusher appends `batches` to `log` and makes them
// durable (GroupCommitter::append_durable); resumes on the coroutine's own executor with the
// batches' offsets, or the error that stopped them. The batches must outlive the call.
inline asio::awaitable<std::pair<std::error_code, std::vector<broker::AppendResult>>>
await_append_durable(broker::GroupCommitter& committer, broker::PartitionLog& log,
                     std::span<const segment::ValidBatch> batches) {
  using Results = std::vector<broker::AppendResult>;
  auto [error, appended] =
      co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::error_code, Results)>(
          [&committer, &log, batches](auto handler) {
            using Handler = decltype(handler);
            auto holder = std::make_shared<std::optional<Handler>>(std::move(handler));
            committer.append_durable(log, batches, [holder](std::error_code ec, Results results) {
              Handler h = std::move(**holder);
              holder->reset();
              auto executor = asio::get_associated_executor(h);
              asio::post(executor, [h = std::move(h), ec, results = std::move(results)]() mutable {
                std::move(h)(ec, std::move(results));
              });
            });
          },
          asio::use_awaitable);
  co_return std::pair{error, std::move(appended)};
}

}  // namespace sluice::net
