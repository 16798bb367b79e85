#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "broker/group_commit.h"
#include "net/http.h"

namespace sluice::net {

// The initiation lambdas below capture only references and spans. GCC 12 destroys the members
// of an aggregate temporary in a co_await expression twice, and a lambda's captures are such
// members: a capture that owns something (a shared_ptr, a string) would be released twice,
// seen as a use-after-free under ASan. Temporaries of classes with constructors are not hit.

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

// Batches for one partition, handed to the flusher by await_append_durable, and what became of
// them: `error`, or one result per batch.
struct DurableAppend {
  broker::PartitionLog* log = nullptr;
  std::span<const segment::ValidBatch> batches;
  std::error_code error;
  std::vector<broker::AppendResult> results;
};

// Suspends the calling coroutine while the flusher appends each entry's batches to its log and
// makes them durable (GroupCommitter::append_durable), all handed over at once so that one
// round can take them together; resumes on the coroutine's own executor once every entry has
// its outcome. The batches must outlive the call.
inline asio::awaitable<void> await_append_durable(broker::GroupCommitter& committer,
                                                  std::span<DurableAppend> appends) {
  if (appends.empty()) co_return;
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&committer, appends](auto handler) {
        using Handler = decltype(handler);
        struct State {
          explicit State(Handler h, size_t n) : handler(std::move(h)), left(n) {}
          Handler handler;
          std::atomic<size_t> left;
        };
        auto state = std::make_shared<State>(std::move(handler), appends.size());
        for (auto& append : appends) {
          committer.append_durable(
              *append.log, append.batches,
              [state, &append](std::error_code ec, std::vector<broker::AppendResult> results) {
                append.error = ec;
                append.results = std::move(results);
                // The last outcome resumes the coroutine; the decrement orders every write to
                // `appends` before it.
                if (state->left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
                auto executor = asio::get_associated_executor(state->handler);
                asio::post(executor, [h = std::move(state->handler)]() mutable { std::move(h)(); });
              });
        }
      },
      asio::use_awaitable);
}

}  // namespace sluice::net
