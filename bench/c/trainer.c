/*
 * C reference for bench/trainer.ts: resolving 10,000 pointer chains of depth 4
 * with process_vm_readv, batched level by level (1024 iovecs per call) and one
 * link at a time. The graph lives in this process (reading oneself goes through
 * the same kernel path as reading another process).
 *
 *   gcc -O2 -o /tmp/trainer bench/c/trainer.c && /tmp/trainer
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CHAINS 10000
#define DEPTH 4
#define OBJECT 64
#define RUNS 21

static const uint64_t offsets[DEPTH] = {8, 16, 24, 0x20};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static long calls;

static void batched(pid_t pid, uint64_t *addr, uint64_t *values, struct iovec *local, struct iovec *remote) {
  for (int level = 0; level < DEPTH; level++) {
    for (int i = 0; i < CHAINS; i++) {
      remote[i].iov_base = (void *)addr[i];
      remote[i].iov_len = 8;
    }
    for (int s = 0; s < CHAINS; s += 1024) {
      int c = CHAINS - s < 1024 ? CHAINS - s : 1024;
      calls++;
      if (process_vm_readv(pid, local + s, c, remote + s, c, 0) != c * 8) abort();
    }
    for (int i = 0; i < CHAINS; i++) addr[i] = values[i] + offsets[level];
  }
}

static void per_link(pid_t pid, uint64_t *addr) {
  for (int i = 0; i < CHAINS; i++) {
    uint64_t a = addr[i], v;
    for (int level = 0; level < DEPTH; level++) {
      struct iovec l = {&v, 8}, r = {(void *)a, 8};
      calls++;
      if (process_vm_readv(pid, &l, 1, &r, 1, 0) != 8) abort();
      a = v + offsets[level];
    }
    addr[i] = a;
  }
}

int main(void) {
  pid_t pid = getpid();
  uint64_t *root = calloc(CHAINS, 8);
  char *heap = calloc((size_t)CHAINS * DEPTH, OBJECT);
#define OBJ(k, i) (heap + ((size_t)((k) - 1) * CHAINS + (i)) * OBJECT)
  for (int i = 0; i < CHAINS; i++) {
    root[i] = (uint64_t)OBJ(1, i);
    for (int k = 1; k < DEPTH; k++) *(uint64_t *)(OBJ(k, i) + 8 * k) = (uint64_t)OBJ(k + 1, i);
  }
  uint64_t *addr = malloc(CHAINS * 8), *values = malloc(CHAINS * 8);
  struct iovec *local = malloc(CHAINS * sizeof *local), *remote = malloc(CHAINS * sizeof *remote);
  for (int i = 0; i < CHAINS; i++) local[i] = (struct iovec){values + i, 8};
  double tb[RUNS], tl[RUNS];
  long cb = 0, cl = 0;
  for (int r = 0; r < RUNS; r++) {
    for (int i = 0; i < CHAINS; i++) addr[i] = (uint64_t)&root[i];
    calls = 0;
    double t0 = now_ms();
    batched(pid, addr, values, local, remote);
    tb[r] = now_ms() - t0;
    cb = calls;
    if (addr[7] != (uint64_t)OBJ(DEPTH, 7) + 0x20) abort();
    for (int i = 0; i < CHAINS; i++) addr[i] = (uint64_t)&root[i];
    calls = 0;
    t0 = now_ms();
    per_link(pid, addr);
    tl[r] = now_ms() - t0;
    cl = calls;
    if (addr[7] != (uint64_t)OBJ(DEPTH, 7) + 0x20) abort();
  }
  qsort(tb, RUNS, sizeof *tb, cmp);
  qsort(tl, RUNS, sizeof *tl, cmp);
  printf("C: %d chains of depth %d: batched %ld syscalls %.2f ms; per link %ld syscalls %.2f ms (medians of %d)\n", CHAINS, DEPTH, cb,
         tb[RUNS / 2], cl, tl[RUNS / 2], RUNS);
  return 0;
}
