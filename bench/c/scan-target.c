/*
 * Benchmark target: maps SIZE bytes, fills them with pseudo-random data,
 * plants the i32 DENSE every 1 KiB (one million matches per GiB), the i32
 * SPARSE at COUNT places, and a byte pattern at a few places, scrubs any other
 * occurrence (at any byte offset), prints "base size" and waits on stdin.
 *
 * usage: scan-target SIZE DENSE SPARSE
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const uint8_t PATTERN[] = {0xde, 0xad, 0xbe, 0xef, 0x55, 0x66, 0x13, 0x37, 0xc0, 0xde};

static void scrub(uint8_t *p, size_t size, uint32_t v) {
  uint8_t *q = p;
  while ((q = memmem(q, size - (q - p), &v, 4)) != NULL) *q ^= 0x5a;
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  size_t size = strtoull(argv[1], NULL, 0);
  uint32_t dense = (uint32_t)strtoul(argv[2], NULL, 0), sparse = (uint32_t)strtoul(argv[3], NULL, 0);
  uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  uint64_t x = 88172645463325252ull, *w = (uint64_t *)p;
  for (size_t i = 0; i < size / 8; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    w[i] = x;
  }
  scrub(p, size, dense);
  scrub(p, size, sparse);
  for (size_t off = 0; off + 4 <= size; off += 1024) memcpy(p + off + 512, &dense, 4);
  for (size_t off = 4096 + 64; off + 4 <= size; off += size / 1000 + 4) memcpy(p + off, &sparse, 4);
  for (size_t off = 12345; off + sizeof PATTERN <= size; off += size / 16 + 1) {
    memcpy(p + off, PATTERN, sizeof PATTERN);
    p[off + 4] = (uint8_t)off; /* wildcard positions vary */
  }
  printf("%lu %lu\n", (unsigned long)p, (unsigned long)size);
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {}
  return 0;
}
