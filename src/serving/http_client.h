#pragma once

// A minimal blocking HTTP/1.1 client with keep-alive, for `raypipe endpoint invoke`, the tests
// and the benchmark driver. Not thread-safe: one connection, one caller at a time.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace raypipe::serving {

struct HttpClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::string_view Header(std::string_view lower_name) const;
};

class HttpClient {
 public:
  // Connects to host:port (IPv4 or "localhost"). Unavailable naming host:port when refused.
  static Result<std::unique_ptr<HttpClient>> Connect(
      const std::string& host, int port,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads its response (Content-Length or read-to-close bodies). After a
  // response with `Connection: close` the next call fails with FailedPrecondition.
  Result<HttpClientResponse> Send(
      std::string_view method, std::string_view target,
      const std::vector<std::pair<std::string, std::string>>& headers = {},
      std::string_view body = {});

  // Writes raw bytes and reads one response; for tests of malformed requests.
  Result<HttpClientResponse> SendRaw(std::string_view bytes);

 private:
  explicit HttpClient(int fd, std::string where) : fd_(fd), where_(std::move(where)) {}
  Result<HttpClientResponse> ReadResponse();

  int fd_;
  std::string where_;  // "host:port", for errors
  std::string buffer_;  // bytes read past the previous response
  bool closed_ = false;
};

}  // namespace raypipe::serving
