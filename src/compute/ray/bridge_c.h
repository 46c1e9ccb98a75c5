/* The only interface between Ray's C++ library and the rest of raypipe (DESIGN.md section 6).
 *
 * Ray's C++ library is built with the pre-C++11 libstdc++ string ABI; raypipe is not. So the
 * Ray code lives in one small shared library, libraypipe_ray_bridge.so, compiled with
 * -D_GLIBCXX_USE_CXX11_ABI=0, which includes Ray's headers and this header only. Across this
 * header travel plain C types and byte buffers, never a C++ type.
 *
 *   driver (RayExecutor, new ABI) --part 2--> bridge (old ABI, Ray) --part 1--> kernel host
 *                                             in Ray's workers        (libraypipe_kernels.so,
 *                                                                      new ABI)
 *
 * Part 1 is implemented by libraypipe_kernels.so and called by the bridge inside Ray's worker
 * processes. Part 2 is implemented by the bridge and called by the driver. The bytes are
 * opaque to the bridge: the call specs and results are encoded and decoded on the new-ABI
 * side (compute/ray/wire.h).
 *
 * Ownership: a buffer or string returned through an out-parameter is allocated with malloc
 * and belongs to the caller, who frees it with rp_kernels_free (part 1) or rp_ray_free
 * (part 2). Input buffers are borrowed for the duration of the call. Every function is
 * thread-safe and never lets a C++ exception escape. */
#ifndef RAYPIPE_COMPUTE_RAY_BRIDGE_C_H_
#define RAYPIPE_COMPUTE_RAY_BRIDGE_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RP_C_API __attribute__((visibility("default")))

/* A borrowed byte buffer. For a ref argument, data == NULL means that the object behind the
 * ref was not made by raypipe: Ray stored one of its own errors in its place (it does so for
 * an actor call in flight when the actor's process dies). */
typedef struct rp_bytes {
  const uint8_t* data;
  size_t size;
} rp_bytes;

/* ---- Part 1: the kernel host (libraypipe_kernels.so) -------------------------------------
 * `spec` is an encoded call spec (what to run, its inline arguments); `ref_args` are the
 * values of the ref arguments, resolved by Ray, in slot order. *result receives an encoded
 * result: the kernel's value or its error (a kernel's failure is a result, not a failure of
 * the call). Returns 0, or non-zero only when no result could be made at all (out of memory),
 * with *result NULL. */
RP_C_API int rp_kernels_run_task(rp_bytes spec, const rp_bytes* ref_args, size_t num_ref_args,
                                 uint8_t** result, size_t* result_size);

/* Creates an actor instance in this process and returns its handle (never 0). A failed
 * creation still gives a handle: the instance is dead and every call on it returns the
 * creation's error. Returns 0 only when out of memory. */
RP_C_API uint64_t rp_kernels_actor_create(rp_bytes spec, const rp_bytes* ref_args,
                                          size_t num_ref_args);

/* Calls a method of the actor instance `handle`; result as for rp_kernels_run_task. */
RP_C_API int rp_kernels_actor_call(uint64_t handle, rp_bytes spec, const rp_bytes* ref_args,
                                   size_t num_ref_args, uint8_t** result, size_t* result_size);

/* Destroys the actor instance; a no-op for an unknown handle. */
RP_C_API void rp_kernels_actor_destroy(uint64_t handle);

RP_C_API void rp_kernels_free(void* pointer);

/* ---- Part 2: the driver API (libraypipe_ray_bridge.so) ------------------------------------
 * Object refs and actors are opaque non-zero ids; the bridge holds Ray's handles in tables
 * until they are released. Functions return one of these codes and, on failure, a message in
 * *error when `error` is not NULL. */
#define RP_RAY_OK 0
#define RP_RAY_INVALID 1           /* bad argument, unknown id, not initialized */
#define RP_RAY_TIMEOUT 2           /* the timeout passed first */
#define RP_RAY_ACTOR_DIED 3        /* the actor is dead (RayActorException) */
#define RP_RAY_ACTOR_UNAVAILABLE 4 /* the call's actor process died while the call was in
                                      flight (a restarting actor answers a resubmission) */
#define RP_RAY_WORKER_DIED 5       /* the task's worker process died (after Ray's retries) */
#define RP_RAY_FUNCTION_NOT_FOUND 6 /* a worker could not find the bridge's functions: the
                                       code search path does not name this library */
#define RP_RAY_TASK_FAILED 7       /* the bridge's function threw in the worker */
#define RP_RAY_OBJECT_LOST 8       /* the object is lost and cannot be reconstructed */
#define RP_RAY_INTERNAL 9          /* anything else Ray threw */

/* How many ref arguments a task, an actor creation or an actor call may have. */
#define RP_RAY_MAX_REF_ARGS 6

/* The absolute path of the bridge library itself: what the code search path must name.
 * Static storage; NULL when it cannot be found. */
RP_C_API const char* rp_ray_bridge_path(void);

/* Connects this process to the running cluster at `address` ("host:port" of its GCS; required:
 * the bridge never lets Ray start a cluster) as a driver. `code_search_path`: ':'-separated
 * absolute paths that Ray's workers load (this library's path). `node_ip_address`: the address
 * the local raylet registered (ray start --node-ip-address); NULL or "" lets Ray guess, which
 * fails on a loopback-only cluster. Ray's runtime is per process: a second init fails, and so
 * does an init after rp_ray_shutdown (Ray's C++ runtime cannot start twice in one process). */
RP_C_API int rp_ray_init(const char* address, const char* code_search_path,
                         const char* node_ip_address, char** error);

/* 1 between a successful rp_ray_init and rp_ray_shutdown, else 0. */
RP_C_API int rp_ray_initialized(void);

/* Releases every ref and actor still held, then disconnects. REQUIRES: no other thread is
 * inside a part-2 function. */
RP_C_API void rp_ray_shutdown(void);

RP_C_API void rp_ray_free(void* pointer);

/* What a task or an actor holds. `cpus` > 0 (Ray accepts fractions only below 1);
 * `memory_bytes` >= 0 (0 asks for none). `name` names it in Ray's tools (may be NULL). */
typedef struct rp_ray_options {
  double cpus;
  double memory_bytes;
  const char* name;
  int max_restarts; /* actors only: how often Ray re-creates a dead actor process */
  uint64_t group;   /* a placement group id (rp_ray_group_create) to run in, or 0 */
  int bundle_index; /* with `group`: the bundle whose reservation it uses */
} rp_ray_options;

/* ---- Placement groups: bundles of resources Ray reserves all at once ---------------------- */
#define RP_RAY_PACK 0
#define RP_RAY_SPREAD 1
#define RP_RAY_STRICT_SPREAD 2

/* What one bundle reserves; cpus > 0 (whole above 1), memory_bytes >= 0. */
typedef struct rp_ray_bundle {
  double cpus;
  double memory_bytes;
} rp_ray_bundle;

/* Asks Ray for a placement group of `num_bundles` bundles with `strategy` (RP_RAY_PACK...);
 * returns at once with its id in *group (Ray places it when every bundle fits). */
RP_C_API int rp_ray_group_create(const rp_ray_bundle* bundles, size_t num_bundles, int strategy,
                                 uint64_t* group, char** error);

/* RP_RAY_OK once the group is placed; RP_RAY_TIMEOUT when it is not within `timeout_seconds`
 * (Ray counts whole seconds; 0 only asks). */
RP_C_API int rp_ray_group_wait(uint64_t group, int timeout_seconds, char** error);

/* Removes the group from Ray (which kills the actors placed in it) and drops its id. A no-op
 * for an unknown id. */
RP_C_API void rp_ray_group_remove(uint64_t group);

/* Stores `value` in the object store; *ref receives its id. */
RP_C_API int rp_ray_put(rp_bytes value, uint64_t* ref, char** error);

/* Submits a task running rp_kernels_run_task(spec, <values of ref_args>) in a worker. */
RP_C_API int rp_ray_submit(rp_bytes spec, const uint64_t* ref_args, size_t num_ref_args,
                           const rp_ray_options* options, uint64_t* ref, char** error);

/* Blocks until the object is ready (timeout_ms < 0: no limit) and returns its bytes. */
RP_C_API int rp_ray_get(uint64_t ref, int64_t timeout_ms, uint8_t** value, size_t* value_size,
                        char** error);

/* Blocks until `num_ready` of the `num_refs` refs are ready or the timeout passes;
 * ready[i] = 1 for each ready refs[i], else 0. REQUIRES: refs distinct. */
RP_C_API int rp_ray_wait(const uint64_t* refs, size_t num_refs, size_t num_ready,
                         int64_t timeout_ms, uint8_t* ready, char** error);

/* Drops the bridge's reference; a no-op for an unknown id. */
RP_C_API void rp_ray_release(uint64_t ref);

/* Creates an actor whose instance is made by rp_kernels_actor_create(spec, ...). */
RP_C_API int rp_ray_actor_create(rp_bytes spec, const uint64_t* ref_args, size_t num_ref_args,
                                 const rp_ray_options* options, uint64_t* actor, char** error);

/* Calls rp_kernels_actor_call(<instance>, spec, ...) on the actor. Ray does not retry actor
 * calls: one in flight when the actor's process dies comes back RP_RAY_ACTOR_UNAVAILABLE or
 * RP_RAY_ACTOR_DIED, and the caller resubmits. */
RP_C_API int rp_ray_actor_call(uint64_t actor, rp_bytes spec, const uint64_t* ref_args,
                               size_t num_ref_args, uint64_t* ref, char** error);

/* Kills the actor's process; with no_restart == 0 Ray restarts it while restarts are left. */
RP_C_API int rp_ray_actor_kill(uint64_t actor, int no_restart, char** error);

/* Drops the bridge's handle and ends the actor once the calls already made have run. */
RP_C_API void rp_ray_actor_release(uint64_t actor);

#ifdef __cplusplus
}
#endif

#endif /* RAYPIPE_COMPUTE_RAY_BRIDGE_C_H_ */
