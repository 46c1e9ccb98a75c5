// The serving benchmark's helper (bench/run drives it with wrk):
//   serving_bench model --out DIR [--rows N] [--rounds R]   train a housing model bundle
//   serving_bench serve --bundle DIR --port P [--workers N] [--yield never|always|adaptive]
//                                                  serve it (the endpoint server)
//   serving_bench static --port P --impl raypipe|httplib [--workers N] [--yield ...]
//                                                  a static 200 from either HTTP layer, the
//                                                  measurement behind the choice of server
//   serving_bench predict --bundle DIR [--reps N]  in-process single-row predict time
// Servers print "ready PORT" and run until SIGTERM or SIGINT. --yield sets
// HttpServerOptions::yield_mode (default adaptive, as in `raypipe serve`).

#include <signal.h>
#if RAYPIPE_HAVE_HTTPLIB
#include <httplib.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/housing.h"
#include "data/scaler.h"
#include "ml/booster.h"
#include "ml/dmatrix.h"
#include "ml/model_bundle.h"
#include "serving/deployment.h"
#include "serving/endpoint_server.h"

namespace {

using raypipe::Status;

const std::vector<std::string> kFeatures = {"YEAR_BUILT",    "SQUARE_FEET", "NUM_BEDROOMS",
                                            "NUM_BATHROOMS", "LOT_ACRES",   "GARAGE_SPACES",
                                            "FRONT_PORCH",   "DECK"};

std::map<std::string, std::string> Flags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int arg_idx = 2; arg_idx + 1 < argc; arg_idx += 2) flags[argv[arg_idx]] = argv[arg_idx + 1];
  return flags;
}

std::string Get(const std::map<std::string, std::string>& flags, const std::string& name,
                const std::string& fallback) {
  auto found = flags.find(name);
  return found == flags.end() ? fallback : found->second;
}

raypipe::serving::YieldMode YieldModeFlag(const std::map<std::string, std::string>& flags) {
  const std::string mode = Get(flags, "--yield", "adaptive");
  if (mode == "never") return raypipe::serving::YieldMode::kNever;
  if (mode == "always") return raypipe::serving::YieldMode::kAlways;
  return raypipe::serving::YieldMode::kAdaptive;
}

int Fail(const Status& status) {
  std::cerr << "serving_bench: " << status.ToString() << "\n";
  return 1;
}

void WaitForStop(const sigset_t& set) {
  int signal_number = 0;
  sigwait(&set, &signal_number);
}

sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

Status TrainModel(const std::string& out, int64_t rows, int rounds) {
  raypipe::data::HousingOptions options;
  options.rows = rows;
  ASSIGN_OR_RETURN(raypipe::data::Table table, raypipe::data::GenerateHousing(options));
  raypipe::data::StandardScaler scaler;
  RETURN_IF_ERROR(scaler.Fit(table, kFeatures));
  ASSIGN_OR_RETURN(raypipe::data::Table scaled, scaler.Transform(table));
  ASSIGN_OR_RETURN(auto train, raypipe::ml::DMatrix::FromTable(scaled, kFeatures, "PRICE"));
  const raypipe::ml::DMatrix* cache[] = {train.get()};
  ASSIGN_OR_RETURN(auto booster, raypipe::ml::Booster::Create(cache));
  RETURN_IF_ERROR(booster->SetParam("objective", "reg:squarederror"));
  RETURN_IF_ERROR(booster->SetParam("max_depth", "6"));
  RETURN_IF_ERROR(booster->SetParam("eta", "0.1"));
  RETURN_IF_ERROR(booster->SetParam("seed", "42"));
  for (int round = 0; round < rounds; ++round) {
    RETURN_IF_ERROR(booster->UpdateOneIter(round, *train));
  }
  return raypipe::ml::WriteModelBundle(out, *booster, kFeatures, "PRICE", &scaler);
}

int Serve(const std::map<std::string, std::string>& flags) {
  const sigset_t set = BlockStopSignals();
  auto model = raypipe::serving::BundleModel::Load(Get(flags, "--bundle", ""));
  if (!model.ok()) return Fail(model.status());
  raypipe::serving::EndpointServerOptions options;
  options.http.port = std::atoi(Get(flags, "--port", "8080").c_str());
  options.http.workers = std::atoi(Get(flags, "--workers", "0").c_str());
  options.http.yield_mode = YieldModeFlag(flags);
  auto server = raypipe::serving::EndpointServer::Start(options);
  if (!server.ok()) return Fail(server.status());
  raypipe::serving::Variant variant;
  variant.name = "AllTraffic";
  variant.model_version = "bench:1";
  variant.model = std::move(*model);
  if (Status status = (*server)->Swap({variant}); !status.ok()) return Fail(status);
  std::cout << "ready " << (*server)->port() << std::endl;
  WaitForStop(set);
  (*server)->Shutdown(std::chrono::seconds(5));
  return 0;
}

int Static(const std::map<std::string, std::string>& flags) {
  const sigset_t set = BlockStopSignals();
  const int port = std::atoi(Get(flags, "--port", "8080").c_str());
  const int workers = std::atoi(Get(flags, "--workers", "0").c_str());
  if (Get(flags, "--impl", "raypipe") == "httplib") {
#if RAYPIPE_HAVE_HTTPLIB
    httplib::Server server;
    if (workers > 0) {
      server.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
    }
    server.Post("/invocations", [](const httplib::Request&, httplib::Response& response) {
      response.set_content("ok\n", "text/plain");
    });
    std::thread thread([&] { server.listen("127.0.0.1", port); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::cout << "ready " << port << std::endl;
    WaitForStop(set);
    server.stop();
    thread.join();
    return 0;
#else
    std::cerr << "serving_bench: built without cpp-httplib (libcpp-httplib-dev)\n";
    return 1;
#endif
  }
  raypipe::serving::HttpServerOptions options;
  options.port = port;
  options.workers = workers;
  options.yield_mode = YieldModeFlag(flags);
  auto server = raypipe::serving::HttpServer::Start(
      options, [](const raypipe::serving::HttpRequest&, raypipe::serving::HttpResponse& response) {
        response.body = "ok\n";
      });
  if (!server.ok()) return Fail(server.status());
  std::cout << "ready " << (*server)->port() << std::endl;
  WaitForStop(set);
  return 0;
}

// p50 and p99 of `predict` over `reps` calls, in microseconds.
template <typename Fn>
std::pair<double, double> TimeMicros(int reps, Fn&& predict) {
  std::vector<double> micros;
  for (int rep = 0; rep < reps; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    predict();
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(micros.begin(), micros.end());
  return {micros[micros.size() / 2], micros[micros.size() * 99 / 100]};
}

int Predict(const std::map<std::string, std::string>& flags) {
  auto model = raypipe::serving::BundleModel::Load(Get(flags, "--bundle", ""));
  if (!model.ok()) return Fail(model.status());
  auto bundle = raypipe::ml::LoadModelBundle(Get(flags, "--bundle", ""));
  if (!bundle.ok()) return Fail(bundle.status());
  auto booster = bundle->booster->Clone();
  if (!booster.ok()) return Fail(booster.status());
  if (Status status = (*booster)->SetParam("nthread", "1"); !status.ok()) return Fail(status);
  const int reps = std::atoi(Get(flags, "--reps", "20000").c_str());
  const std::vector<float> row = {1995, 3000, 3, 2, 1.0f, 1, 0, 1};
  Status failed;
  auto [p50, p99] = TimeMicros(reps, [&] {
    auto predictions = (*model)->Predict(row, 1);
    if (!predictions.ok()) failed = predictions.status();
  });
  if (!failed.ok()) return Fail(failed);
  // XGBoost's own in-place predict on the same (unscaled) row, the path a model takes when
  // it cannot be compiled.
  auto [xgb_p50, xgb_p99] = TimeMicros(reps / 4 + 1, [&] {
    auto predictions = (*booster)->PredictDense(row, 1);
    if (!predictions.ok()) failed = predictions.status();
  });
  if (!failed.ok()) return Fail(failed);
  std::printf("predict_1row: p50_us=%.1f p99_us=%.1f (%s); xgboost_inplace_1row: p50_us=%.1f "
              "p99_us=%.1f\n",
              p50, p99, (*model)->compiled() ? "compiled trees" : "XGBoost", xgb_p50, xgb_p99);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: serving_bench model|serve|static|predict [--flag value]...\n";
    return 2;
  }
  const std::string mode = argv[1];
  const auto flags = Flags(argc, argv);
  if (mode == "model") {
    Status status = TrainModel(Get(flags, "--out", "model"),
                               std::atoll(Get(flags, "--rows", "10000").c_str()),
                               std::atoi(Get(flags, "--rounds", "100").c_str()));
    return status.ok() ? 0 : Fail(status);
  }
  if (mode == "serve") return Serve(flags);
  if (mode == "static") return Static(flags);
  if (mode == "predict") return Predict(flags);
  std::cerr << "serving_bench: unknown mode " << mode << "\n";
  return 2;
}
