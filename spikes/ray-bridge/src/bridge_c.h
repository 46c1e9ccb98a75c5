/* bridge_c.h: the only interface between the new-ABI world (kernels, driver) and the
 * old-ABI Ray bridge. Plain C types and byte buffers only. */
#ifndef SPIKE_BRIDGE_C_H
#define SPIKE_BRIDGE_C_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#define SPIKE_API __attribute__((visibility("default")))

/* ---- Part 1: kernels (libspike_kernels.so, new ABI, C++20) ----
 * Return 0 on success. On failure return non-zero and set *error (malloc'd, free with
 * spike_free). *out is malloc'd; free with spike_free. */
SPIKE_API int spike_invoke(const char* kernel, const uint8_t* in, size_t in_len,
                           uint8_t** out, size_t* out_len, char** error);
SPIKE_API void spike_free(void* p);
/* Stateful kernel ("actor"): create -> handle id; call method -> bytes; destroy. */
SPIKE_API int spike_actor_create(const char* cls, const uint8_t* in, size_t in_len,
                                 uint64_t* handle, char** error);
SPIKE_API int spike_actor_call(uint64_t handle, const char* method, const uint8_t* in,
                               size_t in_len, uint8_t** out, size_t* out_len, char** error);
SPIKE_API void spike_actor_destroy(uint64_t handle);

/* ---- Part 2: driver API (libspike_ray_bridge.so, old ABI, Ray inside) ----
 * Refs and actors are opaque 64-bit ids owned by the bridge. Return 0 on success;
 * on failure non-zero with *error malloc'd (free with spike_ray_free).
 * Error codes returned by get/call: */
#define SPIKE_RAY_OK 0
#define SPIKE_RAY_ERR 1          /* generic / bad argument */
#define SPIKE_RAY_TASK_ERR 2     /* kernel threw / returned an error */
#define SPIKE_RAY_ACTOR_DIED 3   /* actor died (maybe restarting): resubmit */
#define SPIKE_RAY_TIMEOUT 4
#define SPIKE_RAY_NOT_FOUND 5    /* RayFunctionNotFound: bridge not on code search path */
#define SPIKE_RAY_WORKER_DIED 6  /* RayWorkerException: task's worker died */

/* address "ip:port" (required: never let Ray start a head itself);
 * code_search_path ':'-separated, absolute; node_ip_address: this machine's address as the
 * local raylet registered it (ray start --node-ip-address); NULL = Ray's guess. */
SPIKE_API int spike_ray_init(const char* address, const char* code_search_path,
                             const char* node_ip_address, char** error);
SPIKE_API void spike_ray_shutdown(void);
SPIKE_API void spike_ray_free(void* p);
SPIKE_API int spike_ray_put(const uint8_t* in, size_t in_len, uint64_t* ref, char** error);
/* cpu <= 0 means Ray's default. */
SPIKE_API int spike_ray_submit(const char* kernel, const uint8_t* in, size_t in_len,
                               double cpu, uint64_t* ref, char** error);
/* same, but the argument is an existing ref (passed by reference, not copied via driver) */
SPIKE_API int spike_ray_submit_ref(const char* kernel, uint64_t arg_ref, double cpu,
                                   uint64_t* ref, char** error);
/* timeout_ms < 0: block forever. */
SPIKE_API int spike_ray_get(uint64_t ref, int timeout_ms, uint8_t** out, size_t* out_len,
                            char** error);
/* ready[i] set to 1 if refs[i] is ready. Returns 0, sets *num_ready. */
SPIKE_API int spike_ray_wait(const uint64_t* refs, size_t n, size_t num_returns,
                             int timeout_ms, uint8_t* ready, size_t* num_ready, char** error);
SPIKE_API void spike_ray_release(uint64_t ref);
SPIKE_API int spike_ray_actor_create(const char* cls, const uint8_t* in, size_t in_len,
                                     double cpu, int max_restarts, uint64_t* actor,
                                     char** error);
SPIKE_API int spike_ray_actor_call(uint64_t actor, const char* method, const uint8_t* in,
                                   size_t in_len, uint64_t* ref, char** error);
SPIKE_API void spike_ray_actor_kill(uint64_t actor, int no_restart);
SPIKE_API void spike_ray_actor_release(uint64_t actor);

#ifdef __cplusplus
}
#endif
#endif
