#include "net/http/users_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/base64.h"
#include "common/check.h"

namespace sluice::net {
namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

std::string pbkdf2(std::string_view password, std::string_view salt, uint32_t iterations) {
  std::string out(kHashBytes, '\0');
  const int ok =
      PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  SLUICE_CHECK(ok == 1, "PKCS5_PBKDF2_HMAC failed");
  return out;
}

}  // namespace

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ':' || c == ' ' || u < 0x21 || u == 0x7f) return false;
  }
  return true;
}

UserEntry hash_password(std::string_view password, uint32_t iterations) {
  UserEntry entry;
  entry.iterations = iterations;
  entry.salt.resize(kSaltBytes);
  SLUICE_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(entry.salt.data()),
                          static_cast<int>(kSaltBytes)) == 1,
               "RAND_bytes failed");
  entry.hash = pbkdf2(password, entry.salt, iterations);
  return entry;
}

bool verify_password(const UserEntry& entry, std::string_view password) {
  const std::string hash = pbkdf2(password, entry.salt, entry.iterations);
  return hash.size() == entry.hash.size() &&
         CRYPTO_memcmp(hash.data(), entry.hash.data(), hash.size()) == 0;
}

Users parse_users(std::string_view text, std::string_view source) {
  Users users;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](std::string_view why) {
      return std::runtime_error(fmt::format("{}:{}: {} (expected NAME:{}:ITERATIONS:SALT:HASH)",
                                            source, line_number, why, kScheme));
    };
    std::string_view fields[5];
    for (size_t i = 0; i < 5; ++i) {
      const size_t colon = line.find(':');
      if ((i < 4) == (colon == std::string_view::npos)) throw bad("not five ':'-separated fields");
      fields[i] = line.substr(0, colon);
      line = i < 4 ? line.substr(colon + 1) : std::string_view{};
    }
    if (!valid_user_name(fields[0])) throw bad(fmt::format("bad user name '{}'", fields[0]));
    if (fields[1] != kScheme) throw bad(fmt::format("unknown hash scheme '{}'", fields[1]));
    UserEntry entry;
    auto [end, ec] =
        std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), entry.iterations);
    if (ec != std::errc{} || end != fields[2].data() + fields[2].size() || entry.iterations < 1 ||
        entry.iterations > 100'000'000) {
      throw bad(fmt::format("bad iteration count '{}'", fields[2]));
    }
    if (!base64_decode(fields[3], entry.salt) || entry.salt.empty()) throw bad("bad salt");
    if (!base64_decode(fields[4], entry.hash) || entry.hash.size() != kHashBytes) {
      throw bad("bad hash");
    }
    if (users.contains(fields[0])) throw bad(fmt::format("user '{}' appears twice", fields[0]));
    users.emplace(std::string(fields[0]), std::move(entry));
  }
  return users;
}

std::string render_users(const Users& users) {
  std::string out;
  for (const auto& [name, entry] : users) {
    out += fmt::format("{}:{}:{}:{}:{}\n", name, kScheme, entry.iterations,
                       base64_encode(entry.salt), base64_encode(entry.hash));
  }
  return out;
}

Users read_users_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw std::runtime_error(
        fmt::format("cannot read users file '{}': {}", file.string(), std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_users(text.str(), file.string());
}

void write_users_file(const std::filesystem::path& file, const Users& users) {
  const std::string text = render_users(users);
  const std::filesystem::path temp = file.string() + ".tmp";
  auto fail = [&file](std::string_view what) {
    return std::runtime_error(fmt::format("cannot write users file '{}': {}: {}", file.string(),
                                          what, std::strerror(errno)));
  };
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw fail("open");
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      ::unlink(temp.c_str());
      throw fail("write");
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  if (!(::close(fd) == 0 && synced)) {
    ::unlink(temp.c_str());
    throw fail("fsync");
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw fail("rename");
  }
}

}  // namespace sluice::net
