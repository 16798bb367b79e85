#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

// The users file of HTTP Basic authentication (authentication.basic.users.file): one user a
// line, never a password in clear:
//
//   NAME:pbkdf2-sha256:ITERATIONS:SALT:HASH
//
// SALT (16 random bytes) and HASH (32 bytes of PBKDF2-HMAC-SHA-256 of the password with that
// salt) in base64. '#' starts a comment line; blank lines are skipped. A name is 1 to 255
// bytes without ':', whitespace or control characters.
namespace sluice::net {

struct UserEntry {
  uint32_t iterations = 0;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes
};

using Users = std::map<std::string, UserEntry, std::less<>>;

// The PBKDF2 iterations of a new entry.
inline constexpr uint32_t kPasswordIterations = 210000;

// Whether `name` may name a user (see above).
bool valid_user_name(std::string_view name);

// A new entry for `password`, with a fresh random salt.
UserEntry hash_password(std::string_view password, uint32_t iterations = kPasswordIterations);
// Whether `password` is the one `entry` was made from; constant-time in the comparison.
bool verify_password(const UserEntry& entry, std::string_view password);

// Parses the file's text; throws std::runtime_error naming `source`:line and what is wrong.
Users parse_users(std::string_view text, std::string_view source);
// The file's text for `users`, in name order.
std::string render_users(const Users& users);

// Reads and parses a users file; throws std::runtime_error naming the file and the reason.
Users read_users_file(const std::filesystem::path& file);
// Replaces the file with `users` atomically (a temporary file renamed over it), mode 0600.
// Throws std::runtime_error naming the file and the reason.
void write_users_file(const std::filesystem::path& file, const Users& users);

}  // namespace sluice::net
