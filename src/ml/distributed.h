#pragma once

// Distributed XGBoost training on a compute::Executor (DESIGN.md section 6): the driver runs
// XGBoost's rabit tracker; W worker actors each take one contiguous shard of the training and
// evaluation tables, join the collective with XGCommunicatorInit on their own actor thread,
// and train the same rounds in lockstep (gradient statistics and metrics are allreduced, so
// every worker sees the global metrics). Rank 0 returns the model.
//
// Placement: the W workers are one gang, a SPREAD placement group of W bundles of
// cpus_per_worker CPUs (Executor::CreatePlacementGroup), worker r in bundle r. The group is
// placed whole or waits whole, so a job never starts half its ranks and deadlocks waiting for
// the rest; it is removed when TrainDistributed returns. On Ray, SPREAD puts the ranks on
// different nodes where it can.
//
// Each worker writes `worker-<rank>.json` into the checkpoint directory when it starts
// ({"rank", "pid", "parent_pid", "host"}): the process that runs it, and its parent (on Ray the
// raylet of its node), for operators and fault tests.
//
// Fault tolerance: rank 0 checkpoints the model (and the metric history so far) every
// checkpoint_every rounds; when any worker fails, the whole group is torn down and restarted
// from the last checkpoint, up to max_group_restarts times.
//
// Limits: TrainOptions::on_round and on_checkpoint are not run on the workers (a per-worker
// decision would desynchronize the collective); early stopping (early_stopping_rounds) is,
// since every worker sees the same global metrics. Shards live in the driver's memory and are
// handed to the actors as Values: in memory on the LocalExecutor, serialized by the codecs of
// RegisterDistributedCodecs on Ray (the shard's columns, the options, the model bytes; rank 0's
// TrainResult comes back with its model as UBJSON). The checkpoint directory must then be a path
// every worker can write (a shared RAYPIPE_HOME on a cluster of machines), and tracker_host the
// driver's address as the workers reach it.
//
// Signals: XGBoost's collective writes to sockets without MSG_NOSIGNAL, so a peer that dies
// mid-round would kill the whole process with SIGPIPE. TrainDistributed therefore sets SIGPIPE
// to ignored for the process (as Python does at start-up); writes then fail with EPIPE and the
// group restarts.
//
// Thread-safety: TrainDistributed may run concurrently (each call has its own tracker).

#include <chrono>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "compute/codec.h"
#include "compute/executor.h"
#include "compute/kernel.h"
#include "core/status.h"
#include "data/table.h"
#include "ml/train.h"

namespace raypipe::ml {

// The worker actor class TrainDistributed creates.
inline constexpr std::string_view kXgboostWorkerActor = "raypipe.ml.XGBoostWorker";

// Registers kXgboostWorkerActor (RegisterMlKernels in ml/kernels.h registers everything).
// AlreadyExists when registered twice.
Status RegisterDistributedKernels(compute::KernelRegistry& registry);

// Registers the codecs of the worker's argument ("raypipe.ml.WorkerJob") and result
// ("raypipe.ml.TrainResult"), for executors that serialize values (Ray). AlreadyExists when
// registered twice.
Status RegisterDistributedCodecs(compute::CodecRegistry& codecs);

struct DistributedOptions {
  // Workers (actors), one shard each. REQUIRES: >= 1 and <= the training rows.
  int num_workers = 2;
  // CPUs each worker actor holds; its XGBoost nthread is max(1, floor(cpus)).
  double cpus_per_worker = 1.0;
  // Rank 0 saves a checkpoint every this many rounds (0 = never; a restart then starts over).
  int checkpoint_every = 10;
  // How many times the group is restarted after a worker failure. Default 2.
  int max_group_restarts = 2;
  // How long to wait for the workers' placement group to be placed before giving up with
  // DeadlineExceeded (the cluster is busy, or cannot fit W bundles). Default 120 s.
  std::chrono::seconds placement_timeout{120};
  // Polled (about every 100 ms) while the driver waits; once it returns true the workers are
  // stopped, the group removed, and TrainDistributed returns Cancelled. Default: never.
  std::function<bool()> cancelled;
  // XGBoost's collective timeout: how long a worker waits on its peers or the tracker.
  std::chrono::seconds collective_timeout{120};
  // The tracker's address as workers reach it.
  std::string tracker_host = "127.0.0.1";
  // Where checkpoints go; empty = a temporary directory removed afterwards.
  std::filesystem::path checkpoint_dir;
  // Testing: worker `fail_rank` fails at round `fail_at_round` in the first
  // `fail_attempts` attempts (-1 = never).
  int fail_rank = -1;
  int fail_at_round = -1;
  int fail_attempts = 1;
  // Testing: every worker pauses this long after each round (to kill one mid-training).
  std::chrono::milliseconds round_delay{0};
};

struct DistributedStats {
  int attempts = 0;          // 1 + group restarts
  int resumed_from_round = 0;  // the checkpoint the successful attempt started from
};

// Trains like Train() on `num_workers` workers. The result's history covers every round
// (checkpointed rounds included). Errors: as Train, plus InvalidArgument for bad options (and
// a placement group the executor can never fit), DeadlineExceeded when the group is not placed
// within placement_timeout, Cancelled when `cancelled` said so, and the last worker error
// (with "after N attempts") when every attempt failed.
Result<TrainResult> TrainDistributed(compute::Executor& executor, const data::Table& train,
                                     std::span<const EvalSet> evals, const TrainOptions& options,
                                     const DistributedOptions& distributed,
                                     DistributedStats* stats = nullptr);

}  // namespace raypipe::ml
