// The etcd client against a real etcd (Debian's etcd-server) on loopback ports.
#include "cluster/etcd_client.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>

#include "common/base64.h"
#include "tests/cluster/etcd_process.h"
#include "tests/net/http_client.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;
using cluster::EtcdClient;
using cluster::EtcdErrc;
namespace asio = boost::asio;

class EtcdClientTest : public ::testing::Test {
 protected:
  // Runs one coroutine on a fresh io_context to completion and returns its value.
  template <class F>
  auto run(F f) {
    auto future = asio::co_spawn(io_, f(), asio::use_future);
    io_.restart();
    io_.run_for(30s);
    return future.get();
  }

  EtcdClient::Options options() const {
    EtcdClient::Options o;
    o.endpoints = {{"127.0.0.1", etcd_.client_port()}};
    o.timeout = 2s;
    return o;
  }

  EtcdProcess etcd_;
  asio::io_context io_;
  EtcdClient client_{io_.get_executor(), options()};
};

TEST_F(EtcdClientTest, PutRangeAndDeleteRoundTripBinaryKeysAndValues) {
  const std::string value("{\"a\":1}\0\xff", 9);
  auto put = run([&]() -> asio::awaitable<Result<cluster::EtcdHeader>> {
    co_return co_await client_.put("/t/k1", value);
  });
  ASSERT_TRUE(put) << put.error().message();
  EXPECT_GT(put->revision, 0);
  run([&]() -> asio::awaitable<Result<cluster::EtcdHeader>> {
    co_return co_await client_.put("/t/k2", "two");
  });
  auto one = run([&]() -> asio::awaitable<Result<cluster::RangeAnswer>> {
    co_return co_await client_.range("/t/k1");
  });
  ASSERT_TRUE(one);
  ASSERT_EQ(one->kvs.size(), 1u);
  EXPECT_EQ(one->kvs[0].key, "/t/k1");
  EXPECT_EQ(one->kvs[0].value, value);
  EXPECT_EQ(one->kvs[0].create_revision, put->revision);
  EXPECT_EQ(one->kvs[0].version, 1);

  auto all = run([&]() -> asio::awaitable<Result<cluster::RangeAnswer>> {
    co_return co_await client_.range("/t/", cluster::prefix_end("/t/"));
  });
  ASSERT_TRUE(all);
  EXPECT_EQ(all->count, 2);
  ASSERT_EQ(all->kvs.size(), 2u);
  EXPECT_EQ(all->kvs[1].value, "two");

  auto none = run([&]() -> asio::awaitable<Result<cluster::RangeAnswer>> {
    co_return co_await client_.range("/nosuch");
  });
  ASSERT_TRUE(none);
  EXPECT_EQ(none->count, 0);  // absent in the answer: zero
  EXPECT_TRUE(none->kvs.empty());

  auto erased = run([&]() -> asio::awaitable<Result<cluster::EtcdHeader>> {
    co_return co_await client_.erase("/t/", cluster::prefix_end("/t/"));
  });
  ASSERT_TRUE(erased);
  auto after = run([&]() -> asio::awaitable<Result<cluster::RangeAnswer>> {
    co_return co_await client_.range("/t/", cluster::prefix_end("/t/"));
  });
  ASSERT_TRUE(after);
  EXPECT_EQ(after->count, 0);
}

TEST_F(EtcdClientTest, ACreateOnlyTransactionSucceedsOnceAndThenReturnsTheHolder) {
  cluster::Txn txn;
  txn.compare.push_back(
      {"/reg/1", cluster::Compare::Target::create, cluster::Compare::Op::equal, 0, {}});
  txn.success.push_back(cluster::TxnOp::put("/reg/1", "first"));
  txn.failure.push_back(cluster::TxnOp::range("/reg/1"));
  auto first = run([&]() -> asio::awaitable<Result<cluster::TxnAnswer>> {
    co_return co_await client_.txn(txn);
  });
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(first->succeeded);
  txn.success[0].value = "second";
  auto second = run([&]() -> asio::awaitable<Result<cluster::TxnAnswer>> {
    co_return co_await client_.txn(txn);
  });
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->succeeded);  // absent in the answer: false
  ASSERT_EQ(second->responses.size(), 1u);
  ASSERT_EQ(second->responses[0].kvs.size(), 1u);
  EXPECT_EQ(second->responses[0].kvs[0].value, "first");

  // A compare on the mod revision fences a writer that read an older state.
  cluster::Txn cas;
  cas.compare.push_back({"/reg/1",
                         cluster::Compare::Target::mod,
                         cluster::Compare::Op::equal,
                         second->responses[0].kvs[0].mod_revision,
                         {}});
  cas.success.push_back(cluster::TxnOp::put("/reg/1", "cas"));
  auto won = run([&]() -> asio::awaitable<Result<cluster::TxnAnswer>> {
    co_return co_await client_.txn(cas);
  });
  ASSERT_TRUE(won);
  EXPECT_TRUE(won->succeeded);
  auto lost = run([&]() -> asio::awaitable<Result<cluster::TxnAnswer>> {
    co_return co_await client_.txn(cas);
  });
  ASSERT_TRUE(lost);
  EXPECT_FALSE(lost->succeeded);
}

TEST_F(EtcdClientTest, AKeyBoundToALeaseGoesWithTheLease) {
  auto lease = run([&]() -> asio::awaitable<Result<cluster::LeaseAnswer>> {
    co_return co_await client_.grant(5);
  });
  ASSERT_TRUE(lease) << lease.error().message();
  EXPECT_GT(lease->id, int64_t{1} << 32);  // ids above 2^53 come as strings; they parse
  EXPECT_EQ(lease->ttl_s, 5);
  run([&]() -> asio::awaitable<Result<cluster::EtcdHeader>> {
    co_return co_await client_.put("/leased", "v", lease->id);
  });
  auto alive = run([&]() -> asio::awaitable<Result<cluster::LeaseAnswer>> {
    co_return co_await client_.keepalive(lease->id);
  });
  ASSERT_TRUE(alive) << alive.error().message();
  EXPECT_EQ(alive->ttl_s, 5);

  auto revoked =
      run([&]() -> asio::awaitable<Result<void>> { co_return co_await client_.revoke(lease->id); });
  ASSERT_TRUE(revoked) << revoked.error().message();
  auto gone = run([&]() -> asio::awaitable<Result<cluster::RangeAnswer>> {
    co_return co_await client_.range("/leased");
  });
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->count, 0);
  auto dead = run([&]() -> asio::awaitable<Result<cluster::LeaseAnswer>> {
    co_return co_await client_.keepalive(lease->id);
  });
  ASSERT_TRUE(dead);
  EXPECT_EQ(dead->ttl_s, 0);  // no TTL in the answer: the lease is gone
  auto refused = run([&]() -> asio::awaitable<Result<cluster::EtcdHeader>> {
    co_return co_await client_.put("/leased", "v", lease->id);
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), EtcdErrc::lease_not_found);
}

TEST_F(EtcdClientTest, AWatchSeesPutsAndDeletesWithThePreviousValue) {
  auto watch = run([&]() -> asio::awaitable<Result<std::unique_ptr<cluster::EtcdWatch>>> {
    co_return co_await client_.watch("/w/", cluster::prefix_end("/w/"), 0);
  });
  ASSERT_TRUE(watch) << watch.error().message();
  run([&]() -> asio::awaitable<Result<cluster::EtcdHeader>> {
    co_return co_await client_.put("/w/a", "1");
  });
  run([&]() -> asio::awaitable<Result<cluster::EtcdHeader>> {
    co_return co_await client_.erase("/w/a");
  });
  std::vector<cluster::WatchEvent> events;
  while (events.size() < 2) {
    auto answer = run([&]() -> asio::awaitable<Result<cluster::WatchAnswer>> {
      co_return co_await (*watch)->next();
    });
    ASSERT_TRUE(answer) << answer.error().message();
    for (auto& e : answer->events) events.push_back(e);
  }
  EXPECT_EQ(events[0].type, cluster::WatchEvent::Type::put);
  EXPECT_EQ(events[0].kv.key, "/w/a");
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[1].type, cluster::WatchEvent::Type::del);
  ASSERT_TRUE(events[1].prev_kv.has_value());
  EXPECT_EQ(events[1].prev_kv->value, "1");
}

TEST_F(EtcdClientTest, AWatchFromACompactedRevisionIsCanceledWithTheCompactRevision) {
  int64_t last = 0;
  for (int i = 0; i < 3; ++i) {
    auto put = run([&]() -> asio::awaitable<Result<cluster::EtcdHeader>> {
      co_return co_await client_.put("/c/k", std::to_string(i));
    });
    ASSERT_TRUE(put);
    last = put->revision;
  }
  auto compacted = http_request(etcd_.client_port(), "POST", "/v3/kv/compaction",
                                "{\"revision\":\"" + std::to_string(last) + "\"}");
  ASSERT_EQ(compacted.status, 200) << compacted.body;
  auto watch = run([&]() -> asio::awaitable<Result<std::unique_ptr<cluster::EtcdWatch>>> {
    co_return co_await client_.watch("/c/", cluster::prefix_end("/c/"), 1);
  });
  if (watch) {
    auto answer = run([&]() -> asio::awaitable<Result<cluster::WatchAnswer>> {
      co_return co_await (*watch)->next();
    });
    ASSERT_TRUE(answer);
    EXPECT_TRUE(answer->canceled);
    EXPECT_EQ(answer->compact_revision, last);
  } else {
    EXPECT_EQ(watch.error(), EtcdErrc::watch_canceled);
  }
}

TEST_F(EtcdClientTest, AWatchEndsWithAnErrorWhenEtcdDies) {
  auto watch = run([&]() -> asio::awaitable<Result<std::unique_ptr<cluster::EtcdWatch>>> {
    co_return co_await client_.watch("/d/", cluster::prefix_end("/d/"), 0);
  });
  ASSERT_TRUE(watch);
  etcd_.kill9();
  auto answer = run([&]() -> asio::awaitable<Result<cluster::WatchAnswer>> {
    co_return co_await (*watch)->next();
  });
  EXPECT_FALSE(answer);
  auto range = run([&]() -> asio::awaitable<Result<cluster::RangeAnswer>> {
    co_return co_await client_.range("/d/");
  });
  ASSERT_FALSE(range);
  EXPECT_EQ(range.error(), EtcdErrc::unreachable);
  etcd_.start();
  auto again = run([&]() -> asio::awaitable<Result<cluster::RangeAnswer>> {
    co_return co_await client_.range("/d/");
  });
  EXPECT_TRUE(again) << again.error().message();
}

// A kept-alive connection that etcd closed while it was idle (a restart) costs the caller
// nothing: the call goes again on a fresh connection.
TEST_F(EtcdClientTest, ACallOnAConnectionEtcdClosedWhileIdleGoesOnAFreshOne) {
  auto first = run([&]() -> asio::awaitable<Result<cluster::EtcdHeader>> {
    co_return co_await client_.put("/i/k", "1");
  });
  ASSERT_TRUE(first);
  etcd_.stop();
  etcd_.start();
  auto second = run([&]() -> asio::awaitable<Result<cluster::RangeAnswer>> {
    co_return co_await client_.range("/i/k");
  });
  ASSERT_TRUE(second) << second.error().message();
  ASSERT_EQ(second->kvs.size(), 1u);
  EXPECT_EQ(second->kvs[0].value, "1");
}

TEST(EtcdEndpointsTest, ParsesAListAndNamesTheBadEntry) {
  auto two = cluster::parse_etcd_endpoints("http://127.0.0.1:2379, http://[::1]:2380/");
  ASSERT_TRUE(two);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].port, 2379);
  EXPECT_EQ((*two)[1].host, "::1");
  EXPECT_FALSE((*two)[0].tls);
  auto secure = cluster::parse_etcd_endpoints("https://etcd1:2379");
  ASSERT_TRUE(secure);
  EXPECT_TRUE((*secure)[0].tls);
  EXPECT_EQ((*secure)[0].host, "etcd1");
  auto bad = cluster::parse_etcd_endpoints("http://a:1,ftp://b:2");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("ftp://b:2"), std::string::npos) << bad.error();
  EXPECT_FALSE(cluster::parse_etcd_endpoints("http://a:99999"));
  EXPECT_FALSE(cluster::parse_etcd_endpoints(""));
}

}  // namespace
}  // namespace sluice::testing
