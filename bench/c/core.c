/* C reference for bench/core.ts: the same transfers as the library, timed here.
 *   core PID ADDRESS SIZE MODE ITERATIONS [OFFSETS_FILE]
 * MODE: read8 | bulk | random1024 | window | mem8 | membulk
 * Prints nanoseconds per operation on stdout. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 6) return 2;
  pid_t pid = atoi(argv[1]);
  uintptr_t base = strtoull(argv[2], 0, 0);
  size_t size = strtoull(argv[3], 0, 0);
  const char *mode = argv[4];
  long iters = atol(argv[5]);
  const char *offsets = argc > 6 ? argv[6] : 0;
  static uint64_t sink;
  double t0, t1;
  if (!strcmp(mode, "read8")) {
    uint64_t v;
    struct iovec l = {&v, 8}, r = {(void *)base, 8};
    t0 = now();
    for (long i = 0; i < iters; i++) {
      if (process_vm_readv(pid, &l, 1, &r, 1, 0) != 8) return 1;
      sink += v;
    }
    t1 = now();
    printf("%f\n", (t1 - t0) / iters);
  } else if (!strcmp(mode, "bulk")) {
    const size_t chunk = 1 << 20;
    char *buf = malloc(chunk);
    t0 = now();
    for (long i = 0; i < iters; i++)
      for (size_t off = 0; off < size; off += chunk) {
        struct iovec l = {buf, chunk}, r = {(void *)(base + off), chunk};
        if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)chunk) return 1;
        sink += buf[0];
      }
    t1 = now();
    printf("%f\n", (t1 - t0) / iters); /* ns per full pass */
  } else if (!strcmp(mode, "random1024")) {
    struct iovec l[1024], r[1024];
    uint64_t vals[1024];
    FILE *f = offsets ? fopen(offsets, "r") : 0;
    if (!f) return 2;
    for (int i = 0; i < 1024; i++) {
      unsigned long off;
      if (fscanf(f, "%lu", &off) != 1) return 2;
      l[i].iov_base = &vals[i]; l[i].iov_len = 8;
      r[i].iov_base = (void *)(base + off);
      r[i].iov_len = 8;
    }
    fclose(f);
    t0 = now();
    for (long i = 0; i < iters; i++) {
      if (process_vm_readv(pid, l, 1024, r, 1024, 0) != 8192) return 1;
      sink += vals[7];
    }
    t1 = now();
    printf("%f\n", (t1 - t0) / iters / 1024); /* ns per range */
  } else if (!strcmp(mode, "window")) {
    /* one 64 KiB span, then pick 1024 8-byte values out of it */
    static char buf[65536];
    uint64_t vals[1024];
    struct iovec l = {buf, sizeof buf}, r = {(void *)base, sizeof buf};
    t0 = now();
    for (long i = 0; i < iters; i++) {
      if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)sizeof buf) return 1;
      for (int k = 0; k < 1024; k++) memcpy(&vals[k], buf + k * 64, 8);
      sink += vals[3];
    }
    t1 = now();
    printf("%f\n", (t1 - t0) / iters); /* ns per window */
  } else if (!strcmp(mode, "mem8") || !strcmp(mode, "membulk")) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 1;
    if (!strcmp(mode, "mem8")) {
      uint64_t v;
      t0 = now();
      for (long i = 0; i < iters; i++) {
        if (pread(fd, &v, 8, base) != 8) return 1;
        sink += v;
      }
      t1 = now();
      printf("%f\n", (t1 - t0) / iters);
    } else {
      const size_t chunk = 1 << 20;
      char *buf = malloc(chunk);
      t0 = now();
      for (long i = 0; i < iters; i++)
        for (size_t off = 0; off < size; off += chunk) {
          if (pread(fd, buf, chunk, base + off) != (ssize_t)chunk) return 1;
          sink += buf[0];
        }
      t1 = now();
      printf("%f\n", (t1 - t0) / iters);
    }
  } else {
    return 2;
  }
  return sink == 42 ? 3 : 0;
}
