/*
 * Single-threaded C references for the scanner benchmark, timed inside.
 *
 *   scan-ref first   PID VALUE REPS START:END...   aligned i32 == VALUE, 1 MiB process_vm_readv chunks
 *   scan-ref next    PID VALUE REPS ADDRFILE       re-read the addresses (u64 each) in spans coalesced
 *                                                   within 4 KiB (IOV_MAX iovecs per call), keep those == VALUE
 *   scan-ref pattern PID "HEX ?? HEX" REPS START:END...  memmem on the longest exact run, then verify
 *
 * Prints "matches median_ms" (median of REPS runs).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#define CHUNK (1 << 20)
#define IOVMAX 1024

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static uint8_t *buf;
static int pid;
static size_t nranges;
static uint64_t *rs, *re;

static ssize_t rd(void *local, uint64_t remote, size_t len) {
  struct iovec l = {local, len}, r = {(void *)remote, len};
  return process_vm_readv(pid, &l, 1, &r, 1, 0);
}

static size_t first(int32_t value) {
  size_t n = 0, cap = 1 << 20;
  uint64_t *out = malloc(cap * 8);
  for (size_t k = 0; k < nranges; k++) {
    for (uint64_t a = rs[k]; a < re[k]; a += CHUNK) {
      size_t len = re[k] - a < CHUNK ? re[k] - a : CHUNK;
      ssize_t got = rd(buf, a, len);
      if (got <= 0) continue;
      const int32_t *v = (const int32_t *)buf;
      for (size_t i = 0; i < (size_t)got / 4; i++) {
        if (v[i] == value) {
          if (n == cap) out = realloc(out, (cap *= 2) * 8);
          out[n++] = a + i * 4;
        }
      }
    }
  }
  free(out);
  return n;
}

static uint8_t pat[256], msk[256];
static size_t plen, aoff, alen;

static size_t pattern(void) {
  size_t n = 0;
  for (size_t k = 0; k < nranges; k++) {
    for (uint64_t a = rs[k]; a < re[k]; a += CHUNK) {
      size_t want = re[k] - a < CHUNK ? re[k] - a : CHUNK;
      size_t len = re[k] - a < CHUNK + plen - 1 ? re[k] - a : CHUNK + plen - 1;
      ssize_t got = rd(buf, a, len);
      if (got <= 0) continue;
      const uint8_t *p = buf + aoff, *end = buf + got;
      while ((p = memmem(p, end - p, pat + aoff, alen)) != NULL) {
        const uint8_t *s = p - aoff;
        if ((size_t)(s - buf) >= want || s + plen > end) break;
        size_t i = 0;
        while (i < plen && (s[i] & msk[i]) == pat[i]) i++;
        if (i == plen) n++;
        p++;
      }
    }
  }
  return n;
}

static uint64_t *addrs;
static size_t naddrs;

static size_t next(int32_t value) {
  static struct iovec l[IOVMAX], r[IOVMAX];
  static size_t first_of[IOVMAX + 1], off_of[IOVMAX];
  size_t kept = 0, j = 0;
  while (j < naddrs) {
    size_t spans = 0, pos = 0;
    while (j < naddrs && spans < IOVMAX) {
      uint64_t s = addrs[j], e = s + 4;
      size_t k = j + 1;
      while (k < naddrs && addrs[k] - e <= 4096 && addrs[k] + 4 - s <= CHUNK) { e = addrs[k] + 4; k++; }
      if (pos + (e - s) > CHUNK && spans > 0) break;
      l[spans].iov_base = buf + pos; l[spans].iov_len = e - s;
      r[spans].iov_base = (void *)s; r[spans].iov_len = e - s;
      first_of[spans] = j; off_of[spans] = pos;
      pos += e - s; spans++; j = k;
    }
    first_of[spans] = j;
    ssize_t got = process_vm_readv(pid, l, spans, r, spans, 0);
    if (got < 0) got = 0;
    for (size_t t = 0; t < spans; t++) {
      if ((size_t)got < off_of[t] + r[t].iov_len) break;
      for (size_t m = first_of[t]; m < first_of[t + 1]; m++) {
        int32_t v;
        memcpy(&v, buf + off_of[t] + (addrs[m] - (uint64_t)r[t].iov_base), 4);
        if (v == value) addrs[kept++] = addrs[m];
      }
    }
  }
  return kept;
}

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  const char *mode = argv[1];
  pid = atoi(argv[2]);
  int reps = atoi(argv[4]);
  buf = aligned_alloc(4096, CHUNK + 4096);
  int32_t value = 0;
  if (strcmp(mode, "pattern") == 0) {
    char *s = argv[3];
    while (*s) {
      while (*s == ' ') s++;
      if (!*s) break;
      if (s[0] == '?') { pat[plen] = 0; msk[plen++] = 0; s += s[1] == '?' ? 2 : 1; continue; }
      unsigned v; sscanf(s, "%2x", &v); pat[plen] = v; msk[plen++] = 0xff; s += 2;
    }
    for (size_t i = 0; i < plen;) {
      if (msk[i] != 0xff) { i++; continue; }
      size_t j = i; while (j < plen && msk[j] == 0xff) j++;
      if (j - i > alen) { alen = j - i; aoff = i; }
      i = j;
    }
  } else {
    value = (int32_t)strtol(argv[3], NULL, 0);
  }
  if (strcmp(mode, "next") == 0) {
    FILE *f = fopen(argv[5], "rb");
    fseek(f, 0, SEEK_END); long sz = ftell(f); fseek(f, 0, SEEK_SET);
    naddrs = sz / 8; addrs = malloc(sz);
    if (fread(addrs, 8, naddrs, f) != naddrs) return 1;
    fclose(f);
  } else {
    nranges = argc - 5;
    rs = malloc(nranges * 8); re = malloc(nranges * 8);
    for (size_t k = 0; k < nranges; k++) sscanf(argv[5 + k], "%lx:%lx", (unsigned long *)&rs[k], (unsigned long *)&re[k]);
  }
  double *t = malloc(reps * sizeof *t);
  size_t n = 0;
  uint64_t *copy = naddrs ? malloc(naddrs * 8) : NULL;
  if (copy) memcpy(copy, addrs, naddrs * 8);
  for (int i = 0; i < reps; i++) {
    if (copy) memcpy(addrs, copy, naddrs * 8);
    double t0 = now_ms();
    n = strcmp(mode, "first") == 0 ? first(value) : strcmp(mode, "next") == 0 ? next(value) : pattern();
    t[i] = now_ms() - t0;
  }
  qsort(t, reps, sizeof *t, cmp);
  printf("%zu %.3f\n", n, t[reps / 2]);
  return 0;
}
