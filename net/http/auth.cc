#include "net/http/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace sluice::net {
namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::string sha256(std::string_view a, std::string_view b) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  EVP_DigestUpdate(md, a.data(), a.size());
  EVP_DigestUpdate(md, b.data(), b.size());
  EVP_DigestFinal_ex(md, digest, &n);
  EVP_MD_CTX_free(md);
  return std::string(reinterpret_cast<const char*>(digest), n);
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Reply unauthorized(std::string message, bool basic) {
  Reply reply = error_reply({http::status::unauthorized, 40101, std::move(message)});
  if (basic) reply.message.set(http::field::www_authenticate, "Basic realm=\"sluice\"");
  return reply;
}

// A verification against a user that does not exist costs what a real one costs, so the
// answer's timing does not tell which names exist.
const UserEntry& decoy_entry() {
  static const UserEntry entry = hash_password("decoy");
  return entry;
}

}  // namespace

BasicAuthenticator::BasicAuthenticator(std::filesystem::path users_file)
    : file_(std::move(users_file)),
      users_(std::make_shared<const Users>(read_users_file(file_))),
      stamp_(stamp()),
      last_check_(std::chrono::steady_clock::now()) {
  (void)decoy_entry();  // made now rather than on the first unknown user
}

BasicAuthenticator::~BasicAuthenticator() { hasher_.join(); }

std::optional<BasicAuthenticator::FileStamp> BasicAuthenticator::stamp() const {
  std::error_code ec;
  FileStamp s{std::filesystem::last_write_time(file_, ec), 0};
  if (ec) return std::nullopt;
  s.size = std::filesystem::file_size(file_, ec);
  if (ec) return std::nullopt;
  return s;
}

void BasicAuthenticator::reload_if_changed() {
  const auto now_stamp = stamp();
  {
    std::lock_guard lock(mu_);
    last_check_ = std::chrono::steady_clock::now();
    if (now_stamp == stamp_) return;
    stamp_ = now_stamp;
  }
  try {
    auto users = std::make_shared<const Users>(read_users_file(file_));
    spdlog::info("users file '{}' re-read: {} users", file_.string(), users->size());
    std::lock_guard lock(mu_);
    users_ = std::move(users);
    verified_.clear();
  } catch (const std::exception& e) {
    spdlog::error("users file not re-read, the previous users stay: {}", e.what());
  }
}

std::chrono::milliseconds BasicAuthenticator::delay_for(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(address);
  if (it == failures_.end() || it->second.count < kFreeFailures) return {};
  if (std::chrono::steady_clock::now() - it->second.last > kFailureWindow) return {};
  const int doublings = std::min(it->second.count - kFreeFailures, 10);
  return std::min(kMaxDelay, kFirstDelay * (1 << doublings));
}

void BasicAuthenticator::record(const std::string& address, bool success) {
  std::lock_guard lock(mu_);
  if (success) {
    failures_.erase(address);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (failures_.size() >= kMaxTrackedAddresses && !failures_.contains(address)) {
    std::erase_if(failures_,
                  [now](const auto& entry) { return now - entry.second.last > kFailureWindow; });
    if (failures_.size() >= kMaxTrackedAddresses) {
      auto oldest = std::min_element(failures_.begin(), failures_.end(), [](auto& a, auto& b) {
        return a.second.last < b.second.last;
      });
      failures_.erase(oldest);
    }
  }
  auto& f = failures_[address];
  if (now - f.last > kFailureWindow) f.count = 0;
  ++f.count;
  f.last = now;
}

asio::awaitable<std::optional<std::string>> BasicAuthenticator::authenticate(
    std::string_view authorization, const std::string& address) {
  auto credentials = parse_basic_authorization(authorization);
  if (const auto wait = delay_for(address); wait.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor, wait);
    co_await timer.async_wait(kNoThrow);
  }
  bool check_file = false;
  std::shared_ptr<const Users> users;
  {
    std::lock_guard lock(mu_);
    check_file = std::chrono::steady_clock::now() - last_check_ >= std::chrono::seconds(1);
  }
  if (check_file) reload_if_changed();
  if (!credentials) {
    record(address, false);
    co_return std::nullopt;
  }
  const UserEntry* entry = nullptr;
  std::string remembered;
  {
    std::lock_guard lock(mu_);
    users = users_;
    if (auto it = users->find(credentials->user); it != users->end()) entry = &it->second;
    if (auto it = verified_.find(credentials->user); entry != nullptr && it != verified_.end()) {
      remembered = it->second;
    }
  }
  bool ok = false;
  if (!remembered.empty() &&
      equal_constant_time(remembered, sha256(entry->salt, credentials->password))) {
    ok = true;
  } else {
    // PBKDF2 off the I/O thread; the coroutine resumes on its own executor.
    const UserEntry& checked = entry != nullptr ? *entry : decoy_entry();
    const std::string& password = credentials->password;
    ok = co_await asio::co_spawn(
        hasher_,
        [&checked, &password]() -> asio::awaitable<bool> {
          co_return verify_password(checked, password);
        },
        asio::use_awaitable);
    ok = ok && entry != nullptr;
    if (ok) {
      std::lock_guard lock(mu_);
      if (users_ == users) verified_[credentials->user] = sha256(entry->salt, password);
    }
  }
  record(address, ok);
  if (!ok) co_return std::nullopt;
  co_return "User:" + credentials->user;
}

bool is_cluster_token(std::string_view given, const std::string& token) {
  return !token.empty() && equal_constant_time(given, token);
}

asio::awaitable<std::optional<Reply>> authenticate(const ListenerAuth& auth, const Request& header,
                                                   const std::string& peer_cn,
                                                   RequestContext& context) {
  if (auth.method == AuthMethod::none || is_unauthenticated_path(header.target()) ||
      is_cluster_token(header[kClusterTokenHeader], auth.cluster_token)) {
    co_return std::nullopt;
  }
  if (auth.method == AuthMethod::mtls) {
    if (peer_cn.empty()) {
      co_return unauthorized(
          "Authentication required: send a client certificate whose subject names a principal "
          "(its CN, or as ssl.principal.mapping.rules says)",
          false);
    }
    context.principal = "User:" + peer_cn;
    co_return std::nullopt;
  }
  const auto authorization = header[http::field::authorization];
  if (authorization.empty()) {
    co_return unauthorized("Authentication required: send HTTP Basic credentials", true);
  }
  auto principal = co_await auth.basic->authenticate(authorization, context.peer_address);
  if (!principal) co_return unauthorized("Wrong user name or password", true);
  context.principal = std::move(*principal);
  co_return std::nullopt;
}

}  // namespace sluice::net
