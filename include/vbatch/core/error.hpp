#pragma once
// Errors in two tiers: `status` (never throws; what `can_*` checks return) and `vbatch::error`
// (what the convenience calls throw). Both carry a category and a message that names the function,
// the parameter or file, and the offending value.

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "vbatch/core/config.hpp"

namespace vbatch::inline v0 {

enum class errc {
  ok = 0,
  invalid_argument,  // a parameter is out of its domain (size, angle, FOV, shape mismatch)
  limit_exceeded,    // an input is larger than a configured limit (pixel count, dimensions)
  io,                // a file could not be opened, read, written or renamed
  corrupt_data,      // a file's content cannot be decoded
  out_of_memory,     // an allocation failed
  unsupported,       // a valid request this build or backend does not provide
  cuda,              // the CUDA runtime reported an error
};

constexpr const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::invalid_argument:
      return "invalid argument";
    case errc::limit_exceeded:
      return "limit exceeded";
    case errc::io:
      return "i/o error";
    case errc::corrupt_data:
      return "corrupt data";
    case errc::out_of_memory:
      return "out of memory";
    case errc::unsupported:
      return "unsupported";
    case errc::cuda:
      return "cuda error";
  }
  return "unknown";
}

class error : public std::runtime_error {
 public:
  error(errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  errc code() const noexcept { return code_; }

 private:
  errc code_;
};

// The non-throwing result of a check. Converts to true when everything is fine.
struct [[nodiscard]] status {
  errc code = errc::ok;
  std::string message;

  static status success() { return {}; }
  explicit operator bool() const noexcept { return code == errc::ok; }
};

namespace detail {
// Replaces each "{}" in `pattern` by the next argument, streamed. vbatch's messages need nothing
// more, and this keeps the headers free of fmt, whose compile-time checks nvcc cannot compile.
template <class... Args>
std::string format(std::string_view pattern, const Args&... args) {
  std::ostringstream out;
  out.precision(10);
  std::size_t pos = 0;
  [[maybe_unused]] const auto next = [&](const auto& arg) {
    const std::size_t hole = pattern.find("{}", pos);
    if (hole == std::string_view::npos) return;
    out << pattern.substr(pos, hole - pos);
    if constexpr (std::is_same_v<std::decay_t<decltype(arg)>, unsigned char> ||
                  std::is_same_v<std::decay_t<decltype(arg)>, signed char>)
      out << int(arg);
    else
      out << arg;
    pos = hole + 2;
  };
  (next(args), ...);
  out << pattern.substr(pos);
  return out.str();
}
}  // namespace detail

template <class... Args>
status fail(errc code, std::string_view format, const Args&... args) {
  return status{code, detail::format(format, args...)};
}

template <class... Args>
[[noreturn]] void raise(errc code, std::string_view format, const Args&... args) {
  throw error(code, detail::format(format, args...));
}

// Turns a failed check into an exception.
inline void check(status s) {
  if (!s) throw error(s.code, std::move(s.message));
}

}  // namespace vbatch::inline v0
