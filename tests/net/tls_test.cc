// TLS listeners against the real binary: curl and openssl s_client as clients, certificates
// made by the test.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "net/http/principal_mapping.h"
#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"
#include "tests/net/security_util.h"

namespace sluice::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using ::testing::HasSubstr;
using ::testing::Not;

class TlsTest : public ::testing::Test {
 protected:
  // A broker with a plain and an https listener; `extra` adds --set keys.
  std::unique_ptr<BrokerProcess> start(std::vector<std::string> extra = {}) {
    BrokerProcess::Options options;
    options.sets = pki_.https_sets();
    options.sets.insert(options.sets.end(), extra.begin(), extra.end());
    auto broker = std::make_unique<BrokerProcess>(options);
    https_port_ = listener_port(*broker, "https");
    return broker;
  }

  std::string url(std::string_view path) const {
    return "https://127.0.0.1:" + std::to_string(https_port_) + std::string(path);
  }

  // curl over TLS trusting `ca`; prints the status code last.
  ShellResult curl(const std::string& args, const std::string& ca = "ca.pem") const {
    return shell("curl -sS --max-time 20 --cacert " + pki_.path(ca) + " -w '\\n%{http_code}' " +
                 args);
  }

  TestPki pki_;
  uint16_t https_port_ = 0;
};

TEST_F(TlsTest, CurlTrustingTheCaGetsAnswers) {
  auto broker = start();
  const auto health = curl(url("/healthz"));
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_THAT(health.output, HasSubstr("\n200"));
  const auto produce = curl(
      "-X POST -H 'Content-Type: application/vnd.kafka.json.v2+json' "
      "-d '{\"records\":[{\"value\":{\"n\":1}}]}' " +
      url("/topics/tls/partitions/0"));
  EXPECT_THAT(produce.output, HasSubstr("\"offset\":0"));
  EXPECT_THAT(produce.output, HasSubstr("\n200"));
}

TEST_F(TlsTest, RawBatchFetchOverTlsSendsTheSameBytesAsPlain) {
  auto broker = start();
  std::string records = "{\"records\":[";
  for (int i = 0; i < 2000; ++i) {
    records += (i ? "," : "") + std::string("{\"value\":{\"n\":") + std::to_string(i) + "}}";
  }
  records += "]}";
  const auto produced = http_request(broker->port(), "POST", "/topics/raw/partitions/0", records,
                                     {{"Content-Type", "application/vnd.kafka.json.v2+json"}});
  ASSERT_EQ(produced.status, 200) << produced.body;
  const std::string target = "/topics/raw/partitions/0/records?offset=0&timeout=0";
  const auto plain =
      http_request(broker->port(), "GET", target, {}, {{"Accept", "application/vnd.sluice.batch"}});
  ASSERT_EQ(plain.status, 200);
  ASSERT_GT(plain.body.size(), 10000u);
  const std::string out = pki_.path("fetched.bin");
  const auto tls =
      curl("-H 'Accept: application/vnd.sluice.batch' -o " + out + " '" + url(target) + "'");
  EXPECT_THAT(tls.output, HasSubstr("200"));
  std::ifstream in(out, std::ios::binary);
  const std::string fetched((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(fetched, plain.body);
}

TEST_F(TlsTest, MegabytesEachWayCrossTlsIntactOnOneConnection) {
  auto broker = start();
  // A 3 MiB produce body over TLS: many records and socket reads per request.
  std::string records = "{\"records\":[";
  const std::string filler(1500, 'x');
  for (int i = 0; i < 2000; ++i) {
    records += (i ? "," : "") + std::string("{\"value\":\"") + std::to_string(i) + filler + "\"}";
  }
  records += "]}";
  const std::string body_file = pki_.path("body.json");
  std::ofstream(body_file, std::ios::binary) << records;
  const auto produced =
      curl("-X POST -H 'Content-Type: application/vnd.kafka.json.v2+json' --data-binary @" +
           body_file + " " + url("/topics/big/partitions/0"));
  ASSERT_THAT(produced.output, HasSubstr("\"offset\":1999"));
  ASSERT_THAT(produced.output, HasSubstr("\n200"));
  // Two multi-MiB raw fetches on one kept-alive connection (several 256 KiB writes each).
  const std::string target =
      "/topics/big/partitions/0/records?offset=0&timeout=0&max_bytes=8388608";
  const auto plain =
      http_request(broker->port(), "GET", target, {}, {{"Accept", "application/vnd.sluice.batch"}});
  ASSERT_EQ(plain.status, 200);
  ASSERT_GT(plain.body.size(), 3000000u);
  const auto tls =
      curl("-v -H 'Accept: application/vnd.sluice.batch' -o " + pki_.path("first.bin") + " -o " +
           pki_.path("second.bin") + " '" + url(target) + "' '" + url(target) + "'");
  EXPECT_THAT(tls.output, HasSubstr("Re-using existing connection"));
  for (const char* name : {"first.bin", "second.bin"}) {
    std::ifstream in(pki_.path(name), std::ios::binary);
    const std::string fetched((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(fetched.size(), plain.body.size()) << name;
    EXPECT_TRUE(fetched == plain.body) << name;
  }
}

TEST_F(TlsTest, ClientTrustingAnotherCaRefusesTheServer) {
  auto broker = start();
  const auto r = curl(url("/healthz"), "other-ca.pem");
  EXPECT_EQ(r.exit_code, 60) << r.output;  // CURLE_PEER_FAILED_VERIFICATION
}

TEST_F(TlsTest, ProtocolFloorRefusesOlderVersions) {
  auto broker = start({"ssl.protocol.min=TLSv1.3"});
  const std::string connect = "openssl s_client -connect 127.0.0.1:" + std::to_string(https_port_) +
                              " -CAfile " + pki_.path("ca.pem");
  const auto old = shell(connect + " -tls1_2");
  EXPECT_NE(old.exit_code, 0) << old.output;
  const auto current = shell(connect + " -tls1_3");
  EXPECT_EQ(current.exit_code, 0) << current.output;
  EXPECT_THAT(current.output, HasSubstr("TLSv1.3"));
  EXPECT_THAT(current.output, HasSubstr("Verify return code: 0 (ok)"));
}

TEST_F(TlsTest, DefaultFloorAcceptsTls12) {
  auto broker = start();
  const auto r =
      shell("openssl s_client -tls1_2 -connect 127.0.0.1:" + std::to_string(https_port_) +
            " -CAfile " + pki_.path("ca.pem"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Verify return code: 0 (ok)"));
}

TEST_F(TlsTest, RequiredClientCertificateIsEnforced) {
  auto broker = start({"ssl.ca.location=" + pki_.path("ca.pem"), "ssl.client.auth=required"});
  const auto without = curl(url("/healthz"));
  EXPECT_NE(without.exit_code, 0) << without.output;
  const auto with = curl("--cert " + pki_.path("client.pem") + " --key " + pki_.path("client.key") +
                         " " + url("/healthz"));
  EXPECT_EQ(with.exit_code, 0) << with.output;
  EXPECT_THAT(with.output, HasSubstr("\n200"));
}

TEST_F(TlsTest, MtlsPrincipalIsTheCertificateCommonName) {
  auto broker = start({"ssl.ca.location=" + pki_.path("ca.pem"), "ssl.client.auth=requested",
                       "listener.name.https.authentication.method=mtls", "log.level=debug"});
  const auto without = curl(url("/topics"));
  EXPECT_THAT(without.output, HasSubstr("\"error_code\":40101"));
  EXPECT_THAT(without.output, HasSubstr("\n401"));
  // The probes answer without a certificate.
  EXPECT_THAT(curl(url("/readyz")).output, HasSubstr("\n200"));
  const auto with = curl("--cert " + pki_.path("client.pem") + " --key " + pki_.path("client.key") +
                         " " + url("/topics"));
  EXPECT_THAT(with.output, HasSubstr("\n200"));
  EXPECT_TRUE(broker->wait_for_output("GET /topics 200 User:alice")) << broker->output();
  // The plain listener keeps authentication.method=none.
  EXPECT_EQ(http_request(broker->port(), "GET", "/topics").status, 200);
}

TEST_F(TlsTest, MappingRulesMakeThePrincipalFromTheSubject) {
  pki_.issue("bob", "/O=acme/OU=eng/CN=Bob", "extendedKeyUsage=clientAuth", 1);
  auto broker = start({"ssl.ca.location=" + pki_.path("ca.pem"), "ssl.client.auth=requested",
                       "listener.name.https.authentication.method=mtls", "log.level=debug",
                       "ssl.principal.mapping.rules=RULE:^CN=([^,]+),OU=eng,O=(.*)$/$1.$2/L,"
                       "DEFAULT"});
  const auto bob = curl("--cert " + pki_.path("bob.pem") + " --key " + pki_.path("bob.key") + " " +
                        url("/topics"));
  EXPECT_THAT(bob.output, HasSubstr("\n200"));
  EXPECT_TRUE(broker->wait_for_output("GET /topics 200 User:bob.acme")) << broker->output();
  // A subject no RULE matches falls to DEFAULT: the CN.
  const auto alice = curl("--cert " + pki_.path("client.pem") + " --key " +
                          pki_.path("client.key") + " " + url("/brokers"));
  EXPECT_THAT(alice.output, HasSubstr("\n200"));
  EXPECT_TRUE(broker->wait_for_output("GET /brokers 200 User:alice")) << broker->output();
}

TEST(PrincipalMappingTest, RulesApplyInOrderAndBadRulesAreRefused) {
  net::PrincipalMapping rules("RULE:^CN=([^,]+),OU=ServiceUsers,.*$/svc-$1/U, DEFAULT");
  EXPECT_EQ(rules.map("CN=kafka,OU=ServiceUsers,O=acme", "kafka"), "SVC-KAFKA");
  EXPECT_EQ(rules.map("CN=alice,O=acme", "alice"), "alice");
  EXPECT_EQ(rules.map("O=acme", ""), std::nullopt);  // DEFAULT needs a CN
  net::PrincipalMapping strict("RULE:^CN=(admin)$/$1/");
  EXPECT_EQ(strict.map("CN=admin", "admin"), "admin");
  EXPECT_EQ(strict.map("CN=eve", "eve"), std::nullopt);  // no rule applies: refused
  for (const char* bad : {"RULE:^CN=(.*$/$1/", "RULE:x/y", "NONSENSE", "DEFAULT,RULE:a/$2/", ""}) {
    EXPECT_THROW(net::PrincipalMapping{bad}, std::invalid_argument) << bad;
  }
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortGetsAClosedConnection) {
  auto broker = start();
  const std::string reply =
      raw_exchange(https_port_, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 5000);
  EXPECT_THAT(reply, Not(HasSubstr("HTTP/1.1")));
  EXPECT_THAT(curl(url("/healthz")).output, HasSubstr("\n200"));
}

TEST_F(TlsTest, GarbageBytesGetAClosedConnection) {
  auto broker = start({"http.read.timeout.ms=2000"});  // bytes that wait for more time out
  std::string garbage = "\x16\x03\x01\xff\xff";        // a handshake record claiming 64 KiB
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 131 + 7) % 256);
  for (const std::string& bytes :
       {garbage, std::string("\x16\x03\x03\x00\x05\x01\x00\x00\x01\x00", 10), std::string(1, '\0'),
        std::string("\x80\x80\x01\x03\x01", 5)}) {
    RawSocket socket(https_port_);
    socket.send(bytes);
    EXPECT_TRUE(socket.closed_within(15000));
  }
  EXPECT_THAT(curl(url("/healthz")).output, HasSubstr("\n200"));
  EXPECT_EQ(http_request(broker->port(), "GET", "/healthz").status, 200);
}

TEST_F(TlsTest, StalledHandshakesAreCutAndDoNotStarveOthers) {
  auto broker = start({"http.read.timeout.ms=1000"});
  std::vector<std::unique_ptr<RawSocket>> stalled;
  for (int i = 0; i < 50; ++i) {
    stalled.push_back(std::make_unique<RawSocket>(https_port_));
    stalled.back()->send(std::string("\x16\x03\x01\x02\x00\x01", 6));  // half a ClientHello
  }
  const auto start_time = std::chrono::steady_clock::now();
  EXPECT_THAT(curl(url("/healthz")).output, HasSubstr("\n200"));
  EXPECT_LT(std::chrono::steady_clock::now() - start_time, std::chrono::seconds(5));
  // The handshake timeout (at most http.read.timeout.ms) closes every stalled one.
  for (auto& socket : stalled) EXPECT_TRUE(socket->closed_within(10000));
}

TEST_F(TlsTest, ExpiredCertificateStopsStartUp) {
  pki_.issue("expired", "/CN=localhost", "subjectAltName=IP:127.0.0.1", 1, "-3d");
  const auto r = run_sluice({"serve", "--set", "log.dirs=" + pki_.path("data"), "--set",
                             "listeners=https://127.0.0.1:0", "--set",
                             "ssl.certificate.location=" + pki_.path("expired.pem"), "--set",
                             "ssl.key.location=" + pki_.path("expired.key")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("ssl.certificate.location '" + pki_.path("expired.pem") +
                                  "': the certificate expired on"));
}

TEST_F(TlsTest, BadFilesStopStartUpNamingFileAndReason) {
  auto serve = [this](const std::string& cert, const std::string& key) {
    return run_sluice({"serve", "--set", "log.dirs=" + pki_.path("data"), "--set",
                       "listeners=https://127.0.0.1:0", "--set", "ssl.certificate.location=" + cert,
                       "--set", "ssl.key.location=" + key});
  };
  const auto missing = serve(pki_.path("nope.pem"), pki_.path("server.key"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.output, HasSubstr("ssl.certificate.location '" + pki_.path("nope.pem") +
                                        "': No such file or directory"));
  const auto mismatch = serve(pki_.path("server.pem"), pki_.path("client.key"));
  EXPECT_EQ(mismatch.exit_code, 2);
  EXPECT_THAT(mismatch.output, HasSubstr("ssl.key.location '" + pki_.path("client.key") +
                                         "': the key does not match the certificate in '" +
                                         pki_.path("server.pem") + "'"));
  const auto not_a_key = serve(pki_.path("server.pem"), pki_.path("server.pem"));
  EXPECT_EQ(not_a_key.exit_code, 2);
  EXPECT_THAT(not_a_key.output, HasSubstr("': not a PEM private key"));
}

// One keep-alive HTTPS connection made in the test, to watch it survive a reload.
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& ca) : ssl_(asio::ssl::context::tls_client) {
    ssl_.load_verify_file(ca);
    ssl_.set_verify_mode(asio::ssl::verify_peer);
    stream_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io_, ssl_);
    stream_->next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    stream_->handshake(asio::ssl::stream_base::client);
  }
  int get(const std::string& target) {
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, "127.0.0.1");
    http::write(*stream_, request);
    http::response<http::string_body> response;
    http::read(*stream_, buffer_, response);
    return response.result_int();
  }
  std::string peer_subject() {
    X509* cert = SSL_get1_peer_certificate(stream_->native_handle());
    char line[256] = {};
    X509_NAME_oneline(X509_get_subject_name(cert), line, sizeof(line));
    X509_free(cert);
    return line;
  }

 private:
  asio::io_context io_;
  asio::ssl::context ssl_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> stream_;
  beast::flat_buffer buffer_;
};

TEST_F(TlsTest, SighupReloadsTheCertificateWithoutDroppingConnections) {
  auto broker = start();
  TlsClient before(https_port_, pki_.path("ca.pem"));
  ASSERT_EQ(before.get("/healthz"), 200);
  EXPECT_EQ(before.peer_subject(), "/CN=localhost");
  // The rotated certificate has another subject, so the test sees which one a client gets.
  pki_.issue("rotated", "/CN=rotated", "subjectAltName=IP:127.0.0.1", 1);
  std::filesystem::copy_file(pki_.path("rotated.pem"), pki_.path("server.pem"),
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(pki_.path("rotated.key"), pki_.path("server.key"),
                             std::filesystem::copy_options::overwrite_existing);
  ::kill(broker->pid(), SIGHUP);
  broker->wait_for_output("TLS certificate and key re-read");
  EXPECT_EQ(before.get("/healthz"), 200);  // the open connection carries on
  TlsClient after(https_port_, pki_.path("ca.pem"));
  EXPECT_EQ(after.get("/healthz"), 200);
  EXPECT_EQ(after.peer_subject(), "/CN=rotated");
  // A broken file at the next SIGHUP is refused; the rotated certificate stays.
  std::ofstream(pki_.path("server.pem")) << "not a certificate";
  ::kill(broker->pid(), SIGHUP);
  broker->wait_for_output("not re-read, the previous ones stay");
  TlsClient later(https_port_, pki_.path("ca.pem"));
  EXPECT_EQ(later.get("/healthz"), 200);
  EXPECT_EQ(later.peer_subject(), "/CN=rotated");
}

}  // namespace
}  // namespace sluice::testing
