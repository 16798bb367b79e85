// TLS inside the cluster: brokers reach etcd and each other over https when their URLs say so,
// checking certificates and names.
#include "net/http/tls.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/etcd_client.h"
#include "net/http/client_stream.h"
#include "tests/cluster/acked_records.h"
#include "tests/cluster/cluster_state.h"
#include "tests/cluster/etcd_process.h"
#include "tests/net/security_util.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};
const std::map<std::string, std::string> kBinaryV2 = {
    {"Content-Type", "application/vnd.kafka.binary.v2+json"}};

// Runs one coroutine on a fresh io_context to completion and returns its value.
template <class F>
auto run(F f) {
  asio::io_context io;
  auto future = asio::co_spawn(io, f(), asio::use_future);
  io.run_for(30s);
  return future.get();
}

std::shared_ptr<asio::ssl::context> client_context(const TestPki& pki, const std::string& ca,
                                                   const std::string& certificate = "") {
  net::ClientTlsSettings s;
  s.ca_file = pki.path(ca);
  if (!certificate.empty()) {
    s.certificate_file = pki.path(certificate + ".pem");
    s.key_file = pki.path(certificate + ".key");
  }
  return net::client_tls_context(s);
}

// An etcd with TLS on its client URL that requires certificates the test CA signed.
EtcdProcess::Options tls_etcd(const TestPki& pki) {
  EtcdProcess::Options o;
  o.cert_file = pki.path("server.pem");
  o.key_file = pki.path("server.key");
  o.client_ca_file = pki.path("ca.pem");
  return o;
}

// GET /healthz over a net::ClientStream connected to `url`: the status, or the connect error.
struct Probe {
  beast::error_code connect_error;
  int status = 0;
  bool secure = false;
};
Probe probe(const std::string& url, std::shared_ptr<asio::ssl::context> tls) {
  return run([&]() -> asio::awaitable<Probe> {
    Probe out;
    net::ClientStream stream(co_await asio::this_coro::executor);
    out.connect_error = co_await stream.connect(*parse_http_url(url), 5s, tls);
    if (out.connect_error) co_return out;
    out.secure = stream.secure();
    http::request<http::empty_body> request{http::verb::get, "/healthz", 11};
    request.set(http::field::host, "127.0.0.1");
    stream.expires_after(5s);
    co_await http::async_write(stream, request, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    co_await http::async_read(stream, buffer, response, asio::use_awaitable);
    out.status = response.result_int();
    co_return out;
  });
}

TEST(ClientStreamTest, ChecksTheCertificateAndTheNameOfAnHttpsPeer) {
  TestPki pki;
  pki.issue("elsewhere", "/CN=elsewhere", "subjectAltName=DNS:elsewhere.example", 1);
  BrokerProcess::Options o;
  o.sets = pki.https_sets();
  BrokerProcess broker(o);
  const std::string https = "https://127.0.0.1:" + std::to_string(listener_port(broker, "https"));
  o.sets.push_back("ssl.certificate.location=" + pki.path("elsewhere.pem"));
  o.sets.push_back("ssl.key.location=" + pki.path("elsewhere.key"));
  BrokerProcess misnamed(o);
  const std::string misnamed_url =
      "https://127.0.0.1:" + std::to_string(listener_port(misnamed, "https"));

  const auto good = probe(https, client_context(pki, "ca.pem"));
  EXPECT_FALSE(good.connect_error) << good.connect_error.message();
  EXPECT_TRUE(good.secure);
  EXPECT_EQ(good.status, 200);
  // The same host by name: the certificate names localhost too.
  const auto by_name = probe("https://localhost:" + std::to_string(listener_port(broker, "https")),
                             client_context(pki, "ca.pem"));
  EXPECT_EQ(by_name.status, 200) << by_name.connect_error.message();
  // A plain URL stays plain, whatever context there is.
  const auto plain =
      probe("http://127.0.0.1:" + std::to_string(broker.port()), client_context(pki, "ca.pem"));
  EXPECT_FALSE(plain.secure);
  EXPECT_EQ(plain.status, 200);

  const auto wrong_ca = probe(https, client_context(pki, "other-ca.pem"));
  EXPECT_EQ(wrong_ca.connect_error.category(), asio::error::get_ssl_category())
      << wrong_ca.connect_error.message();
  EXPECT_EQ(wrong_ca.status, 0);
  const auto wrong_name = probe(misnamed_url, client_context(pki, "ca.pem"));
  EXPECT_EQ(wrong_name.connect_error.category(), asio::error::get_ssl_category())
      << wrong_name.connect_error.message();
  EXPECT_EQ(wrong_name.status, 0);
  const auto no_context = probe(https, nullptr);
  EXPECT_EQ(no_context.connect_error, asio::error::no_protocol_option);
}

TEST(EtcdTlsTest, TheClientReachesAnEtcdThatRequiresClientCertificates) {
  TestPki pki;
  EtcdProcess etcd(tls_etcd(pki));
  ASSERT_TRUE(etcd.endpoint().starts_with("https://"));
  auto options = [&](std::shared_ptr<asio::ssl::context> tls) {
    cluster::EtcdClient::Options o;
    o.endpoints = {*parse_http_url(etcd.endpoint())};
    o.tls = std::move(tls);
    return o;
  };
  auto put = [&](std::shared_ptr<asio::ssl::context> tls) {
    const auto o = options(std::move(tls));
    return run([&]() -> asio::awaitable<Result<cluster::EtcdHeader>> {
      cluster::EtcdClient client(co_await asio::this_coro::executor, o);
      co_return co_await client.put("/t/k", "v");
    });
  };
  auto ok = put(client_context(pki, "ca.pem", "client"));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_GT(ok->revision, 0);
  // Without a client certificate, with the wrong CA, or without TLS at all: no answer.
  for (auto tls : {client_context(pki, "ca.pem"), client_context(pki, "other-ca.pem", "client"),
                   std::shared_ptr<asio::ssl::context>()}) {
    auto refused = put(tls);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), cluster::EtcdErrc::unreachable);
  }
  // A watch goes over TLS too.
  const auto watch_options = options(client_context(pki, "ca.pem", "client"));
  auto watched = run([&]() -> asio::awaitable<Result<std::string>> {
    cluster::EtcdClient client(co_await asio::this_coro::executor, watch_options);
    auto watch = co_await client.watch("/t/w", {}, 0);
    if (!watch) co_return watch.error();
    auto written = co_await client.put("/t/w", "seen");
    if (!written) co_return written.error();
    auto answer = co_await (*watch)->next();
    if (!answer) co_return answer.error();
    if (answer->events.empty()) co_return std::string("no event");
    co_return answer->events[0].kv.value;
  });
  ASSERT_TRUE(watched) << watched.error().message();
  EXPECT_EQ(*watched, "seen");
}

// Three brokers that register https URLs (inter.broker.listener.name) and require client
// certificates on them, with an etcd that does too. The tests talk to each broker's plain
// listener; everything between brokers goes over TLS.
class ClusterTlsTest : public ::testing::Test {
 protected:
  std::vector<std::string> sets(int id) const {
    return {"broker.id=" + std::to_string(id),
            "etcd.endpoints=" + etcd_.endpoint(),
            "etcd.ssl.ca.location=" + pki_.path("ca.pem"),
            "etcd.ssl.certificate.location=" + pki_.path("client.pem"),
            "etcd.ssl.key.location=" + pki_.path("client.key"),
            "broker.session.timeout.ms=2000",
            "broker.heartbeat.interval.ms=200",
            "listeners=http://127.0.0.1:0,https://127.0.0.1:0",
            "inter.broker.listener.name=https",
            "ssl.certificate.location=" + pki_.path("server.pem"),
            "ssl.key.location=" + pki_.path("server.key"),
            "ssl.ca.location=" + pki_.path("ca.pem"),
            "ssl.client.auth=required"};
  }
  uint16_t port(int id) const { return brokers_[static_cast<size_t>(id - 1)]->port(); }

  TestPki pki_;
  EtcdProcess etcd_{tls_etcd(pki_)};
  std::vector<std::unique_ptr<BrokerProcess>> brokers_;
};

TEST_F(ClusterTlsTest, BrokersReplicateAndForwardOverTls) {
  for (int id = 1; id <= 3; ++id) {
    BrokerProcess::Options o;
    o.sets = sets(id);
    brokers_.push_back(std::make_unique<BrokerProcess>(o));
  }
  ASSERT_TRUE(eventually([&] {
    for (int id = 1; id <= 3; ++id) {
      if (cluster_state(port(id)).brokers.size() != 3) return false;
    }
    return true;
  })) << "brokers did not all register";
  for (const auto& [id, url] : cluster_state(port(1)).brokers) {
    EXPECT_EQ(url, "https://127.0.0.1:" + std::to_string(listener_port(
                                              *brokers_[static_cast<size_t>(id - 1)], "https")));
  }
  const auto cluster = cluster_state(port(1)).cluster_id;
  auto created =
      http_request(port(1), "POST", "/v3/clusters/" + cluster + "/topics",
                   R"({"topic_name":"t","partitions_count":1,"replication_factor":3})", kJson);
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_TRUE(eventually([&] {
    const auto p = cluster_state(port(1)).partitions[{"t", 0}];
    return p.leader >= 0 && p.isr.size() == 3;
  }));

  // acks=all through every broker: two of them forward to the leader, whose acknowledgement
  // needs both followers' fetches.
  for (int id = 1; id <= 3; ++id) {
    auto produced = http_request(port(id), "POST", "/topics/t/partitions/0?acks=all",
                                 R"({"records":[{"value":"b25l"},{"value":"dHdv"}]})", kBinaryV2);
    ASSERT_EQ(produced.status, 200) << "via broker " << id << ": " << produced.body;
  }
  const auto leader = cluster_state(port(1)).partitions[{"t", 0}].leader;
  ASSERT_GE(leader, 1);
  const auto state = cluster_state(port(static_cast<int>(leader))).partitions[{"t", 0}];
  EXPECT_EQ(state.isr.size(), 3u);
  EXPECT_EQ(state.high_watermark, 6);
  // Every broker's own log holds the same three batches, the last one ending at offset 5.
  const auto first_log = dump(brokers_[0]->data_dir(), "t-0");
  EXPECT_NE(first_log.find("baseOffset: 4 lastOffset: 5"), std::string::npos) << first_log;
  for (int id = 2; id <= 3; ++id) {
    EXPECT_EQ(dump(brokers_[static_cast<size_t>(id - 1)]->data_dir(), "t-0"), first_log)
        << "broker " << id;
  }
}

TEST_F(ClusterTlsTest, ABrokerWhoseEtcdCaFileIsMissingRefusesToStartNamingIt) {
  TempDir dir;
  std::vector<std::string> args = {"serve", "--set", "log.dirs=" + dir.path().string()};
  for (auto s : sets(1)) {
    if (s.starts_with("etcd.ssl.ca.location=")) s = "etcd.ssl.ca.location=/nonexistent/ca.pem";
    if (s.starts_with("listeners=")) s = "listeners=http://127.0.0.1:0,https://127.0.0.1:0";
    args.push_back("--set");
    args.push_back(s);
  }
  const auto r = run_sluice(args, 30s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("etcd.ssl.ca.location '/nonexistent/ca.pem'"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace sluice::testing
