#include "serving/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <mutex>
#include <unordered_map>

namespace raypipe::serving {

namespace {

using Clock = std::chrono::steady_clock;

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string ErrnoText(int error) { return std::strerror(error); }

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ToLower(c);
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool ContainsToken(std::string_view value, std::string_view token) {
  return Lower(value).find(token) != std::string::npos;
}

// The outcome of looking at the front of a connection's input buffer.
enum class HeadState { kIncomplete, kComplete, kError };

struct ParsedHead {
  HeadState state = HeadState::kIncomplete;
  size_t head_bytes = 0;      // through the blank line
  size_t content_length = 0;
  bool keep_alive = true;
  bool expect_continue = false;
  int error_status = 400;     // when kError
  std::string error;
};

// Parses the request line and headers at the front of `data` into `request` (body not set).
ParsedHead ParseHead(std::string_view data, size_t max_header_bytes, HttpRequest& request) {
  ParsedHead head;
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > max_header_bytes) {
      head.state = HeadState::kError;
      head.error_status = 431;
      head.error = "request headers exceed " + std::to_string(max_header_bytes) + " bytes";
    }
    return head;
  }
  if (end + 4 > max_header_bytes) {
    head.state = HeadState::kError;
    head.error_status = 431;
    head.error = "request headers exceed " + std::to_string(max_header_bytes) + " bytes";
    return head;
  }
  head.head_bytes = end + 4;
  head.state = HeadState::kError;
  std::string_view lines = data.substr(0, end);
  const size_t line_end = lines.find("\r\n");
  std::string_view request_line = lines.substr(0, line_end);
  lines = line_end == std::string_view::npos ? std::string_view() : lines.substr(line_end + 2);

  const size_t first_space = request_line.find(' ');
  const size_t last_space = request_line.rfind(' ');
  if (first_space == std::string_view::npos || last_space == first_space) {
    head.error = "malformed request line";
    return head;
  }
  request.method = std::string(request_line.substr(0, first_space));
  request.target = std::string(request_line.substr(first_space + 1, last_space - first_space - 1));
  const std::string_view version = request_line.substr(last_space + 1);
  if (request.method.empty() || request.target.empty() || request.target.front() != '/') {
    head.error = "malformed request line";
    return head;
  }
  if (version == "HTTP/1.0") {
    head.keep_alive = false;
  } else if (version != "HTTP/1.1") {
    head.error_status = 505;
    head.error = "unsupported HTTP version";
    return head;
  }
  request.path = request.target.substr(0, request.target.find('?'));

  bool has_length = false;
  while (!lines.empty()) {
    const size_t next = lines.find("\r\n");
    std::string_view line = lines.substr(0, next);
    lines = next == std::string_view::npos ? std::string_view() : lines.substr(next + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      head.error = "malformed header line";
      return head;
    }
    std::string name = Lower(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (name == "content-length") {
      size_t length = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (ec != std::errc() || ptr != value.data() + value.size() ||
          (has_length && length != head.content_length)) {
        head.error = "invalid Content-Length";
        return head;
      }
      has_length = true;
      head.content_length = length;
    } else if (name == "transfer-encoding") {
      head.error_status = 411;
      head.error = "chunked bodies are not supported: send Content-Length";
      return head;
    } else if (name == "connection") {
      if (ContainsToken(value, "close")) head.keep_alive = false;
      if (ContainsToken(value, "keep-alive")) head.keep_alive = true;
    } else if (name == "expect") {
      head.expect_continue = ContainsToken(value, "100-continue");
    }
    request.headers.emplace_back(std::move(name), std::string(value));
  }
  head.state = HeadState::kComplete;
  return head;
}

void AppendResponse(const HttpResponse& response, bool keep_alive, std::string& out) {
  out.append("HTTP/1.1 ");
  out.append(std::to_string(response.status));
  out.push_back(' ');
  out.append(ReasonPhrase(response.status));
  out.append("\r\nContent-Type: ");
  out.append(response.content_type);
  out.append("\r\nContent-Length: ");
  out.append(std::to_string(response.body.size()));
  out.append(keep_alive ? "\r\n" : "\r\nConnection: close\r\n");
  for (const auto& [name, value] : response.headers) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
  out.append("\r\n");
  out.append(response.body);
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// One event loop. Whichever loop the kernel wakes for the shared listening socket accepts, and
// hands each new connection to the loop that holds the fewest (itself on a tie); from then on
// only that loop's thread touches the connection.
//
// Why hand off: with EPOLLEXCLUSIVE the kernel wakes one loop, which accepts everything queued,
// so a burst of keep-alive connections (wrk's 64 at start, a load balancer's pool) landed
// unevenly, 64/0 and 61/3 in measurements on 2 loops: one loop answered nearly every request
// while the other cores idled, for as long as those connections lived.
class HttpServer::Worker {
 public:
  Worker(const HttpServerOptions& options, const HttpHandler& handler, int listen_fd,
         const std::vector<std::unique_ptr<Worker>>& siblings)
      : options_(options), handler_(handler), listen_fd_(listen_fd), siblings_(siblings) {}

  // Creates the event loop; Start() runs it.
  Status Init() {
    epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
    wake_ = Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (epoll_.get() < 0 || wake_.get() < 0) {
      return UnavailableError("cannot create an event loop: " + ErrnoText(errno));
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLEXCLUSIVE;
    event.data.fd = listen_fd_;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listen_fd_, &event) != 0) {
      return UnavailableError("cannot watch the listening socket: " + ErrnoText(errno));
    }
    event.events = EPOLLIN;
    event.data.fd = wake_.get();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &event) != 0) {
      return UnavailableError("cannot watch the wake-up descriptor: " + ErrnoText(errno));
    }
    return Status::Ok();
  }

  // REQUIRES: every sibling is Init()ed (a running loop may hand connections to any of them).
  void Start() { thread_ = std::thread([this] { Run(); }); }

  // Asks the loop to drain until `deadline`; safe from any thread.
  void BeginDrain(Clock::time_point deadline) {
    {
      std::lock_guard<std::mutex> lock(drain_mutex_);
      drain_deadline_ = deadline;
    }
    draining_.store(true);
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(wake_.get(), &one, sizeof(one));
  }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  // Connections this loop serves, counting those handed to it and not yet picked up.
  size_t load() const { return load_.load(std::memory_order_relaxed); }

  // Gives this loop a connection another loop accepted (its load() already counts it); safe
  // from any thread. A loop that has stopped closes it.
  void HandOff(Fd fd) {
    {
      std::lock_guard<std::mutex> lock(inbox_mutex_);
      if (!inbox_open_) {
        load_.fetch_sub(1, std::memory_order_relaxed);
        return;  // `fd` closes here
      }
      inbox_.push_back(std::move(fd));
    }
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(wake_.get(), &one, sizeof(one));
  }

 private:
  struct Connection {
    Fd fd;
    std::string in;
    std::string out;
    size_t out_offset = 0;
    bool close_after_write = false;
    bool continue_sent = false;
    bool want_write = false;
    Clock::time_point last_active;
  };

  void Run() {
    std::vector<epoll_event> events(256);
    bool drain_started = false;
    Clock::time_point deadline;
    Clock::time_point last_sweep = Clock::now();
    while (true) {
      if (draining_.load() && !drain_started) {
        drain_started = true;
        {
          std::lock_guard<std::mutex> lock(drain_mutex_);
          deadline = drain_deadline_;
        }
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listen_fd_, nullptr);
        std::vector<int> idle;
        for (auto& [fd, connection] : connections_) {
          if (connection->in.empty() && connection->out_offset >= connection->out.size()) {
            idle.push_back(fd);
          } else {
            connection->close_after_write = true;
          }
        }
        for (int fd : idle) Close(fd);
      }
      if (drain_started && (connections_.empty() || Clock::now() >= deadline)) break;
      const int count = ::epoll_wait(epoll_.get(), events.data(),
                                     static_cast<int>(events.size()), drain_started ? 50 : 1000);
      if (count < 0 && errno != EINTR) break;
      bool served = false;
      for (int event_idx = 0; event_idx < count; ++event_idx) {
        const int fd = events[event_idx].data.fd;
        if (fd == wake_.get()) {
          uint64_t value = 0;
          [[maybe_unused]] ssize_t read_bytes = ::read(fd, &value, sizeof(value));
          TakeHandedOff();
        } else if (fd == listen_fd_) {
          if (!draining_.load()) Accept();
        } else {
          OnEvent(fd, events[event_idx].events);
          served = true;
        }
      }
      // See HttpServerOptions::yield_mode.
      if (served && options_.yield_mode == YieldMode::kAlways) {
        sched_yield();
      } else if (served && options_.yield_mode == YieldMode::kAdaptive) {
        const auto start = Clock::now();
        if (yield_policy_.ShouldYield(start)) {
          sched_yield();
          yield_policy_.Yielded(start, Clock::now());
        }
      }
      const auto now = Clock::now();
      if (now - last_sweep > std::chrono::seconds(1)) {
        last_sweep = now;
        std::vector<int> expired;
        for (auto& [fd, connection] : connections_) {
          if (now - connection->last_active > options_.idle_timeout) expired.push_back(fd);
        }
        for (int fd : expired) Close(fd);
      }
    }
    std::vector<Fd> unclaimed;  // closed on return
    {
      std::lock_guard<std::mutex> lock(inbox_mutex_);
      inbox_open_ = false;
      unclaimed.swap(inbox_);
    }
    load_.fetch_sub(connections_.size() + unclaimed.size(), std::memory_order_relaxed);
    connections_.clear();  // cuts whatever is left after the deadline
  }

  void Accept() {
    while (true) {
      Fd fd(::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (fd.get() < 0) return;  // EAGAIN (another worker took it) or a transient error
      const int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      Worker* target = this;
      for (const auto& sibling : siblings_) {
        if (sibling->load() < target->load()) target = sibling.get();
      }
      target->load_.fetch_add(1, std::memory_order_relaxed);
      if (target == this) {
        Adopt(std::move(fd));
      } else {
        target->HandOff(std::move(fd));
      }
    }
  }

  // Connections other loops handed to this one; closed unaccepted while draining.
  void TakeHandedOff() {
    std::vector<Fd> handed;
    {
      std::lock_guard<std::mutex> lock(inbox_mutex_);
      handed.swap(inbox_);
    }
    for (Fd& fd : handed) {
      if (draining_.load()) {
        load_.fetch_sub(1, std::memory_order_relaxed);
        continue;
      }
      Adopt(std::move(fd));
    }
  }

  // Serves `fd` on this loop. REQUIRES: load_ already counts it.
  void Adopt(Fd fd) {
    const int raw_fd = fd.get();
    auto connection = std::make_unique<Connection>();
    connection->fd = std::move(fd);
    connection->last_active = Clock::now();
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.fd = raw_fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, raw_fd, &event) != 0) {
      load_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    connections_.emplace(raw_fd, std::move(connection));
  }

  void Close(int fd) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    if (connections_.erase(fd) > 0) load_.fetch_sub(1, std::memory_order_relaxed);
  }

  void OnEvent(int fd, uint32_t events) {
    auto found = connections_.find(fd);
    if (found == connections_.end()) return;
    Connection& connection = *found->second;
    connection.last_active = Clock::now();
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      bool peer_closed = false;
      char buffer[16384];
      while (true) {
        const ssize_t n = ::read(fd, buffer, sizeof(buffer));
        if (n > 0) {
          // Bytes after a response that closes the connection are ignored.
          if (!connection.close_after_write || draining_.load()) {
            connection.in.append(buffer, static_cast<size_t>(n));
          }
          continue;
        }
        if (n == 0) peer_closed = true;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) peer_closed = true;
        break;
      }
      ProcessInput(connection);
      if (peer_closed) {
        // A peer that half-closed still gets the answers already produced.
        FlushOutput(connection);
        Close(fd);
        return;
      }
    }
    if (!FlushOutput(connection)) {
      Close(fd);
      return;
    }
    // Close once the last answer is out, unless (draining) a request is still arriving.
    if (connection.close_after_write && connection.out_offset >= connection.out.size() &&
        (connection.in.empty() || !draining_.load())) {
      Close(fd);
    }
  }

  // Answers every complete request at the front of the input.
  void ProcessInput(Connection& connection) {
    while (!connection.close_after_write || (draining_.load() && !connection.in.empty())) {
      if (connection.in.empty()) return;
      HttpRequest request;
      ParsedHead head = ParseHead(connection.in, options_.max_header_bytes, request);
      if (head.state == HeadState::kIncomplete) return;
      if (head.state == HeadState::kError) {
        Reject(connection, head.error_status, head.error);
        return;
      }
      if (head.content_length > options_.max_body_bytes) {
        Reject(connection, 413,
               "request body of " + std::to_string(head.content_length) +
                   " bytes exceeds the limit of " + std::to_string(options_.max_body_bytes) +
                   " bytes");
        return;
      }
      if (connection.in.size() < head.head_bytes + head.content_length) {
        if (head.expect_continue && !connection.continue_sent) {
          connection.continue_sent = true;
          connection.out.append("HTTP/1.1 100 Continue\r\n\r\n");
        }
        return;
      }
      request.body = connection.in.substr(head.head_bytes, head.content_length);
      connection.in.erase(0, head.head_bytes + head.content_length);
      connection.continue_sent = false;
      HttpResponse response;
      try {
        handler_(request, response);
      } catch (const std::exception& exception) {
        response = HttpResponse();
        response.status = 500;
        response.body = std::string("internal error: ") + exception.what() + "\n";
      } catch (...) {
        response = HttpResponse();
        response.status = 500;
        response.body = "internal error\n";
      }
      const bool keep_alive = head.keep_alive && !draining_.load();
      AppendResponse(response, keep_alive, connection.out);
      if (!keep_alive) {
        connection.close_after_write = true;
        connection.in.clear();
        return;
      }
    }
  }

  void Reject(Connection& connection, int status, std::string message) {
    HttpResponse response;
    response.status = status;
    response.body = std::move(message) + "\n";
    AppendResponse(response, false, connection.out);
    connection.close_after_write = true;
    connection.in.clear();
  }

  // Writes what it can; false when the connection is broken.
  bool FlushOutput(Connection& connection) {
    while (connection.out_offset < connection.out.size()) {
      const ssize_t n = ::send(connection.fd.get(), connection.out.data() + connection.out_offset,
                               connection.out.size() - connection.out_offset, MSG_NOSIGNAL);
      if (n > 0) {
        connection.out_offset += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return false;
    }
    const bool pending = connection.out_offset < connection.out.size();
    if (!pending) {
      connection.out.clear();
      connection.out_offset = 0;
    }
    if (pending != connection.want_write) {
      connection.want_write = pending;
      epoll_event event{};
      event.events = EPOLLIN | EPOLLRDHUP | (pending ? EPOLLOUT : 0u);
      event.data.fd = connection.fd.get();
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, connection.fd.get(), &event);
    }
    return true;
  }

  const HttpServerOptions& options_;
  const HttpHandler& handler_;
  const int listen_fd_;
  const std::vector<std::unique_ptr<Worker>>& siblings_;  // every loop, this one included
  Fd epoll_;
  Fd wake_;
  std::thread thread_;
  std::atomic<bool> draining_{false};
  std::mutex drain_mutex_;  // guards drain_deadline_
  Clock::time_point drain_deadline_;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;  // only the loop's thread
  YieldPolicy yield_policy_;  // only the loop's thread
  std::atomic<size_t> load_{0};  // connections_.size() plus handed-off fds not yet adopted
  std::mutex inbox_mutex_;       // guards inbox_ and inbox_open_
  std::vector<Fd> inbox_;        // connections handed to this loop by others
  bool inbox_open_ = true;       // false once the loop has stopped
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler, int listen_fd, int port)
    : options_(std::move(options)), handler_(std::move(handler)), listen_fd_(listen_fd),
      port_(port) {}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                      HttpHandler handler) {
  if (options.port < 0 || options.port > 65535) {
    return InvalidArgumentError("port " + std::to_string(options.port) +
                                " is out of range 0..65535");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(options.port));
  const std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return InvalidArgumentError("host '" + options.host +
                                "' is not an IPv4 address (for example 127.0.0.1 or 0.0.0.0)");
  }
  const std::string where = options.host + ":" + std::to_string(options.port);
  Fd listen_fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (listen_fd.get() < 0) return UnavailableError("cannot create a socket: " + ErrnoText(errno));
  const int one = 1;
  ::setsockopt(listen_fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listen_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return UnavailableError("cannot bind " + where + ": " + ErrnoText(errno));
  }
  if (::listen(listen_fd.get(), 1024) != 0) {
    return UnavailableError("cannot listen on " + where + ": " + ErrnoText(errno));
  }
  sockaddr_in bound{};
  socklen_t bound_size = sizeof(bound);
  ::getsockname(listen_fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_size);
  const int port = ntohs(bound.sin_port);

  int workers = options.workers > 0 ? options.workers
                                    : static_cast<int>(std::thread::hardware_concurrency());
  if (workers <= 0) workers = 1;
  options.workers = workers;
  // The server owns the descriptor from here on (closed in Shutdown).
  std::unique_ptr<HttpServer> server(
      new HttpServer(std::move(options), std::move(handler), listen_fd.Release(), port));
  // Every loop exists before any runs: a running loop may hand a connection to any of them.
  for (int worker_idx = 0; worker_idx < workers; ++worker_idx) {
    auto worker = std::make_unique<Worker>(server->options_, server->handler_, server->listen_fd_,
                                           server->workers_);
    if (Status status = worker->Init(); !status.ok()) {
      server->Shutdown(std::chrono::milliseconds(0));
      return status;
    }
    server->workers_.push_back(std::move(worker));
  }
  for (auto& worker : server->workers_) worker->Start();
  return server;
}

HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(0)); }

void HttpServer::Shutdown(std::chrono::milliseconds drain) {
  if (shut_down_.exchange(true)) return;
  const auto deadline = Clock::now() + drain;
  for (auto& worker : workers_) worker->BeginDrain(deadline);
  for (auto& worker : workers_) worker->Join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

}  // namespace raypipe::serving
