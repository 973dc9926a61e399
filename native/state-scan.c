/*
 * state-scan: the full reconcile's native reader of one runsc state file.
 *
 * It reads the file (never following a symlink, never blocking on a FIFO),
 * checks the whole text against the JSON grammar load's decoder uses
 * (src/state/codec.ts: RFC 8259, nesting at most 512 deep) and takes only
 * the index's fields, without building a tree. It is a fast path, never a
 * judge: for anything it does not read exactly as load does it answers
 * undefined, and the caller reads the file the ordinary way (readStateFile,
 * then indexFields), which words every error. What it accepts is listed in
 * docs/state-scan.md; test/native/state-scan.test.ts holds it to load's
 * verdict and fields on the reliability corpus and on mutated runsc files.
 *
 * scanStateFile(path) -> undefined |
 *   [size, mtimeMs, ctimeMs, ino, id, sandboxId, status, pid, goferPid,
 *    createdAt, bundleDir, owner, podName, namespace, startTime,
 *    controlSocketPath, annotationKey, annotationValue, ...]
 */
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* load's limits: src/state/codec.ts MAX_DEPTH, src/state/document.ts MAX_STATE_BYTES. */
#define MAX_DEPTH 512
#define MAX_STATE_BYTES (16 * 1024 * 1024)
#define MAX_ANNOTATIONS 256

typedef enum { MISSING = 0, JNULL, JSTRING, JNUMBER, JOBJECT, JOTHER } kind_t;

/* One field's value: its kind and, for strings and numbers, its text (a string's without the quotes). */
typedef struct {
  kind_t kind;
  const uint8_t *at;
  size_t len;
  int escaped;
} value_t;

/* The fields, by level; the order of each list is the order of the values in the answer. */
enum { R_ID, R_STATUS, R_GOFERPID, R_CREATEDAT, R_BUNDLEDIR, R_OWNER, R_SANDBOX, R_SPEC, R_COUNT };
static const char *const ROOT_KEYS[R_COUNT] = {"id", "status", "goferPid", "createdAt", "bundleDir", "owner", "sandbox", "spec"};
enum { S_ID, S_PID, S_PODNAME, S_NAMESPACE, S_STARTTIME, S_CONTROLSOCKETPATH, S_COUNT };
static const char *const SANDBOX_KEYS[S_COUNT] = {"id", "pid", "podName", "namespace", "startTime", "controlSocketPath"};
enum { P_ANNOTATIONS, P_COUNT };
static const char *const SPEC_KEYS[P_COUNT] = {"annotations"};

/* What a scan found; the annotations (key, value, ...) last, so that only the part before them need be zeroed. */
typedef struct {
  const uint8_t *p, *end;
  value_t root[R_COUNT], sandbox[S_COUNT], spec[P_COUNT];
  size_t annotation_count;
  value_t annotations[2 * MAX_ANNOTATIONS];
} scan_t;

/* Each parse function returns 1 when the text is as expected there, 0 to give the file to the ordinary reader. */

static void skip_ws(scan_t *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) s->p++;
}

static int is_hex(uint8_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

/* utf8_length: the length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates), or 0. */
static size_t utf8_length(const uint8_t *p, const uint8_t *end) {
  uint8_t c = p[0];
  size_t n;
  uint8_t lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else return 0;
  if ((size_t)(end - p) < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t k = 2; k < n; k++)
    if (p[k] < 0x80 || p[k] > 0xbf) return 0;
  return n;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* has_zero_byte: whether some byte of w is 0 (the classic bit trick, no false positives). */
static inline uint64_t has_zero_byte(uint64_t w) { return (w - ONES) & ~w & HIGHS; }

/*
 * skip_plain: past the bytes from p that a string holds as they are (ASCII
 * from 0x20, not '"' or '\\'), eight at a time: strings are most of a state
 * file. Bytes at or above 0x80 stop it too, to be checked as UTF-8.
 */
static const uint8_t *skip_plain(const uint8_t *p, const uint8_t *end) {
  while (end - p >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t stop = has_zero_byte(w ^ (ONES * '"')) | has_zero_byte(w ^ (ONES * '\\')) |
                    ((w - ONES * 0x20) & ~w & HIGHS) | (w & HIGHS);
    if (stop) break;
    p += 8;
  }
  while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
  return p;
}

/* string: at its opening quote; v gets the text between the quotes. Invalid UTF-8 (load: U+FFFD) is not taken. */
static int string(scan_t *s, value_t *v) {
  const uint8_t *p = s->p + 1, *end = s->end;
  int escaped = 0;
  for (;;) {
    p = skip_plain(p, end);
    if (p >= end) return 0;
    uint8_t c = *p;
    if (c == '"') break;
    if (c == '\\') {
      escaped = 1;
      if (p + 1 >= end) return 0;
      uint8_t e = p[1];
      if (e == 'u') {
        if (end - p < 6 || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4]) || !is_hex(p[5])) return 0;
        p += 6;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        p += 2;
      } else return 0;
    } else if (c < 0x20) return 0;
    else {
      size_t n = utf8_length(p, end);
      if (n == 0) return 0;
      p += n;
    }
  }
  if (v) *v = (value_t){JSTRING, s->p + 1, (size_t)(p - s->p - 1), escaped};
  s->p = p + 1;
  return 1;
}

static int digits(scan_t *s) {
  const uint8_t *first = s->p;
  while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
  return s->p > first;
}

/* number: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
static int number(scan_t *s, value_t *v) {
  const uint8_t *start = s->p;
  if (*s->p == '-') s->p++;
  if (s->p < s->end && *s->p == '0') s->p++;
  else if (!digits(s)) return 0;
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    if (!digits(s)) return 0;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
    if (!digits(s)) return 0;
  }
  if (v) *v = (value_t){JNUMBER, start, (size_t)(s->p - start), 0};
  return 1;
}

static int literal(scan_t *s, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return 0;
  s->p += n;
  return 1;
}

typedef enum { L_NONE, L_ROOT, L_SANDBOX, L_SPEC, L_ANNOTATIONS } level_t;

static int value(scan_t *s, int depth, value_t *v, level_t level);

/*
 * field_slot: where the value of `key` at `level` goes; *slot stays NULL for
 * a key that is no field. Go matches a key to a field in any letter case
 * (load too), so an ASCII key does here. Returns 0 for a key with an escape
 * or a non-ASCII letter (Go folds U+0131, U+017F and U+212A onto ASCII
 * letters), and for a field given twice, in whatever case: which one counts
 * is for the ordinary reader.
 */
static int field_slot(scan_t *s, level_t level, const value_t *key, value_t **slot) {
  *slot = NULL;
  const char *const *names;
  value_t *values;
  size_t count;
  if (level == L_ROOT) names = ROOT_KEYS, values = s->root, count = R_COUNT;
  else if (level == L_SANDBOX) names = SANDBOX_KEYS, values = s->sandbox, count = S_COUNT;
  else if (level == L_SPEC) names = SPEC_KEYS, values = s->spec, count = P_COUNT;
  else return 1;
  for (size_t k = 0; k < key->len; k++)
    if (key->at[k] >= 0x80 || key->at[k] == '\\') return 0;
  for (size_t f = 0; f < count; f++) {
    if (strlen(names[f]) != key->len || strncasecmp(names[f], (const char *)key->at, key->len) != 0) continue;
    if (values[f].kind != MISSING) return 0;
    *slot = &values[f];
  }
  return 1;
}

static int object(scan_t *s, int depth, level_t level) {
  s->p++;
  skip_ws(s);
  if (s->p < s->end && *s->p == '}') {
    s->p++;
    return 1;
  }
  for (;;) {
    value_t key, *slot = NULL;
    if (s->p >= s->end || *s->p != '"' || !string(s, &key)) return 0;
    if (level == L_ANNOTATIONS) {
      if (s->annotation_count == MAX_ANNOTATIONS) return 0;
      s->annotations[2 * s->annotation_count] = key;
      slot = &s->annotations[2 * s->annotation_count + 1];
      s->annotation_count++;
    } else if (!field_slot(s, level, &key, &slot)) return 0;
    skip_ws(s);
    if (s->p >= s->end || *s->p != ':') return 0;
    s->p++;
    skip_ws(s);
    level_t inner = L_NONE;
    if (slot && level == L_ROOT && slot == &s->root[R_SANDBOX]) inner = L_SANDBOX;
    if (slot && level == L_ROOT && slot == &s->root[R_SPEC]) inner = L_SPEC;
    if (slot && level == L_SPEC) inner = L_ANNOTATIONS;
    if (!value(s, depth, slot, inner)) return 0;
    /* Every annotation is a string (Go's map[string]string). */
    if (level == L_ANNOTATIONS && slot->kind != JSTRING) return 0;
    skip_ws(s);
    if (s->p >= s->end) return 0;
    if (*s->p == '}') {
      s->p++;
      return 1;
    }
    if (*s->p != ',') return 0;
    s->p++;
    skip_ws(s);
  }
}

static int array(scan_t *s, int depth) {
  s->p++;
  skip_ws(s);
  if (s->p < s->end && *s->p == ']') {
    s->p++;
    return 1;
  }
  for (;;) {
    if (!value(s, depth, NULL, L_NONE)) return 0;
    skip_ws(s);
    if (s->p >= s->end) return 0;
    if (*s->p == ']') {
      s->p++;
      return 1;
    }
    if (*s->p != ',') return 0;
    s->p++;
    skip_ws(s);
  }
}

/* value: one JSON value inside containers `depth` deep; v (when given) gets its kind and text. */
static int value(scan_t *s, int depth, value_t *v, level_t level) {
  if (s->p >= s->end) return 0;
  value_t ignored;
  if (!v) v = &ignored;
  switch (*s->p) {
    case '"':
      return string(s, v);
    case '{':
      if (depth + 1 > MAX_DEPTH) return 0;
      *v = (value_t){JOBJECT, s->p, 0, 0};
      return object(s, depth + 1, level);
    case '[':
      if (depth + 1 > MAX_DEPTH) return 0;
      *v = (value_t){JOTHER, s->p, 0, 0};
      return array(s, depth + 1);
    case 't':
      *v = (value_t){JOTHER, s->p, 0, 0};
      return literal(s, "true");
    case 'f':
      *v = (value_t){JOTHER, s->p, 0, 0};
      return literal(s, "false");
    case 'n':
      *v = (value_t){JNULL, s->p, 0, 0};
      return literal(s, "null");
    default:
      if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) return number(s, v);
      return 0;
  }
}

/* ---- Answer values ---- */

static void put_utf8(uint8_t **out, uint32_t cp) {
  uint8_t *o = *out;
  if (cp < 0x80) *o++ = (uint8_t)cp;
  else if (cp < 0x800) *o++ = 0xc0 | (cp >> 6), *o++ = 0x80 | (cp & 0x3f);
  else if (cp < 0x10000) *o++ = 0xe0 | (cp >> 12), *o++ = 0x80 | ((cp >> 6) & 0x3f), *o++ = 0x80 | (cp & 0x3f);
  else
    *o++ = 0xf0 | (cp >> 18), *o++ = 0x80 | ((cp >> 12) & 0x3f), *o++ = 0x80 | ((cp >> 6) & 0x3f),
    *o++ = 0x80 | (cp & 0x3f);
  *out = o;
}

static uint32_t hex4(const uint8_t *p) {
  uint32_t n = 0;
  for (int k = 0; k < 4; k++) {
    uint8_t c = p[k];
    n = n * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return n;
}

/* unescape: a string's text (already checked) decoded into out, which has room for len bytes; 0 for a lone surrogate. */
static int unescape(const value_t *v, uint8_t *out, size_t *out_len) {
  const uint8_t *p = v->at, *end = v->at + v->len;
  uint8_t *o = out;
  while (p < end) {
    if (*p != '\\') {
      *o++ = *p++;
      continue;
    }
    uint8_t e = p[1];
    p += 2;
    switch (e) {
      case 'b': *o++ = '\b'; break;
      case 'f': *o++ = '\f'; break;
      case 'n': *o++ = '\n'; break;
      case 'r': *o++ = '\r'; break;
      case 't': *o++ = '\t'; break;
      case 'u': {
        uint32_t cp = hex4(p);
        p += 4;
        if (cp >= 0xdc00 && cp <= 0xdfff) return 0;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return 0;
          uint32_t low = hex4(p + 2);
          if (low < 0xdc00 || low > 0xdfff) return 0;
          p += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        put_utf8(&o, cp);
        break;
      }
      default: *o++ = e; /* '"', '\\', '/' */
    }
  }
  *out_len = (size_t)(o - out);
  return 1;
}

static int js_string(napi_env env, const value_t *v, napi_value *out) {
  if (!v->escaped) return napi_create_string_utf8(env, (const char *)v->at, v->len, out) == napi_ok;
  uint8_t small[256], *buf = v->len <= sizeof small ? small : malloc(v->len);
  size_t len;
  int ok = buf != NULL && unescape(v, buf, &len) && napi_create_string_utf8(env, (const char *)buf, len, out) == napi_ok;
  if (buf != small) free(buf);
  return ok;
}

/* A string field: missing or null is "" (Go's zero value); another kind is for the ordinary reader. */
static int string_field(napi_env env, const value_t *v, napi_value *out) {
  if (v->kind == MISSING || v->kind == JNULL) return napi_create_string_utf8(env, "", 0, out) == napi_ok;
  return v->kind == JSTRING && js_string(env, v, out);
}

/* An integer field: missing or null is 0; a safe integer spelled without fraction or exponent, and not -0. */
static int int_field(napi_env env, const value_t *v, napi_value *out) {
  if (v->kind == MISSING || v->kind == JNULL) return napi_create_int32(env, 0, out) == napi_ok;
  if (v->kind != JNUMBER) return 0;
  const uint8_t *p = v->at, *end = v->at + v->len;
  int negative = *p == '-';
  if (negative) p++;
  if (end - p > 16) return 0;
  int64_t n = 0;
  for (; p < end; p++) {
    if (*p < '0' || *p > '9') return 0;
    n = n * 10 + (*p - '0');
  }
  if (n > 9007199254740991LL || (negative && n == 0)) return 0;
  return napi_create_int64(env, negative ? -n : n, out) == napi_ok;
}

static const char *const STATUSES[] = {"created", "creating", "running", "paused", "stopped"};

/* status: one of runsc's status strings as spelled (not escaped); a legacy integer is for the ordinary reader. */
static int status_field(napi_env env, const value_t *v, napi_value *out) {
  if (v->kind != JSTRING) return 0;
  for (size_t k = 0; k < sizeof STATUSES / sizeof *STATUSES; k++)
    if (strlen(STATUSES[k]) == v->len && memcmp(STATUSES[k], v->at, v->len) == 0)
      return napi_create_string_utf8(env, (const char *)v->at, v->len, out) == napi_ok;
  return 0;
}

/* scan: the whole text is one JSON object holding the fields as load reads them. */
static int scan(scan_t *s) {
  skip_ws(s);
  if (s->p >= s->end || *s->p != '{') return 0;
  value_t root;
  if (!value(s, 0, &root, L_ROOT)) return 0;
  skip_ws(s);
  if (s->p != s->end) return 0;
  if (s->root[R_SANDBOX].kind != JOBJECT) return 0;
  kind_t spec = s->root[R_SPEC].kind, annotations = s->spec[P_ANNOTATIONS].kind;
  if (spec != MISSING && spec != JNULL && spec != JOBJECT) return 0;
  return annotations == MISSING || annotations == JNULL || annotations == JOBJECT;
}

/* answer: the array scanStateFile returns, from a scan that succeeded. */
static napi_value answer(napi_env env, scan_t *s, const struct stat *st, size_t size) {
  napi_value out, v;
  uint32_t at = 0;
  if (napi_create_array(env, &out) != napi_ok) return NULL;
#define PUT(ok)                                                         \
  do {                                                                  \
    if (!(ok) || napi_set_element(env, out, at++, v) != napi_ok) return NULL; \
  } while (0)
  PUT(napi_create_double(env, (double)size, &v) == napi_ok);
  /* Node's Stats.mtimeMs: sec * 1e3 + nsec / 1e6, in doubles. */
  PUT(napi_create_double(env, (double)st->st_mtim.tv_sec * 1e3 + (double)st->st_mtim.tv_nsec / 1e6, &v) == napi_ok);
  PUT(napi_create_double(env, (double)st->st_ctim.tv_sec * 1e3 + (double)st->st_ctim.tv_nsec / 1e6, &v) == napi_ok);
  PUT(napi_create_double(env, (double)st->st_ino, &v) == napi_ok);
  PUT(string_field(env, &s->root[R_ID], &v));
  PUT(string_field(env, &s->sandbox[S_ID], &v));
  PUT(status_field(env, &s->root[R_STATUS], &v));
  PUT(int_field(env, &s->sandbox[S_PID], &v));
  PUT(int_field(env, &s->root[R_GOFERPID], &v));
  PUT(string_field(env, &s->root[R_CREATEDAT], &v));
  PUT(string_field(env, &s->root[R_BUNDLEDIR], &v));
  PUT(string_field(env, &s->root[R_OWNER], &v));
  PUT(string_field(env, &s->sandbox[S_PODNAME], &v));
  PUT(string_field(env, &s->sandbox[S_NAMESPACE], &v));
  PUT(string_field(env, &s->sandbox[S_STARTTIME], &v));
  PUT(string_field(env, &s->sandbox[S_CONTROLSOCKETPATH], &v));
  for (size_t k = 0; k < 2 * s->annotation_count; k++) PUT(js_string(env, &s->annotations[k], &v));
#undef PUT
  return out;
}

/* read_file: the regular file at path, whole, into *buf (malloc'd); 0 for anything else (the ordinary reader says what). */
static int read_file(const char *path, uint8_t **buf, size_t *size, struct stat *st) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  int ok = 0;
  *buf = NULL;
  if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) && st->st_size <= MAX_STATE_BYTES) {
    size_t cap = (size_t)st->st_size + 1, len = 0;
    uint8_t *b = malloc(cap);
    while (b != NULL) {
      ssize_t n = read(fd, b + len, cap - len);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      if (n == 0) {
        ok = 1;
        break;
      }
      len += (size_t)n;
      if (len > MAX_STATE_BYTES) break;
      if (len == cap) {
        uint8_t *grown = realloc(b, cap * 2);
        if (grown == NULL) break;
        b = grown, cap *= 2;
      }
    }
    if (ok) *buf = b, *size = len;
    else free(b);
  }
  close(fd);
  return ok;
}

static napi_value scan_state_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, result;
  napi_get_undefined(env, &result);
  char path[PATH_MAX];
  size_t path_len;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc < 1) return result;
  if (napi_get_value_string_utf8(env, arg, path, sizeof path, &path_len) != napi_ok || path_len >= sizeof path - 1)
    return result;
  uint8_t *buf;
  size_t size;
  struct stat st;
  if (!read_file(path, &buf, &size, &st)) return result;
  scan_t s;
  memset(&s, 0, offsetof(scan_t, annotations));
  s.p = buf, s.end = buf + size;
  if (scan(&s)) {
    napi_value out = answer(env, &s, &st, size);
    if (out != NULL) result = out;
  }
  free(buf);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "scanStateFile", NAPI_AUTO_LENGTH, scan_state_file, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "scanStateFile", fn) != napi_ok) return NULL;
  return exports;
}
