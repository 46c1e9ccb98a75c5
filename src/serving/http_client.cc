#include "serving/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

namespace raypipe::serving {

namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string_view HttpClientResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

Result<std::unique_ptr<HttpClient>> HttpClient::Connect(const std::string& host, int port,
                                                        std::chrono::milliseconds timeout) {
  const std::string where = host + ":" + std::to_string(port);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  const std::string ip = (host == "localhost" || host == "0.0.0.0") ? "127.0.0.1" : host;
  if (port <= 0 || port > 65535 || ::inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    return InvalidArgumentError("cannot connect to " + where + ": not an IPv4 address and port");
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return UnavailableError("cannot create a socket: " + std::string(strerror(errno)));
  std::unique_ptr<HttpClient> client(new HttpClient(fd, where));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return UnavailableError("cannot connect to " + where + ": " + std::strerror(errno));
  }
  return client;
}

HttpClient::~HttpClient() {
  if (fd_ >= 0) ::close(fd_);
}

Result<HttpClientResponse> HttpClient::Send(
    std::string_view method, std::string_view target,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body) {
  std::string request;
  request.reserve(256 + body.size());
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  request.append(where_).append("\r\nContent-Length: ").append(std::to_string(body.size()));
  request.append("\r\n");
  for (const auto& [name, value] : headers) request.append(name).append(": ").append(value).append("\r\n");
  request.append("\r\n").append(body);
  return SendRaw(request);
}

Result<HttpClientResponse> HttpClient::SendRaw(std::string_view bytes) {
  if (closed_) return FailedPreconditionError("the server at " + where_ + " closed the connection");
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The server may have answered early (413) and closed; read its answer if there is one.
      break;
    }
    sent += static_cast<size_t>(n);
  }
  return ReadResponse();
}

Result<HttpClientResponse> HttpClient::ReadResponse() {
  HttpClientResponse response;
  auto read_more = [&]() -> Result<bool> {
    char chunk[16384];
    while (true) {
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      if (errno == ECONNRESET && !buffer_.empty()) return false;
      return UnavailableError("cannot read from " + where_ + ": " + std::strerror(errno));
    }
  };
  while (true) {
    size_t head_end = buffer_.find("\r\n\r\n");
    while (head_end == std::string::npos) {
      ASSIGN_OR_RETURN(bool more, read_more());
      if (!more) {
        closed_ = true;
        return UnavailableError("the server at " + where_ + " closed the connection");
      }
      head_end = buffer_.find("\r\n\r\n");
    }
    std::string_view head(buffer_.data(), head_end);
    const size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
      return InternalError("malformed status line from " + where_);
    }
    int status = 0;
    std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
    response = HttpClientResponse();
    response.status = status;
    std::optional<size_t> length;
    bool close = false;
    std::string_view lines =
        line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
    while (!lines.empty()) {
      const size_t next = lines.find("\r\n");
      std::string_view line = lines.substr(0, next);
      lines = next == std::string_view::npos ? std::string_view() : lines.substr(next + 2);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = Lower(line.substr(0, colon));
      std::string value(Trim(line.substr(colon + 1)));
      if (name == "content-length") {
        size_t parsed = 0;
        std::from_chars(value.data(), value.data() + value.size(), parsed);
        length = parsed;
      } else if (name == "connection" && Lower(value).find("close") != std::string::npos) {
        close = true;
      }
      response.headers.emplace_back(std::move(name), std::move(value));
    }
    const size_t body_start = head_end + 4;
    if (status == 100) {  // an interim answer: the real one follows
      buffer_.erase(0, body_start);
      continue;
    }
    if (length) {
      while (buffer_.size() < body_start + *length) {
        ASSIGN_OR_RETURN(bool more, read_more());
        if (!more) {
          closed_ = true;
          return UnavailableError("the server at " + where_ + " closed the connection mid-body");
        }
      }
      response.body = buffer_.substr(body_start, *length);
      buffer_.erase(0, body_start + *length);
    } else {
      while (true) {
        ASSIGN_OR_RETURN(bool more, read_more());
        if (!more) break;
      }
      response.body = buffer_.substr(body_start);
      buffer_.clear();
      close = true;
    }
    if (close) closed_ = true;
    return response;
  }
}

}  // namespace raypipe::serving
