/*
 * syscalls: the few system calls a one-shot command makes, without koffi.
 *
 * src/native/libc.ts calls libc through koffi, and loading koffi (its
 * JavaScript and its ~1 MB addon) takes ~14 ms, more than a whole `state`
 * spends above Node's own start. A `state` needs flock(2) and close(2)
 * alone, a `list` getdents64(2), statx(2) and kill(2): this addon makes
 * those calls, and libc.ts takes them from here when it was built (koffi
 * otherwise).
 *
 * Each call but close is retried on EINTR, as libc.ts retries koffi's, and
 * returns the kernel's answer: a count or 0, or -errno.
 *
 *   flock(fd, operation) -> 0 | -errno
 *   close(fd) -> 0 | -errno
 *   getdents64(fd, buffer) -> bytes filled, 0 at the end | -errno
 *   lstatAt(dirFd, name, out) -> 0 | -errno   name: NUL-terminated bytes at its start; out: >= 256 bytes
 *   kill(pid, signal) -> 0 | -errno
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

/* statx(2) by number: glibc before 2.28 has no wrapper, the kernel has had the call since 4.11. */
#define STATX_BYTES 256
#define STATX_BASIC_STATS 0x7ffU

#define RETRY(expr)                         \
  ({                                        \
    long r_;                                \
    do r_ = (long)(expr);                   \
    while (r_ < 0 && errno == EINTR);       \
    r_ < 0 ? -(long)errno : r_;             \
  })

/* int_at: argument k as a C int; 0 unless it is an integer within int's range (NaN would read as 0, kill's "my group"). */
static int int_at(napi_env env, napi_value *argv, size_t k, int *out) {
  double v;
  if (napi_get_value_double(env, argv[k], &v) != napi_ok || !(v >= INT_MIN && v <= INT_MAX) || v != (double)(int)v)
    return 0;
  *out = (int)v;
  return 1;
}

/* bytes_at: argument k's bytes when it is a Uint8Array (a Buffer is one); 0 otherwise. */
static int bytes_at(napi_env env, napi_value *argv, size_t k, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  napi_value arraybuffer;
  size_t offset;
  return napi_get_typedarray_info(env, argv[k], &type, length, (void **)data, &arraybuffer, &offset) == napi_ok &&
         type == napi_uint8_array;
}

/* args: the call's first `want` arguments; 0 when fewer were given. */
static int args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= want;
}

static napi_value number(napi_env env, long value) {
  napi_value out;
  napi_create_double(env, (double)value, &out);
  return out;
}

static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd, operation;
  if (!args(env, info, 2, argv) || !int_at(env, argv, 0, &fd) || !int_at(env, argv, 1, &operation))
    return number(env, -EINVAL);
  return number(env, RETRY(flock(fd, operation)));
}

/* Not retried: Linux frees the descriptor even when close(2) reports EINTR, and another thread may reuse it. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!args(env, info, 1, argv) || !int_at(env, argv, 0, &fd)) return number(env, -EINVAL);
  return number(env, close(fd) < 0 ? -(long)errno : 0);
}

static napi_value js_kill(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int pid, sig;
  if (!args(env, info, 2, argv) || !int_at(env, argv, 0, &pid) || !int_at(env, argv, 1, &sig))
    return number(env, -EINVAL);
  return number(env, RETRY(kill(pid, sig)));
}

static napi_value js_getdents64(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  uint8_t *buf;
  size_t len;
  if (!args(env, info, 2, argv) || !int_at(env, argv, 0, &fd) || !bytes_at(env, argv, 1, &buf, &len))
    return number(env, -EINVAL);
  return number(env, RETRY(syscall(SYS_getdents64, fd, buf, len)));
}

static napi_value js_lstat_at(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  uint8_t *name, *out;
  size_t name_len, out_len;
  if (!args(env, info, 3, argv) || !int_at(env, argv, 0, &fd) || !bytes_at(env, argv, 1, &name, &name_len) ||
      !bytes_at(env, argv, 2, &out, &out_len) || out_len < STATX_BYTES || memchr(name, 0, name_len) == NULL)
    return number(env, -EINVAL);
  return number(env, RETRY(syscall(SYS_statx, fd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, out)));
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback fn;
  } calls[] = {{"flock", js_flock}, {"close", js_close}, {"kill", js_kill}, {"getdents64", js_getdents64}, {"lstatAt", js_lstat_at}};
  for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) {
    napi_value fn;
    if (napi_create_function(env, calls[k].name, NAPI_AUTO_LENGTH, calls[k].fn, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, calls[k].name, fn) != napi_ok) return NULL;
  }
  return exports;
}
